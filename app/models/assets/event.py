from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase, utcnow

if TYPE_CHECKING:
    from app.models.assets.asset import Asset
    from app.models.dispatching.dispatch import Dispatch
    from app.models.user import User


class Event(UserCreatedBase, Base):
    """Something that happened to an asset or a dispatch: when, by whom, and what."""

    __tablename__ = "events"

    event_type: Mapped[str] = mapped_column(String(50), index=True)  # e.g. "dispatch.created"
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"), index=True)
    dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatches.id"), index=True)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    asset: Mapped[Asset | None] = relationship(foreign_keys=[asset_id])
    dispatch: Mapped[Dispatch | None] = relationship(
        foreign_keys=[dispatch_id], back_populates="events"
    )

    def __repr__(self) -> str:
        return f"<Event {self.event_type} dispatch={self.dispatch_id}>"
