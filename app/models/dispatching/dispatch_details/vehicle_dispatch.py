from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual

if TYPE_CHECKING:
    from app.models.user import User


class VehicleDispatch(DispatchDetailVirtual):
    """Vehicle-specific dispatch details: route, fuel, mileage, passengers, safety check."""

    __tablename__ = "vehicle_dispatches"
    __table_args__ = (
        CheckConstraint(
            "fuel_level_start IS NULL OR (fuel_level_start >= 0 AND fuel_level_start <= 100)",
            name="fuel_level_start_percent",
        ),
        CheckConstraint(
            "fuel_level_end IS NULL OR (fuel_level_end >= 0 AND fuel_level_end <= 100)",
            name="fuel_level_end_percent",
        ),
        CheckConstraint(
            "mileage_start IS NULL OR mileage_end IS NULL OR mileage_end >= mileage_start",
            name="mileage_end_not_before_start",
        ),
        CheckConstraint(
            "passenger_count IS NULL OR passenger_count >= 0", name="passenger_count_not_negative"
        ),
    )

    detail_type = "vehicle_dispatch"
    label = "Vehicle dispatch"
    # The Phase 3 data model records the vehicle sign-off as its safety check.
    signed_off_by_column = "safety_check_by_id"
    signed_off_at_column = "safety_check_date"

    # Vehicle-specific fields
    destination_address: Mapped[str | None] = mapped_column(String(500))
    route_notes: Mapped[str | None] = mapped_column(Text)
    fuel_level_start: Mapped[float | None]  # percent, 0-100
    fuel_level_end: Mapped[float | None]
    mileage_start: Mapped[float | None]
    mileage_end: Mapped[float | None]
    driver_notes: Mapped[str | None] = mapped_column(Text)
    passenger_count: Mapped[int | None]

    # Safety and compliance
    safety_check_completed: Mapped[bool] = mapped_column(default=False)
    safety_check_date: Mapped[datetime | None]
    safety_check_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    safety_check_by: Mapped[User | None] = relationship(foreign_keys=[safety_check_by_id])
