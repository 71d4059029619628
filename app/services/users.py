"""Accounts: creation with validated input, argon2id password hashes, sign-in."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import Role, User, utcnow
from app.services import capacity
from app.services.errors import ValidationError
from app.services.transaction import transaction

ROLES = [role.value for role in Role]
MIN_PASSWORD_LENGTH = 10
# Deliberately loose: the address is checked by mail delivery, not by a regex.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["PASSWORD_TIME_COST"],
        memory_cost=config["PASSWORD_MEMORY_COST"],
        parallelism=config["PASSWORD_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )


def _checked_account_fields(email: str, name: str, role: str) -> tuple[str, str]:
    """The normalised email and name, or the refusal of a malformed email, missing name or unknown role."""
    email = normalise_email(email)
    name = (name or "").strip()
    if not _EMAIL.match(email):
        raise ValidationError(f"{email!r} is not an email address (like name@example.com).", field="email")
    if not name:
        raise ValidationError("A name is required.", field="name")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role")
    return email, name


def create_user(*, email: str, name: str, role: str, password: str) -> User:
    email, name = _checked_account_fields(email, name, role)
    validate_password(password)
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise ValidationError(f"A user with the email {email} already exists.", field="email")
    with transaction():
        user = User(email=email, name=name, role=role, password_hash=hash_password(password))
        db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or ``None``.

    Which of the two was wrong is not told, so that sign-in does not reveal who has an
    account.
    """
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.password_hash or not user.is_active:
        _hasher().hash("timing-equaliser")  # same cost whether or not the account exists
        return None
    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    with transaction():
        if hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hasher.hash(password)
        user.last_login_at = utcnow()
    return user


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- Changes (admin) ---------------------------------------------------------------------


def _open_dispatch_count(user: User) -> int:
    return capacity.open_dispatch_count(user.id)


def update_user(
    user: User, *, email: str, name: str, role: str, password: str | None = None, actor: User | None = None
) -> User:
    """Change an account; the password only when one is given.

    ``actor`` is the admin making the change: they cannot take their own admin role away
    (nobody might be left to give it back). A technician who holds open dispatches keeps
    the technician role until they are reassigned.
    """
    if user.is_system:
        raise ValidationError("The system user records command-line work and cannot be edited.")
    email, name = _checked_account_fields(email, name, role)
    if actor is not None and actor.id == user.id and role != user.role:
        raise ValidationError("You cannot change your own role; ask another admin.", field="role")
    if user.role == Role.TECHNICIAN and role != Role.TECHNICIAN:
        held = _open_dispatch_count(user)
        if held:
            raise ValidationError(
                f"{user.name} holds {held} open dispatch(es); reassign them before changing the role.", field="role"
            )
    if password:
        validate_password(password)
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email, User.id != user.id)):
        raise ValidationError(f"A user with the email {email} already exists.", field="email")
    with transaction():
        user.email = email
        user.name = name
        user.role = role
        if password:
            user.password_hash = hash_password(password)
    return user


def set_user_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Allow or stop an account signing in. Not for yourself, nor for the system user."""
    if user.is_system:
        raise ValidationError("The system user cannot sign in and is never deactivated or activated.")
    if not active:
        if actor is not None and actor.id == user.id:
            raise ValidationError("You cannot deactivate your own account; ask another admin.")
        if user.role == Role.TECHNICIAN:
            held = _open_dispatch_count(user)
            if held:
                raise ValidationError(f"{user.name} holds {held} open dispatch(es); reassign them first.")
    with transaction():
        user.is_active_user = active
