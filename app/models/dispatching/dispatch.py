from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase, utcnow

if TYPE_CHECKING:
    from app.models.assets import Asset, Event, MajorLocation
    from app.models.dispatching.all_dispatch_details import AllDispatchDetail
    from app.models.dispatching.dispatch_status_history import DispatchStatusHistory
    from app.models.user import User


class DispatchPriority(StrEnum):
    LOW = "Low"
    NORMAL = "Normal"
    HIGH = "High"
    CRITICAL = "Critical"


class WorkType(StrEnum):
    """What the work order is for: operating the asset (a trip, a job) or repairing it."""

    OPERATION = "operation"
    REPAIR = "repair"


class DispatchStatus(StrEnum):
    CREATED = "Created"
    ASSIGNED = "Assigned"
    EN_ROUTE = "En Route"
    IN_PROGRESS = "In Progress"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


def _sql_in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{value.value}'" for value in values)


class Dispatch(UserCreatedBase, Base):
    """A work order for an asset: what is to be done, by whom, and where it stands.

    Creating one (through the service or by adding it to a session) also creates its
    checklist rows, its first event and its first status-history row in the same
    transaction; see ``app.services.dispatch_creation``. Status changes go through
    ``app.services.dispatches``, which enforces the status machine.
    """

    __tablename__ = "dispatches"
    __table_args__ = (
        CheckConstraint(f"priority IN ({_sql_in(DispatchPriority)})", name="priority_known"),
        CheckConstraint(f"status IN ({_sql_in(DispatchStatus)})", name="status_known"),
        # "My work": a technician's open dispatches.
        Index("ix_dispatches_assigned_user_id_status", "assigned_user_id", "status"),
        Index("ix_dispatches_status_priority", "status", "priority"),
        # The dashboard's counts (migration 0016): open work past its SLA, the waiting queue.
        Index("ix_dispatches_status_sla_due_at", "status", "sla_due_at", "created_date"),
        Index("ix_dispatches_waiting", "status", "assigned_user_id", "created_date", "priority"),
        # The candidate pool's pending skill demand, counted from the index (migration 0017).
        Index("ix_dispatches_status_required_skill", "status", "required_skill"),
        CheckConstraint("estimated_duration_hours > 0", name="duration_positive"),
        CheckConstraint(f"work_type IN ({_sql_in(WorkType)})", name="work_type_known"),
    )

    # Core fields
    dispatch_number: Mapped[str] = mapped_column(String(50), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(
        String(20), default=DispatchPriority.NORMAL.value, index=True
    )
    # active_history: keep the old status even when the attribute was expired (e.g. after a
    # commit), so that the flush-time check of the status machine always sees both sides.
    status: Mapped[str] = mapped_column(
        String(50), default=DispatchStatus.CREATED.value, index=True, active_history=True
    )

    # An out-of-service asset may only get repair work orders; repair work orders get no
    # checklists (the asset is not being operated).
    work_type: Mapped[str] = mapped_column(String(20), default=WorkType.OPERATION.value, index=True)

    # Timing
    created_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    assigned_date: Mapped[datetime | None] = mapped_column(index=True)
    started_date: Mapped[datetime | None] = mapped_column(index=True)
    completed_date: Mapped[datetime | None] = mapped_column(index=True)
    due_date: Mapped[datetime | None] = mapped_column(index=True)

    # Relationships
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    major_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("major_locations.id"), index=True
    )
    # The dispatch's initial event; the FK is circular with events.dispatch_id, so
    # SQLAlchemy sets it with a second statement after both rows exist (post_update).
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", use_alter=True), index=True
    )

    # Matching: the skill the work needs (default from the asset type), how long it takes,
    # and when it must be done by (the due date, else creation + the priority's SLA hours).
    required_skill: Mapped[str | None] = mapped_column(String(100), index=True)
    estimated_duration_hours: Mapped[float] = mapped_column(default=2.0)
    sla_due_at: Mapped[datetime | None] = mapped_column(index=True)

    # Location tracking (copied from the asset at creation for historical reference)
    dispatch_location_id: Mapped[int | None] = mapped_column(
        ForeignKey("major_locations.id"), index=True
    )

    # Optimistic concurrency: an update made from a stale copy fails instead of
    # silently overwriting another worker's change (e.g. two assignments at once).
    version_id: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version_id}

    asset: Mapped[Asset | None] = relationship(foreign_keys=[asset_id])
    assigned_user: Mapped[User | None] = relationship(foreign_keys=[assigned_user_id])
    major_location: Mapped[MajorLocation | None] = relationship(foreign_keys=[major_location_id])
    dispatch_location: Mapped[MajorLocation | None] = relationship(
        foreign_keys=[dispatch_location_id]
    )
    event: Mapped[Event | None] = relationship(foreign_keys=[event_id], post_update=True)
    events: Mapped[list[Event]] = relationship(
        foreign_keys="Event.dispatch_id", back_populates="dispatch", order_by="Event.id"
    )

    if TYPE_CHECKING:
        # Backrefs declared on the other side, as the Phase 3 data model lays them out.
        all_details: list[AllDispatchDetail]
        status_history: list[DispatchStatusHistory]

    @property
    def is_repair(self) -> bool:
        return self.work_type == WorkType.REPAIR

    @property
    def is_final(self) -> bool:
        return self.status in (DispatchStatus.COMPLETED, DispatchStatus.CANCELLED)

    def __repr__(self) -> str:
        return f"<Dispatch {self.dispatch_number} {self.status}>"
