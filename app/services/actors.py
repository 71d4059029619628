"""Who the current work is done for: filled into audit columns, history and events.

On the web it is the logged-in user. Command-line and background work runs inside
``acting_as(system_user())`` so that it is recorded as the system user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from app.extensions import db
from app.models.user import Role, User

SYSTEM_EMAIL = "system@motorpool.invalid"

_acting_user_id: ContextVar[int | None] = ContextVar("motorpool_acting_user_id", default=None)


@contextmanager
def acting_as(user: User) -> Iterator[User]:
    if user.id is None:
        db.session.flush()
    token = _acting_user_id.set(user.id)
    try:
        yield user
    finally:
        _acting_user_id.reset(token)


def current_actor_id() -> int | None:
    """The id of the user the work is done for, or ``None`` when nobody is known."""
    acting = _acting_user_id.get()
    if acting is not None:
        return acting
    if has_request_context() and current_user.is_authenticated:
        return current_user.id
    return None


def audit_actor_id(session=None) -> int | None:
    """Who a write is attributed to: the acting user, else the system user if it exists.

    Work done outside a request (the scheduler, the worker, a command) is the system's; the
    system user's id is looked up once per session.
    """
    actor_id = current_actor_id()
    if actor_id is not None:
        return actor_id
    session = session if session is not None else db.session
    cached = session.info.get("motorpool_system_user_id")
    if cached is None:
        cached = session.scalar(select(User.id).where(User.email == SYSTEM_EMAIL))
        if cached is not None:
            session.info["motorpool_system_user_id"] = cached
    return cached


def system_user() -> User:
    """The account command-line work is recorded as; created on first use, cannot sign in."""
    user = db.session.scalar(select(User).where(User.email == SYSTEM_EMAIL))
    if user is None:
        user = new_system_user()
        db.session.add(user)
        db.session.flush()
    return user


def new_system_user() -> User:
    return User(email=SYSTEM_EMAIL, name="System", role=Role.ADMIN.value, is_system=True)


def require_actor_id() -> int:
    """The current actor, falling back to the system user for work done outside a request."""
    actor = current_actor_id()
    return actor if actor is not None else system_user().id
