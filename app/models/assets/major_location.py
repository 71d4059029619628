from __future__ import annotations

from sqlalchemy import CheckConstraint, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class MajorLocation(UserCreatedBase, Base):
    """A depot, yard or site that assets are based at and dispatches start from."""

    __tablename__ = "major_locations"
    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="latitude_range"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="longitude_range"
        ),
    )

    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    is_active: Mapped[bool] = mapped_column(default=True)

    def __repr__(self) -> str:
        return f"<MajorLocation {self.name}>"


# Unique whatever the case: "Refrigeration" and "refrigeration" are one name.
Index("uq_major_locations_lower_name", func.lower(MajorLocation.name), unique=True)
