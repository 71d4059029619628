from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase, utcnow
from app.models.user import User


class AuthEventKind(StrEnum):
    SIGNED_IN = "signed in"
    SIGN_IN_FAILED = "sign-in failed"
    SIGN_IN_BLOCKED = "sign-in blocked"
    SIGNED_OUT = "signed out"
    PASSWORD_CHANGED = "password changed"
    SESSIONS_REVOKED = "sessions revoked"


class AuthEvent(UserCreatedBase, Base):
    """Something that happened to an account's sign-in, for admins to look back on.

    ``email`` is what was typed (failures may name no account); ``user_id`` is set when an
    account has that email.
    """

    __tablename__ = "auth_events"

    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(String(500))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    def __repr__(self) -> str:
        return f"<AuthEvent {self.kind} {self.email}>"
