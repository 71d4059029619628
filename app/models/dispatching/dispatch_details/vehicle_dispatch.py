from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.checklists.fields import ChecklistField, FieldKind
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

    _TRIP, _FUEL, _SAFETY = "Trip", "Fuel, mileage and passengers", "Safety check"
    checklist_fields = (
        ChecklistField("destination_address", "Destination", FieldKind.TEXT, _TRIP, max_length=500),
        ChecklistField("route_notes", "Route notes", FieldKind.TEXTAREA, _TRIP),
        ChecklistField("fuel_level_start", "Fuel at start", FieldKind.NUMBER, _FUEL, required=True,
                       minimum=0, maximum=100, unit="%"),
        ChecklistField("fuel_level_end", "Fuel at end", FieldKind.NUMBER, _FUEL, minimum=0, maximum=100, unit="%"),
        ChecklistField("mileage_start", "Mileage at start", FieldKind.NUMBER, _FUEL, required=True, minimum=0,
                       unit="km"),
        ChecklistField("mileage_end", "Mileage at end", FieldKind.NUMBER, _FUEL, minimum=0, unit="km",
                       not_below="mileage_start"),
        ChecklistField("passenger_count", "Passengers", FieldKind.INTEGER, _FUEL, minimum=0),
        ChecklistField("driver_notes", "Driver notes", FieldKind.TEXTAREA, _TRIP),
        ChecklistField("safety_check_completed", "Vehicle safety check", FieldKind.INSPECTION, _SAFETY,
                       required=True, help="Tires, lights, brakes, mirrors, seat belts"),
    )

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
