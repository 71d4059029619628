from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase, utcnow
from app.models.user import User

ALERT_STATES = ("firing", "acknowledged", "resolved")
_OPEN = text("state != 'resolved'")


class Alert(UserCreatedBase, Base):
    """One problem the alert check (or an immediate alert) found, from first seen to resolved.

    ``fingerprint`` (category plus subject) names the problem: while an alert with it is open
    (firing or acknowledged), a repeat counts as an occurrence of that alert instead of a new
    one. The partial unique index keeps it to one open alert per fingerprint on both
    databases, whoever writes. ``resolved_by_id`` is None when the check resolved it itself.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity_known"),
        CheckConstraint("state IN ('firing', 'acknowledged', 'resolved')", name="state_known"),
        CheckConstraint("occurrences >= 1", name="occurrences_positive"),
        Index("uq_alerts_open_fingerprint", "fingerprint", unique=True,
              sqlite_where=_OPEN, postgresql_where=_OPEN),
        Index("ix_alerts_state_severity", "state", "severity"),
    )

    category: Mapped[str] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(200))
    subject_label: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(String(500))
    value: Mapped[float | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(300), index=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    occurrences: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(15), default="firing")
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    acknowledged_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(String(500))
    # When people were last told (None: never yet, e.g. raised while silenced or held).
    last_notified_at: Mapped[datetime | None]
    # Since when it has been critical: escalation counts from here.
    critical_since: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    # Set while a notification about it waits for the quiet-hours digest.
    held_since: Mapped[datetime | None]

    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    @property
    def is_open(self) -> bool:
        return self.state != "resolved"

    def __repr__(self) -> str:
        return f"<Alert {self.id} {self.fingerprint} {self.severity} {self.state}>"
