from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase, utcnow
from app.models.user import User


class UserSession(UserCreatedBase, Base):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is stored,
    so a copy of this table does not give anyone a live session. ``created_at`` is the
    sign-in time; rows are only written after the user is loaded, never while.
    """

    __tablename__ = "user_sessions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(100))

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id}{' revoked' if self.revoked_at else ''}>"
