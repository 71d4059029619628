"""Accounts: creation with validated input, the password rule, argon2id hashes, sign-in."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuthEventKind, Role, User, utcnow
from app.services import auth_sessions, capacity, local_time
from app.services import text as text_rules
from app.services.errors import NotFound, ValidationError
from app.services.queries import Page
from app.services.text import contains_text
from app.services.transaction import transaction

ROLES = [role.value for role in Role]
MIN_PASSWORD_LENGTH = 10
#: zxcvbn's score (0–4) a password must reach: 3 is "safely unguessable" for online attacks
#: and costly offline against a slow hash.
MIN_PASSWORD_SCORE = 3
# zxcvbn's time grows with the length; the first characters decide the estimate anyway.
_ESTIMATE_LENGTH = 72
#: Parts of a name or email shorter than this are not looked for in the password.
_MIN_PERSONAL_PART = 3
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


def _personal_parts(email: str, name: str) -> list[str]:
    """The name's words, the email and its local part's words, lower-cased."""
    email = normalise_email(email)
    local = email.split("@", 1)[0]
    parts = [email, local, *re.split(r"[^\w]+", local), *re.split(r"[^\w]+", (name or "").lower())]
    return sorted({p for p in parts if len(p) >= _MIN_PERSONAL_PART}, key=len, reverse=True)


def validate_password(password: str, *, email: str = "", name: str = "", field: str = "password") -> None:
    """Refuse a password that is short, contains the account's name or email, or is easy to guess.

    The estimate is zxcvbn's (dictionaries of common passwords, names and words, keyboard
    patterns, dates, repeats), told the account's name and email too.
    """
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"The password is too short: use at least {MIN_PASSWORD_LENGTH} characters.", field=field
        )
    lowered = password.lower()
    for part in _personal_parts(email, name):
        if part in lowered:
            raise ValidationError(
                f"The password contains the account's name or email (\"{part}\"); choose one without it.", field=field
            )
    estimate = zxcvbn(password[:_ESTIMATE_LENGTH], user_inputs=[email, name], max_length=_ESTIMATE_LENGTH)
    if estimate["score"] < MIN_PASSWORD_SCORE:
        feedback = estimate["feedback"]
        why = (feedback.get("warning") or "It follows a common pattern.").rstrip(".") + "."
        how = " ".join(feedback.get("suggestions") or []) or "Add another word or two. Uncommon words are better."
        raise ValidationError(f"The password is too easy to guess. {why} {how}", field=field)


def _checked_account_fields(email: str, name: str, role: str) -> tuple[str, str]:
    """The normalised email and name, or the refusal of a malformed email, missing name or unknown role."""
    email = normalise_email(email)
    name = (name or "").strip()
    # Before any query: a NUL would be refused by PostgreSQL's driver, not with a message.
    text_rules.check(User, "email", email)
    text_rules.check(User, "name", name)
    if not _EMAIL.match(email):
        raise ValidationError(f"{email!r} is not an email address (like name@example.com).", field="email")
    if not name:
        raise ValidationError("A name is required.", field="name")
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.", field="role")
    return email, name


def create_user(*, email: str, name: str, role: str, password: str) -> User:
    email, name = _checked_account_fields(email, name, role)
    validate_password(password, email=email, name=name)
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


def _refuse_removing_last_admin(user: User, what: str, field: str) -> None:
    """Some active admin must remain, or nobody could manage accounts again (the command
    line, acting as the system user, is not held back by the "not yourself" rule)."""
    if user.role != Role.ADMIN or not user.is_active_user:
        return
    others = db.session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.is_active_user.is_(True), User.is_system.is_(False), User.id != user.id))
    if not others:
        raise ValidationError(f"{user.name} is the only active admin; make another admin before {what}.",
                              field=field)


#: ``update_user(time_zone=KEEP)``: leave the user's zone as it is.
KEEP = object()


def update_user(
    user: User, *, email: str, name: str, role: str, password: str | None = None, actor: User | None = None,
    time_zone: object = KEEP,
) -> User:
    """Change an account; the password only when one is given, the zone only when given
    (empty: the organisation's).

    ``actor`` is the admin making the change: they cannot take their own admin role away
    (nobody might be left to give it back). A technician who holds open dispatches keeps
    the technician role until they are reassigned.
    """
    if user.is_system:
        raise ValidationError("The system user records command-line work and cannot be edited.")
    email, name = _checked_account_fields(email, name, role)
    if actor is not None and actor.id == user.id and role != user.role:
        raise ValidationError("You cannot change your own role; ask another admin.", field="role")
    if role != user.role:
        _refuse_removing_last_admin(user, "changing the role", "role")
    if user.role == Role.TECHNICIAN and role != Role.TECHNICIAN:
        held = _open_dispatch_count(user)
        if held:
            raise ValidationError(
                f"{user.name} holds {held} open dispatch(es); reassign them before changing the role.", field="role"
            )
    if password:
        validate_password(password, email=email, name=name)
    zone = user.time_zone if time_zone is KEEP else local_time.check_zone_name(time_zone)  # type: ignore[arg-type]
    if db.session.scalar(select(func.count()).select_from(User).where(User.email == email, User.id != user.id)):
        raise ValidationError(f"A user with the email {email} already exists.", field="email")
    with transaction():
        user.email = email
        user.name = name
        user.role = role
        user.time_zone = zone
        if password:
            user.password_hash = hash_password(password)
            # An admin changing their own password here keeps the session they are using.
            keep = auth_sessions.current_session() if actor is not None and actor.id == user.id else None
            auth_sessions.revoke_all(user, reason="password changed by an admin", keep=keep)
            auth_sessions.record_event(AuthEventKind.PASSWORD_CHANGED, user=user, detail="by an admin")
    return user


def change_own_password(user: User, *, current: str, new: str) -> None:
    """The signed-in user's own change: the current password is required and the rule
    applies. Every other session of the user ends; this one stays."""
    if not password_matches(user, current or ""):
        raise ValidationError("The current password is wrong; type it again.", field="current_password")
    validate_password(new, email=user.email, name=user.name, field="new_password")
    if password_matches(user, new):
        raise ValidationError("The new password is the same as the current one; choose another.",
                              field="new_password")
    with transaction():
        user.password_hash = hash_password(new)
        auth_sessions.revoke_all(user, reason="password changed", keep=auth_sessions.current_session())
        auth_sessions.record_event(AuthEventKind.PASSWORD_CHANGED, user=user)


def set_own_time_zone(user: User, name: str | None) -> User:
    """The zone the user sees and types times in; empty means the organisation's."""
    zone = local_time.check_zone_name(name)
    with transaction():
        user.time_zone = zone
    return user


def set_user_active(user: User, active: bool, *, actor: User | None = None) -> None:
    """Allow or stop an account signing in. Not for yourself, nor for the system user."""
    if user.is_system:
        raise ValidationError("The system user cannot sign in and is never deactivated or activated.")
    if not active:
        if actor is not None and actor.id == user.id:
            raise ValidationError("You cannot deactivate your own account; ask another admin.", field="active")
        _refuse_removing_last_admin(user, "deactivating them", "active")
        if user.role == Role.TECHNICIAN:
            held = _open_dispatch_count(user)
            if held:
                raise ValidationError(f"{user.name} holds {held} open dispatch(es); reassign them first.",
                                      field="active")
    with transaction():
        user.is_active_user = active
        if not active:
            auth_sessions.revoke_all(user, reason="account deactivated")


# --- Reading (the API's user list) ---------------------------------------------------------


def find_user(user_id: int) -> User:
    """An account by id; the system user is nobody's to read or edit (as on the admin page)."""
    user = db.session.get(User, user_id)
    if user is None or user.is_system:
        raise NotFound(f"There is no user #{user_id}.")
    return user


def user_page(*, role: str | None = None, active: bool | None = None, search: str | None = None, page: int = 1,
              per_page: int = 25) -> Page:
    """People by name (the system user left out), narrowed by role, active and a text over name
    and email: a count and one page query, whatever the number of accounts."""
    conditions = [User.is_system.is_(False)]
    if role is not None:
        conditions.append(User.role == role)
    if active is not None:
        conditions.append(User.is_active_user.is_(active))
    if (search or "").strip():
        text = search.strip()
        conditions.append(contains_text(User.name, text) | contains_text(User.email, text))
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    rows = db.session.scalars(select(User).where(*conditions).order_by(User.name, User.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)
