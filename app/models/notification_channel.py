from __future__ import annotations

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class NotificationChannel(UserCreatedBase, Base):
    """How an admin routes one channel; a channel without a row uses the defaults.

    Defaults: enabled when listed in ``MOTORPOOL_NOTIFIERS``, every severity, every category.
    ``categories`` empty means every category; ``recipient_roles`` and
    ``recipient_addresses`` are added to each notification the channel sends.
    """

    __tablename__ = "notification_channels"

    name: Mapped[str] = mapped_column(String(50), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    min_severity: Mapped[str] = mapped_column(String(10), default="info")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipient_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    recipient_addresses: Mapped[list[str]] = mapped_column(JSON, default=list)

    def __repr__(self) -> str:
        return f"<NotificationChannel {self.name} {'on' if self.enabled else 'off'}>"
