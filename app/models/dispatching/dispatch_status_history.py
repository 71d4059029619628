from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.models.base import Base, UserCreatedBase, utcnow
from app.models.dispatching.dispatch import Dispatch

if TYPE_CHECKING:
    from app.models.user import User


class DispatchStatusHistory(UserCreatedBase, Base):
    """One status change of a dispatch: from, to, why, who and when."""

    __tablename__ = "dispatch_status_history"
    # How many times each dispatch was assigned, from the index alone (first-time fix).
    __table_args__ = (Index("ix_dispatch_status_history_dispatch_id_status_to", "dispatch_id", "status_to"),)

    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    status_from: Mapped[str | None] = mapped_column(String(50))
    status_to: Mapped[str] = mapped_column(String(50))
    change_reason: Mapped[str | None] = mapped_column(Text, info={"max_length": 500, "label": "The reason"})
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    changed_date: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    dispatch: Mapped[Dispatch] = relationship(
        backref=backref("status_history", order_by="DispatchStatusHistory.id")
    )
    changed_by: Mapped[User] = relationship(foreign_keys=[changed_by_id])

    def __repr__(self) -> str:
        return f"<DispatchStatusHistory {self.status_from} -> {self.status_to}>"
