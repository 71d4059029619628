from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class AlertSilence(UserCreatedBase, Base):
    """No notifications for a category from ``starts_at`` until ``ends_at`` (exclusive).

    A silence expires by itself: it is active only while now < ``ends_at``; lifting it early
    moves ``ends_at`` to the moment it was lifted. Alerts are still recorded meanwhile.
    """

    __tablename__ = "alert_silences"
    __table_args__ = (
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        Index("ix_alert_silences_category_ends_at", "category", "ends_at"),
    )

    category: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(500))
    lifted_at: Mapped[datetime | None]
