from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class AlertSetting(UserCreatedBase, Base):
    """The alert check's settings as an admin saved them: one row, or none for the defaults.

    Quiet hours are wall-clock "HH:MM" in the organisation's zone (both NULL: none);
    who saved them and when are ``updated_by_id`` and ``updated_at``.
    """

    __tablename__ = "alert_settings"
    __table_args__ = (
        CheckConstraint("suppression_minutes >= 0", name="suppression_not_negative"),
        CheckConstraint("escalation_minutes >= 1", name="escalation_positive"),
    )

    quiet_hours_start: Mapped[str | None] = mapped_column(String(5))
    quiet_hours_end: Mapped[str | None] = mapped_column(String(5))
    suppression_minutes: Mapped[int]
    escalation_minutes: Mapped[int]
