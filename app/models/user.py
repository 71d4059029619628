from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    TECHNICIAN = "technician"


class User(UserMixin, UserCreatedBase, Base):
    """A person who signs in, or the system user that command-line work is recorded as."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'manager', 'technician')", name="role_known"),
    )

    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    # None for accounts that cannot sign in (the system user).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active_user: Mapped[bool] = mapped_column("is_active", default=True)
    is_system: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    # IANA zone the person sees and types times in; None = the organisation's (MOTORPOOL_TIMEZONE).
    time_zone: Mapped[str | None] = mapped_column(String(64))

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.is_active_user and not self.is_system

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} ({self.role})>"


# Unique whatever the case: "Refrigeration" and "refrigeration" are one name.
Index("uq_users_lower_email", func.lower(User.email), unique=True)
