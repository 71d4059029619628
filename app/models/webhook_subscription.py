from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.user import User


class WebhookSubscription(UserCreatedBase, Base):
    """An integration's URL and the event types it is sent, signed with its own secret.

    ``secret`` is the Standard Webhooks signing key (``whsec_…``). Signing needs the key
    itself, so it is stored as issued (docs/decisions.md); it is shown once, when it is
    made, and never rendered, logged or copied into a delivery row afterwards.
    Deliveries are rows of ``notification_deliveries`` naming the subscription.
    """

    __tablename__ = "webhook_subscriptions"

    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    secret_rotated_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])

    def __repr__(self) -> str:
        return f"<WebhookSubscription {self.id} {'active' if self.active else 'paused'}>"
