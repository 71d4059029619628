from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase
from app.models.user import User


class ApiToken(UserCreatedBase, Base):
    """A personal token for the JSON API, acting as its owner with the owner's role.

    The secret is shown once when the token is made; only its SHA-256 is stored, so a copy of
    this table lets nobody call the API. ``prefix`` (the secret's first characters, shown in
    lists) finds the row without scanning; the hash then decides.
    """

    __tablename__ = "api_tokens"

    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix} owner={self.owner_id}{' revoked' if self.revoked_at else ''}>"
