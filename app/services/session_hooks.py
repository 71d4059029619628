"""Rules that hold however data is written: run by SQLAlchemy before every flush."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models import Dispatch, User, UserCreatedBase
from app.services import actors
from app.services.detail_sets import validate_table_set_rows
from app.services.dispatch_creation import complete_new_dispatches
from app.services.dispatches import validate_status_changes
from app.services.text import validate_session_text


def _audit_actor_id(session: Session) -> int | None:
    """The acting user, else the system user if it exists (work done outside a request)."""
    actor_id = actors.current_actor_id()
    if actor_id is not None:
        return actor_id
    cached = session.info.get("motorpool_system_user_id")
    if cached is None:
        cached = session.scalar(select(User.id).where(User.email == actors.SYSTEM_EMAIL))
        if cached is not None:
            session.info["motorpool_system_user_id"] = cached
    return cached


def _stamp_audit_columns(session: Session) -> None:
    actor_id = _audit_actor_id(session)
    if actor_id is None:
        return
    for obj in session.new:
        if isinstance(obj, UserCreatedBase):
            if obj.created_by_id is None:
                obj.created_by_id = actor_id
            if obj.updated_by_id is None:
                obj.updated_by_id = actor_id
    for obj in session.dirty:
        if isinstance(obj, UserCreatedBase) and session.is_modified(obj, include_collections=False):
            obj.updated_by_id = actor_id


def before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    validate_table_set_rows(session)
    new_dispatches = [obj for obj in session.new if isinstance(obj, Dispatch)]
    if new_dispatches:
        complete_new_dispatches(session, new_dispatches)
    validate_status_changes(session)
    validate_session_text(session)
    _stamp_audit_columns(session)


def install() -> None:
    """Attach the hooks to every session; safe to call once per application."""
    if not event.contains(Session, "before_flush", before_flush):
        event.listen(Session, "before_flush", before_flush)
