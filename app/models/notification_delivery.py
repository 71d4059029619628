from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due at ``next_attempt_at``
    SENDING = "sending"  # claimed by a worker until ``lease_until``
    DELIVERED = "delivered"
    DEAD = "dead"  # gave up: the last try failed, or the error was permanent


class NotificationDelivery(UserCreatedBase, Base):
    """One notification to send on one channel: the outbox the delivery worker works off.

    Written in the same transaction as the change it tells about, so a rolled-back change
    sends nothing and a committed one is never lost. ``public_id`` is the same on every
    retry: receivers de-duplicate on it (``webhook-id``). ``notification`` holds every field
    of the ``Notification`` so a retry days later sends exactly what the first try sent.
    """

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'delivered', 'dead')", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_notification_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    channel: Mapped[str] = mapped_column(String(50), index=True)
    kind: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(10))
    category: Mapped[str | None] = mapped_column(String(64))
    dispatch_number: Mapped[str | None] = mapped_column(String(30))
    notification: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    # Set on an event sent to a webhook subscription (channel ``subscription``); the
    # subscription's delivery log. Its deliveries go when it is deleted.
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True)

    def __repr__(self) -> str:
        return f"<NotificationDelivery {self.public_id} {self.channel} {self.status}>"
