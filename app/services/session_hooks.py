"""Rules that hold however data is written: run by SQLAlchemy before every flush."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app.models import Asset, DailyTrend, Dispatch, DispatchDetailVirtual, DispatchMetric, UserCreatedBase, utcnow
from app.models.base import _CLOCK
from app.services import actors, candidate_pool, daily_rollups, metrics
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


#: The columns of an assignment record the kept trends are computed from.
_TREND_COLUMNS = ("created_at", "routing_speed_seconds", "estimated_completion_hours")


#: The columns of an assignment record the kept cost sums are computed from (and the
#: relationship: a record moved through it has its foreign key copied only during the flush).
_ROLLUP_COLUMNS = ("created_at", "operational_cost", "labour_cost", "overtime_cost", "travel_cost", "dispatch_id",
                   "dispatch")
#: What a kept cost group is of: a dispatch's priority, location and asset, an asset's type. The
#: relationships too: one set through them has its foreign key copied only during the flush.
_DISPATCH_GROUP_COLUMNS = ("priority", "dispatch_location_id", "dispatch_location", "asset_id", "asset")
_ASSET_GROUP_COLUMNS = ("asset_type_id", "asset_type")


def _trend_instants(session: Session, columns: tuple[str, ...] = _TREND_COLUMNS) -> list[datetime]:
    """When the assignment records this flush adds, deletes or changes (in ``columns``) were (and are) made."""
    instants: list[datetime] = []
    for obj in session.new:
        if isinstance(obj, DispatchMetric):
            # Stamped now by the column default: no kept day contains the real now, since a day
            # is kept only once it has ended. Under ``clock_at`` (the demo's history) "now" may
            # be in the past, so a record there counts like any other.
            if obj.created_at is None:
                if _CLOCK.get() is not None:
                    instants.append(utcnow())
            else:
                instants.append(obj.created_at)
    for obj in session.deleted:
        if isinstance(obj, DispatchMetric) and obj.created_at is not None:
            instants.append(obj.created_at)
    for obj in session.dirty:
        if not isinstance(obj, DispatchMetric):
            continue
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in columns):
            history = state.attrs["created_at"].history
            instants.extend(v for v in (*history.deleted, *history.unchanged, *history.added) if v is not None)
    return instants


def _forget_changed_trend_days(session: Session) -> None:
    """Delete the kept trends of the finished days whose assignment records change, in the
    same transaction as the change, so the next read computes them again from the records."""
    instants = _trend_instants(session)
    if instants:
        metrics.forget_trend_days(session, instants)


def _changed(session: Session, model: type, columns: tuple[str, ...]) -> list:
    """The persistent ``model`` objects of this flush with a change in ``columns``."""
    found = []
    for obj in session.dirty:
        if isinstance(obj, model):
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in columns):
                found.append(obj)
    return found


def _forget_changed_rollup_days(session: Session) -> None:
    """Delete the kept cost sums this flush makes wrong, in the same transaction as the change:
    the days of the records added, changed or removed; the days of the records of a dispatch
    whose priority, location or asset changes; every day when an asset changes type."""
    instants = _trend_instants(session, _ROLLUP_COLUMNS)
    if instants:
        daily_rollups.forget_days(session, instants)
    moved = [obj.id for obj in _changed(session, Dispatch, _DISPATCH_GROUP_COLUMNS) if obj.id is not None]
    if moved:
        daily_rollups.forget_dispatch_days(session, moved)
    if _changed(session, Asset, _ASSET_GROUP_COLUMNS):
        daily_rollups.forget_all(session)


def do_orm_execute(state: ORMExecuteState) -> None:
    """ORM bulk statements (``session.execute(update(TechnicianProfile)...)``) bypass the flush:
    raise the pool's version for an INSERT, UPDATE or DELETE on a watched model.

    Core statements on the bare tables are not seen: the capacity and completion counters
    are written that way on purpose, and the pool reads those columns on every ranking. The
    claims (``capacity._claim``, ``capacity._back``) also end an unavailability whose "until"
    has passed, on kept columns, unseen: harmless, as the kept part already counts such a
    technician available (``_StaticPart.available_at``).
    """
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    entity = state.statement.entity_description.get("entity") if state.is_orm_statement else None
    if entity in candidate_pool.STATIC_COLUMNS:
        candidate_pool.bump_version(state.session)
    if entity is DispatchMetric:
        # Which records a bulk statement touches is not known here: forget every kept day.
        state.session.connection().execute(DailyTrend.__table__.delete())
    if entity is DispatchMetric or (entity in (Dispatch, Asset) and not state.is_insert):
        daily_rollups.forget_all(state.session)


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
    _forget_changed_trend_days(session)
    _forget_changed_rollup_days(session)


def install() -> None:
    """Attach the hooks to every session; safe to call once per application."""
    if not event.contains(Session, "before_flush", before_flush):
        event.listen(Session, "before_flush", before_flush)
    if not event.contains(Session, "do_orm_execute", do_orm_execute):
        event.listen(Session, "do_orm_execute", do_orm_execute)
