from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class TechnicianPosition(UserCreatedBase, Base):
    """Where a technician's device said they were, and when.

    ``reported_at`` is the device's own time of the fix (checked against the server's clock
    when it arrives), ``received_at`` the server's. The matching engine measures distance
    from the latest fix that is fresh enough (``MOTORPOOL_POSITION_MAX_AGE_MINUTES``) instead
    of the home base; older rows are history, pruned after a day by the reporting service.
    """

    __tablename__ = "technician_positions"
    __table_args__ = (
        CheckConstraint("latitude >= -90 AND latitude <= 90", name="latitude_range"),
        CheckConstraint("longitude >= -180 AND longitude <= 180", name="longitude_range"),
        CheckConstraint("accuracy_m >= 0", name="accuracy_not_negative"),
        # The ranking reads every technician's fresh rows (by time); a technician's page and
        # the pruning read one technician's rows by time, which also serves the foreign key.
        Index("ix_technician_positions_reported_at", "reported_at"),
        Index("ix_technician_positions_technician_id_reported_at", "technician_id", "reported_at"),
    )

    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    latitude: Mapped[float]
    longitude: Mapped[float]
    accuracy_m: Mapped[float | None]
    reported_at: Mapped[datetime]
    received_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<TechnicianPosition user={self.technician_id} at {self.reported_at:%Y-%m-%d %H:%M}>"
