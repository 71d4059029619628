from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.assets.asset_type import AssetType
    from app.models.assets.major_location import MajorLocation
    from app.models.assets.make_model import MakeModel


class AssetStatus(StrEnum):
    IN_SERVICE = "In Service"
    OUT_OF_SERVICE = "Out of Service"


class Asset(UserCreatedBase, Base):
    """One truck, vehicle, trailer or machine in the fleet."""

    __tablename__ = "assets"
    __table_args__ = (
        CheckConstraint("status IN ('In Service', 'Out of Service')", name="status_known"),
        CheckConstraint("odometer IS NULL OR odometer >= 0", name="odometer_not_negative"),
    )

    asset_tag: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    asset_type_id: Mapped[int] = mapped_column(ForeignKey("asset_types.id"), index=True)
    make_model_id: Mapped[int | None] = mapped_column(ForeignKey("make_models.id"), index=True)
    major_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("major_locations.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default=AssetStatus.IN_SERVICE.value, index=True)
    odometer: Mapped[float | None]
    is_active: Mapped[bool] = mapped_column(default=True)

    asset_type: Mapped[AssetType] = relationship()
    make_model: Mapped[MakeModel | None] = relationship()
    major_location: Mapped[MajorLocation | None] = relationship()

    @property
    def in_service(self) -> bool:
        return self.status == AssetStatus.IN_SERVICE

    def __repr__(self) -> str:
        return f"<Asset {self.asset_tag}>"


# Unique whatever the case: "Refrigeration" and "refrigeration" are one name.
Index("uq_assets_lower_asset_tag", func.lower(Asset.asset_tag), unique=True)
