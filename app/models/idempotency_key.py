from __future__ import annotations

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase
from app.models.user import User


class IdempotencyKey(UserCreatedBase, Base):
    """The first answer to a creating API request sent with an ``Idempotency-Key`` header.

    Keys belong to one caller (``scope``: the token, or the signed-in user for a browser), so
    two callers choosing the same key never see each other's answers. ``request_hash`` is the
    SHA-256 of the method, path and body: the same key with another body is refused.
    """

    __tablename__ = "idempotency_keys"
    # created_at: the retention sweep deletes answers older than a day.
    __table_args__ = (UniqueConstraint("scope", "key"), Index("ix_idempotency_keys_created_at", "created_at"))

    scope: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
