from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.checklists.fields import ChecklistField, FieldKind
from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual

if TYPE_CHECKING:
    from app.models.user import User


class TruckDispatchChecklist(DispatchDetailVirtual):
    """Truck pre-trip checklist: equipment, cargo and documents, signed off by a person."""

    __tablename__ = "truck_dispatch_checklists"

    detail_type = "truck_checklist"
    label = "Truck dispatch checklist"

    _PRE_TRIP, _CARGO, _DOCUMENTS = "Pre-trip inspection", "Cargo and loading", "Documentation"
    # Pre-trip items are inspection items: a defect found there needs a description and puts
    # the truck out of service at sign-off. Cargo and documents must be confirmed.
    checklist_fields = (
        ChecklistField("tires_checked", "Tires and wheels", FieldKind.INSPECTION, _PRE_TRIP, required=True),
        ChecklistField("lights_checked", "Lights and reflectors", FieldKind.INSPECTION, _PRE_TRIP, required=True),
        ChecklistField("brakes_checked", "Brakes", FieldKind.INSPECTION, _PRE_TRIP, required=True),
        ChecklistField("fluids_checked", "Fluid levels and leaks", FieldKind.INSPECTION, _PRE_TRIP, required=True),
        ChecklistField("safety_equipment_checked", "Safety equipment", FieldKind.INSPECTION, _PRE_TRIP,
                       required=True, help="Fire extinguisher, warning triangles, first-aid kit"),
        ChecklistField("cargo_secured", "Cargo secured", FieldKind.CHECK, _CARGO, required=True),
        ChecklistField("weight_distribution_verified", "Weight distribution verified", FieldKind.CHECK, _CARGO,
                       required=True),
        ChecklistField("load_manifest_verified", "Load manifest verified", FieldKind.CHECK, _CARGO, required=True),
        ChecklistField("registration_current", "Registration current", FieldKind.CHECK, _DOCUMENTS, required=True),
        ChecklistField("insurance_current", "Insurance current", FieldKind.CHECK, _DOCUMENTS, required=True),
        ChecklistField("permits_obtained", "Permits obtained", FieldKind.CHECK, _DOCUMENTS, required=True),
        ChecklistField("checklist_notes", "Notes", FieldKind.TEXTAREA, "Notes"),
    )

    # Pre-trip checklist
    tires_checked: Mapped[bool] = mapped_column(default=False)
    lights_checked: Mapped[bool] = mapped_column(default=False)
    brakes_checked: Mapped[bool] = mapped_column(default=False)
    fluids_checked: Mapped[bool] = mapped_column(default=False)
    safety_equipment_checked: Mapped[bool] = mapped_column(default=False)

    # Cargo and loading
    cargo_secured: Mapped[bool] = mapped_column(default=False)
    weight_distribution_verified: Mapped[bool] = mapped_column(default=False)
    load_manifest_verified: Mapped[bool] = mapped_column(default=False)

    # Documentation
    registration_current: Mapped[bool] = mapped_column(default=False)
    insurance_current: Mapped[bool] = mapped_column(default=False)
    permits_obtained: Mapped[bool] = mapped_column(default=False)

    # Notes and sign-off
    checklist_notes: Mapped[str | None] = mapped_column(Text)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    completed_date: Mapped[datetime | None]

    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
