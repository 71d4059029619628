from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.models.base import Base, UserCreatedBase
from app.models.dispatching.dispatch import Dispatch

if TYPE_CHECKING:
    from app.models.user import User


class DispatchMetric(UserCreatedBase, Base):
    """What the matching engine decided and expected for one assignment (the smart-dispatch design's dispatch_metrics).

    One row per assignment, kept when the dispatch is reassigned, so the history of
    decisions — and why each technician was chosen — stays visible.
    """

    __tablename__ = "dispatch_metrics"
    # The metrics read assignments by when they were made (app/services/metrics.py).
    __table_args__ = (
        Index("ix_dispatch_metrics_created_at", "created_at"),
        # Each technician's latest record in a window (burnout), one index seek per technician.
        Index("ix_dispatch_metrics_technician_id_created_at", "technician_id", "created_at"),
        # A range's counts, sums, maxima and per-dispatch costs from the index alone (flask analyze
        # over a year: a million records), and its routing speeds in order for the percentiles.
        Index("ix_dispatch_metrics_created_at_figures", "created_at", "dispatch_id", "technician_id",
              "routing_speed_seconds", "operational_cost"),
        Index("ix_dispatch_metrics_routing_speed_seconds_created_at", "routing_speed_seconds", "created_at"),
    )

    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    mode: Mapped[str] = mapped_column(String(20))  # auto, manual, batch, fallback
    matcher: Mapped[str] = mapped_column(String(100))
    score: Mapped[float | None]
    score_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    routing_speed_seconds: Mapped[float | None]
    estimated_completion_hours: Mapped[float | None]
    operational_cost: Mapped[float | None]
    # The total's parts (they add up to it): labour within the shift, overtime past it, travel.
    # None on records written before the parts were stored ("not split" in the cost breakdowns).
    labour_cost: Mapped[float | None]
    overtime_cost: Mapped[float | None]
    travel_cost: Mapped[float | None]
    sla_met: Mapped[bool | None]
    burnout_risk: Mapped[float | None]
    burnout_alert: Mapped[bool] = mapped_column(default=False, index=True)
    fallback_technicians: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fallback_used: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)

    dispatch: Mapped[Dispatch] = relationship(backref=backref("metrics", order_by="DispatchMetric.id"))
    technician: Mapped[User] = relationship(foreign_keys=[technician_id])
