from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class UserNotification(UserCreatedBase, Base):
    """One notification in one person's in-app list (the bell).

    Written by the in-app channel, one row per recipient. ``delivery_id`` is the delivery's
    stable id: unique with ``user_id``, so a delivery that is retried after it was written
    (at-least-once) still shows once. ``read_at`` NULL means unread; the bell counts those
    through the (user_id, read_at) index.
    """

    __tablename__ = "user_notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "delivery_id"),
        CheckConstraint("severity IN ('info', 'warning', 'critical')", name="severity_known"),
        Index("ix_user_notifications_user_id_read_at", "user_id", "read_at"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delivery_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # Where the notification leads: the dispatch page when it is about one.
    link: Mapped[str | None] = mapped_column(String(300))
    read_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<UserNotification {self.id} user={self.user_id} {self.kind}{' read' if self.read_at else ''}>"
