"""Rules that hold however data is written: run by SQLAlchemy before every flush."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.models import Dispatch, DispatchDetailVirtual, UserCreatedBase
from app.services import actors, candidate_pool
from app.services.detail_sets import validate_table_set_rows
from app.services.dispatch_creation import complete_new_dispatches
from app.services.dispatches import validate_status_changes
from app.services.text import validate_session_text


def _stamp_audit_columns(session: Session) -> None:
    actor_id = actors.audit_actor_id(session)
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


def _mirror_sign_offs(session: Session) -> None:
    """Copy a sign-off written on a concrete detail row to its master row.

    The completion rule reads the master rows only (they exist whether or not the type's
    plugin is loaded), so an ORM write of the sign-off columns must reach them too.
    """
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, DispatchDetailVirtual):
            continue
        state = inspect(obj)
        at_column, by_column = obj.signed_off_at_column, obj.signed_off_by_column
        if obj in session.dirty and not (state.attrs[at_column].history.has_changes()
                                         or state.attrs[by_column].history.has_changes()):
            continue
        master = obj.detail
        if master is None:
            continue
        signed_at, signed_by = getattr(obj, at_column), getattr(obj, by_column)
        if (master.signed_off_at, master.signed_off_by_id) != (signed_at, signed_by):
            master.signed_off_at, master.signed_off_by_id = signed_at, signed_by


def _changes_pool(session: Session) -> bool:
    """Whether the flush adds, deletes or changes a row the kept candidate pool was read from."""
    watched = candidate_pool.STATIC_COLUMNS
    for obj in (*session.new, *session.deleted):
        if type(obj) in watched:
            return True
    for obj in session.dirty:
        columns = watched.get(type(obj))
        if columns is None:
            continue
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in columns):
            return True
    return False


def _bump_pool_version(session: Session) -> None:
    """Raise the candidate pool's version in the same transaction as the change.

    Every process compares it before ranking, so the change is seen everywhere at once,
    whichever code wrote it (a service, an admin page, a test's plain ORM).
    """
    if _changes_pool(session):
        candidate_pool.bump_version(session)


def do_orm_execute(state: ORMExecuteState) -> None:
    """ORM bulk statements (``session.execute(update(TechnicianProfile)...)``) bypass the flush:
    raise the pool's version for an INSERT, UPDATE or DELETE on a watched model.

    Core statements on the bare tables are not seen: the capacity and completion counters
    are written that way on purpose, and the pool reads those columns on every ranking.
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    entity = state.statement.entity_description.get("entity") if state.is_orm_statement else None
    if entity in candidate_pool.STATIC_COLUMNS:
        candidate_pool.bump_version(state.session)


def before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    validate_table_set_rows(session)
    new_dispatches = [obj for obj in session.new if isinstance(obj, Dispatch)]
    if new_dispatches:
        complete_new_dispatches(session, new_dispatches)
    validate_status_changes(session)
    validate_session_text(session)
    _mirror_sign_offs(session)
    _stamp_audit_columns(session)
    _bump_pool_version(session)


def install() -> None:
    """Attach the hooks to every session; safe to call once per application."""
    if not event.contains(Session, "before_flush", before_flush):
        event.listen(Session, "before_flush", before_flush)
    if not event.contains(Session, "do_orm_execute", do_orm_execute):
        event.listen(Session, "do_orm_execute", do_orm_execute)
