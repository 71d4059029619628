"""Dispatch lifecycle: creation and the status machine.

    Created ─► Assigned ─► En Route ─► In Progress ─► Completed
                  │  └──────────────────►┘
                  └─► Created (unassigned)
    any state that is not final ─► Cancelled

Every change sets the matching timestamp, writes a ``DispatchStatusHistory`` row (from,
to, reason, who) and an ``Event``. A change the machine does not allow is refused with
the current state and the allowed next states, and nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import logging

from flask import current_app
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    AssetStatus,
    Dispatch,
    DispatchMetric,
    DispatchPriority,
    DispatchStatus,
    DispatchStatusHistory,
    Event,
    MajorLocation,
    Role,
    User,
    utcnow,
)
from app.services import actors, capacity, lifecycle, notifications, webhook_subscriptions
from app.services.local_time import format_local
from app.services.errors import ConcurrentUpdate, DomainError, NotFound, TransitionNotAllowed, ValidationError
from app.services.transaction import transaction

S = DispatchStatus
logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.CREATED: (S.ASSIGNED, S.CANCELLED),
    S.ASSIGNED: (S.EN_ROUTE, S.IN_PROGRESS, S.CREATED, S.CANCELLED),
    S.EN_ROUTE: (S.IN_PROGRESS, S.CANCELLED),
    S.IN_PROGRESS: (S.COMPLETED, S.CANCELLED),
    S.COMPLETED: (),
    S.CANCELLED: (),
}


def allowed_next(status: str) -> tuple[str, ...]:
    return ALLOWED_TRANSITIONS.get(status, ())


def check_transition(current: str, target: str) -> None:
    """Raise unless the status machine allows ``current`` → ``target``."""
    if target not in ALLOWED_TRANSITIONS:
        raise ValidationError(
            f"Unknown status {target!r}; the statuses are {', '.join(s.value for s in S)}.", field="status"
        )
    if target not in allowed_next(current):
        options = ", ".join(allowed_next(current)) or "none: it is final"
        raise TransitionNotAllowed(
            f"A dispatch in status {current!r} cannot move to {target!r}. Allowed next states: {options}.",
            field="status",
        )


def create_dispatch(
    *,
    title: str,
    asset_id: int | None,
    priority: str = DispatchPriority.NORMAL.value,
    description: str | None = None,
    due_date: datetime | None = None,
    major_location_id: int | None = None,
    required_skill: str | None = None,
    estimated_duration_hours: float | None = None,
    work_type: str | None = None,
    auto_assign: bool | None = None,
) -> Dispatch:
    """Create a dispatch with its checklist rows, first event and history, or nothing.

    Then, when auto-assignment is on (``MOTORPOOL_AUTO_ASSIGN``, or ``auto_assign``), the
    matching engine assigns it in a second transaction; if nobody fits, it stays Created
    and the reason is recorded. The dispatch exists either way.
    """
    with transaction():
        dispatch = Dispatch(
            title=title,
            description=(description or "").strip() or None,
            priority=priority,
            due_date=due_date,
            asset_id=asset_id,
            major_location_id=major_location_id,
            required_skill=(required_skill or "").strip() or None,
            estimated_duration_hours=estimated_duration_hours,
            work_type=work_type,
        )
        if major_location_id is not None and db.session.get(MajorLocation, major_location_id) is None:
            raise ValidationError(f"Location #{major_location_id} does not exist.", field="major_location_id")
        db.session.add(dispatch)
        db.session.flush()  # runs the creation rules; raises before anything is committed
        lifecycle.queue("motorpool_dispatch_created", dispatch=dispatch)
        webhook_subscriptions.publish("dispatch.created", dispatch_number=dispatch.dispatch_number,
                                      data=lambda: {"dispatch": webhook_subscriptions.dispatch_data(dispatch)})
    if auto_assign is None:
        auto_assign = current_app.config["MOTORPOOL_AUTO_ASSIGN"]
    if auto_assign:
        try_auto_assign(dispatch)
    return dispatch


def try_auto_assign(dispatch: Dispatch) -> None:
    """Assign the just-created dispatch if possible; it exists whatever happens here.

    The dispatch is already committed, so a failure must not look like a failed creation:
    it is logged and recorded on the dispatch, which stays Created for a manager or the batch.
    """
    from app.services import matching

    try:
        matching.auto_assign(dispatch)
    except Exception as error:
        db.session.rollback()
        strict = current_app.config.get("MOTORPOOL_STRICT_PLUGINS")
        if strict and not isinstance(error, DomainError):
            raise
        logger.exception("automatic assignment of %s failed", dispatch.dispatch_number)
        text = error.message if isinstance(error, DomainError) else f"{type(error).__name__}: {error}"
        with transaction():
            db.session.add(Event(event_type="dispatch.not_assigned", dispatch_id=dispatch.id, asset_id=dispatch.asset_id,
                                 description=f"Automatic assignment of {dispatch.dispatch_number} failed ({text}); "
                                             "it stays Created."))


def require_unchanged(dispatch: Dispatch, seen_version: str | int | None) -> None:
    """Refuse to act on a dispatch that changed since the user saw it (``seen_version``).

    Without it a click made on an old page would silently undo someone else's change
    (a reassignment, a cancellation). No version given means no check (command line).
    """
    if seen_version in (None, ""):
        return
    if str(seen_version).strip() != str(dispatch.version_id):
        who = dispatch.assigned_user.name if dispatch.assigned_user is not None else "nobody"
        raise ConcurrentUpdate(
            f"{dispatch.dispatch_number} changed since you opened it: it is now {dispatch.status}, assigned to "
            f"{who}. Check it and try again.",
            field="status",
        )


def get_dispatch(dispatch_id: int) -> Dispatch:
    dispatch = db.session.get(Dispatch, dispatch_id)
    if dispatch is None:
        raise NotFound(f"Dispatch #{dispatch_id} does not exist.")
    return dispatch


def not_yours_message(dispatch: Dispatch, technician: User) -> str:
    """Why a technician can no longer act on ``dispatch``, for the refusal they see.

    Someone who had the job (the assignment record names them) learns who took it back and
    how, from the status history; the reason given stays private. Anyone else only learns
    that it is not theirs.
    """
    number = dispatch.dispatch_number
    had_it = db.session.scalar(select(DispatchMetric.id).where(
        DispatchMetric.dispatch_id == dispatch.id, DispatchMetric.technician_id == technician.id).limit(1))
    last = db.session.scalars(select(DispatchStatusHistory).where(DispatchStatusHistory.dispatch_id == dispatch.id)
                              .order_by(DispatchStatusHistory.id.desc()).limit(1)).first()
    if had_it is None or last is None:
        return f"{number} is not assigned to you. My work lists the jobs you have."
    how = {S.CREATED: "took it back (unassigned)", S.CANCELLED: "cancelled it",
           S.ASSIGNED: "reassigned it to another technician"}.get(last.status_to, f"moved it to {last.status_to}")
    when = format_local(last.changed_date, "short")
    return (f"{number} is no longer assigned to you: {last.changed_by.name} {how} at {when}. "
            "Nothing was changed; My work lists the jobs you have now.")


def _record(dispatch: Dispatch, status_from: str, reason: str | None, actor: User) -> None:
    lifecycle.queue(
        "motorpool_dispatch_status_changed",
        dispatch=dispatch, status_from=status_from, status_to=dispatch.status, reason=reason, actor=actor,
    )
    webhook_subscriptions.publish(
        "dispatch.status_changed", dispatch_number=dispatch.dispatch_number, actor=actor,
        data=lambda: {"dispatch": webhook_subscriptions.dispatch_data(dispatch), "status_from": status_from,
                      "status_to": dispatch.status, "reason": reason})
    text = f"Dispatch {dispatch.dispatch_number} moved from {status_from} to {dispatch.status}"
    if dispatch.assigned_user is not None and dispatch.status == S.ASSIGNED:
        text += f" ({dispatch.assigned_user.name})"
    db.session.add(
        DispatchStatusHistory(
            dispatch=dispatch,
            status_from=status_from,
            status_to=dispatch.status,
            change_reason=reason,
            changed_by=actor,
        )
    )
    db.session.add(
        Event(
            event_type="dispatch.status_changed",
            description=text + (f": {reason}" if reason else ""),
            dispatch=dispatch,
            asset_id=dispatch.asset_id,
            user=actor,
        )
    )


def _actor() -> User:
    return db.session.get(User, actors.require_actor_id())


def change_status(dispatch: Dispatch, target: str, reason: str | None = None) -> Dispatch:
    """Move a dispatch to ``target`` if the status machine allows it.

    Use ``assign`` to move to Assigned (it needs a technician) and ``unassign`` to move
    back to Created.
    """
    check_transition(dispatch.status, target)
    if target == S.ASSIGNED:
        raise ValidationError("Assigning needs a technician: use assign with the technician.", field="status")
    if target == S.CANCELLED:
        require_cancel_reason(reason)
    if target == S.CREATED:
        return unassign(dispatch, reason)
    _check_operation_rules(dispatch, target)
    with transaction():
        previous = dispatch.status
        now = utcnow()
        dispatch.status = target
        _through_service(dispatch)
        if target == S.IN_PROGRESS:
            dispatch.started_date = now
        elif target == S.COMPLETED:
            dispatch.completed_date = now
        _record(dispatch, previous, (reason or "").strip() or None, _actor())
        db.session.flush()  # one change per flush: the flush hook checks each transition
        if target in (S.COMPLETED, S.CANCELLED):
            capacity.release(dispatch.assigned_user_id)
        if target == S.COMPLETED:
            capacity.record_completion(dispatch)
    return dispatch


def require_cancel_reason(reason: str | None) -> None:
    """Cancelling cannot be undone, so the history must say why (pages, bulk, CLI alike)."""
    if not (reason or "").strip():
        raise ValidationError("Cancelling a work order cannot be undone: give the reason for cancelling it.",
                              field="reason")


def _check_operation_rules(dispatch: Dispatch, target: str) -> None:
    """Checklists must be signed off before completion; an out-of-service asset is not operated."""
    from app.services.checklists import unsigned_checklists

    if target == S.COMPLETED:
        unsigned = unsigned_checklists(dispatch)
        if unsigned:
            names = ", ".join(unsigned)
            raise ValidationError(
                f"{dispatch.dispatch_number} cannot be completed while "
                f"{'its checklist is' if len(unsigned) == 1 else 'its checklists are'} not signed off: {names}. Sign "
                f"{'it' if len(unsigned) == 1 else 'them'} off first.",
                field="status",
            )
    if target in (S.EN_ROUTE, S.IN_PROGRESS) and not dispatch.is_repair and dispatch.asset is not None \
            and dispatch.asset.status == AssetStatus.OUT_OF_SERVICE:
        raise ValidationError(
            f"{dispatch.asset.asset_tag} is out of service until a manager certifies its repair; "
            f"{dispatch.dispatch_number} cannot start before that.",
            field="status",
        )


def assign(
    dispatch: Dispatch,
    technician: User,
    reason: str | None = None,
    *,
    mode: str = "manual",
    metric: DispatchMetric | None = None,
    beyond_capacity: bool = False,
) -> Dispatch:
    """Assign a Created dispatch to a technician (or reassign an Assigned one).

    Takes a slot of the technician's capacity atomically (refused when they are at
    capacity or unavailable) and gives the previous technician's slot back. ``metric`` is
    the matching engine's record of the decision, when it made one. ``beyond_capacity``
    (a manager's override, ``matching.assign_to``) holds the dispatch past the technician's
    limit instead of refusing (see ``capacity``).
    """
    if technician is None or technician.role != Role.TECHNICIAN or not technician.is_active:
        name = getattr(technician, "name", "nobody")
        raise ValidationError(f"{name} is not an active technician; choose an active technician.", field="assigned_user_id")
    if dispatch.status != S.ASSIGNED:
        check_transition(dispatch.status, S.ASSIGNED.value)
    if dispatch.status == S.ASSIGNED and dispatch.assigned_user_id == technician.id:
        raise ValidationError(f"{dispatch.dispatch_number} is already assigned to {technician.name}.",
                              field="assigned_user_id")
    with transaction():
        # First: a refusal leaves nothing changed.
        capacity.claim_past_capacity(technician) if beyond_capacity else capacity.claim(technician)
        previous = dispatch.status
        previous_technician_id = dispatch.assigned_user_id
        dispatch.assigned_user = technician
        dispatch.assigned_user_id = technician.id
        dispatch.status = S.ASSIGNED.value
        _through_service(dispatch)
        dispatch.assigned_date = utcnow()
        _record(dispatch, previous, (reason or "").strip() or None, _actor())
        db.session.flush()  # one change per flush; a concurrent assignment fails here (version)
        capacity.release(previous_technician_id)
        if metric is not None:
            metric.dispatch = dispatch
            metric.technician_id = technician.id
            db.session.add(metric)
            db.session.flush()
        # Queued in this transaction: a rolled-back assignment tells nobody, a committed one
        # always has its delivery rows. Plugins' hook still fires after the commit.
        notifications.notify(notifications.assignment_notice(dispatch, technician, metric))
        lifecycle.queue("motorpool_dispatch_assigned", dispatch=dispatch, technician=technician, metric=metric, mode=mode)
        webhook_subscriptions.publish(
            "dispatch.assigned", dispatch_number=dispatch.dispatch_number,
            data=lambda: {"dispatch": webhook_subscriptions.dispatch_data(dispatch),
                          "technician": {"id": technician.id, "name": technician.name},
                          "previous_technician_id": previous_technician_id, "mode": mode})
    return dispatch


def unassign(dispatch: Dispatch, reason: str | None = None) -> Dispatch:
    """Take an Assigned dispatch back to Created, without a technician."""
    check_transition(dispatch.status, S.CREATED)
    with transaction():
        previous = dispatch.status
        previous_technician_id = dispatch.assigned_user_id
        dispatch.assigned_user = None
        dispatch.assigned_date = None
        dispatch.status = S.CREATED.value
        _through_service(dispatch)
        _record(dispatch, previous, (reason or "").strip() or "Unassigned", _actor())
        db.session.flush()
        capacity.release(previous_technician_id)
    return dispatch


_SERVICE_CHANGES_KEY = "motorpool_service_status_changes"


def _through_service(dispatch: Dispatch) -> None:
    """Mark a status change as made by this module, which also does what the change implies."""
    db.session.info.setdefault(_SERVICE_CHANGES_KEY, set()).add(id(dispatch))


def validate_status_changes(session: Session) -> None:
    """Refuse, at flush time, a status change that did not come through this module.

    A change the machine forbids is refused as such. An allowed one written by hand is
    refused too: only the service sets the timestamps, writes the history and the event,
    and gives the technician's capacity back.
    """
    made_here = session.info.pop(_SERVICE_CHANGES_KEY, set())
    for obj in session.dirty:
        if not isinstance(obj, Dispatch):
            continue
        history = inspect(obj).attrs.status.history
        if history.deleted and history.added and history.deleted[0] != history.added[0]:
            check_transition(history.deleted[0], history.added[0])
            if obj.status == S.ASSIGNED and obj.assigned_user_id is None and obj.assigned_user is None:
                raise ValidationError("An Assigned dispatch needs a technician.", field="assigned_user_id")
            if id(obj) not in made_here:
                raise ValidationError(
                    f"Change the status of {obj.dispatch_number} through app.services.dispatches (change_status, "
                    "assign, unassign): they record the history and timestamps and free the technician's capacity.",
                    field="status",
                )


#: Statuses a whole selection of dispatches may be moved to at once (Assigned needs a technician).
BULK_TARGETS: tuple[str, ...] = (S.EN_ROUTE, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.CREATED)


@dataclass(frozen=True)
class BulkResult:
    dispatch_number: str
    ok: bool
    message: str


def bulk_change_status(ids: list[int], target: str, reason: str | None = None) -> list[BulkResult]:
    """Move each dispatch to ``target`` in its own transaction; a refusal leaves that one unchanged.

    Returns one result per requested id, in the order given: the dispatch number, whether it
    changed, and what happened (the refusal's message when it did not).
    """
    from app.services.transaction import require_own_transactions

    require_own_transactions("bulk_change_status")
    if target not in BULK_TARGETS:
        raise ValidationError(
            f"{target!r} cannot be set on several dispatches at once; choose one of {', '.join(BULK_TARGETS)}.",
            field="status",
        )
    if target == S.CANCELLED:
        require_cancel_reason(reason)  # refused once for the whole selection, before any row changes
    wanted = list(dict.fromkeys(int(i) for i in ids))
    if not wanted:
        raise ValidationError("Select at least one dispatch.", field="dispatch_ids")
    found = {d.id: d for d in db.session.scalars(select(Dispatch).where(Dispatch.id.in_(wanted)))}
    results: list[BulkResult] = []
    for dispatch_id in wanted:
        dispatch = found.get(dispatch_id)
        if dispatch is None:
            results.append(BulkResult(f"#{dispatch_id}", False, f"Dispatch #{dispatch_id} does not exist."))
            continue
        number = dispatch.dispatch_number
        try:
            change_status(dispatch, target, reason)
        except DomainError as error:
            db.session.rollback()
            results.append(BulkResult(number, False, error.message))
        else:
            results.append(BulkResult(number, True, f"{number} is now {target}."))
    return results


_UNSET = object()


def update_details(dispatch: Dispatch, *, title=_UNSET, description=_UNSET, due_date=_UNSET) -> Dispatch:
    """Change a dispatch's title, description or due date (each only when given), by the creation rules.

    A final dispatch keeps what it had. A due date moves the SLA with it; clearing it puts the
    SLA back to the priority's hours from creation. An event records what changed.
    """
    from app.services import text as text_rules
    from app.services.dispatch_creation import DATE_HORIZON_YEARS, date_horizon

    if dispatch.is_final:
        raise ValidationError(f"{dispatch.dispatch_number} is {dispatch.status}; its details can no longer change.")
    changes: list[str] = []
    with transaction():
        if title is not _UNSET:
            title = (title or "").strip()
            if not title:
                raise ValidationError("A title is required: say in a few words what is to be done.", field="title")
            text_rules.check(Dispatch, "title", title)
            if title != dispatch.title:
                dispatch.title = title
                changes.append("title")
        if description is not _UNSET:
            description = (description or "").strip() or None
            text_rules.check(Dispatch, "description", description)
            if description != dispatch.description:
                dispatch.description = description
                changes.append("description")
        if due_date is not _UNSET:
            if due_date is not None:
                if due_date.utcoffset() is None:
                    raise ValidationError("The due date has no time zone; give it with one (e.g. 2026-06-10T17:00:00Z).",
                                          field="due_date")
                if due_date < dispatch.created_date:
                    raise ValidationError(f"The due date {format_local(due_date)} is before the dispatch was created "
                                          f"({format_local(dispatch.created_date)}); choose a later one.", field="due_date")
                if due_date > date_horizon(utcnow()):
                    raise ValidationError(f"The due date is more than {DATE_HORIZON_YEARS} years ahead; choose an "
                                          "earlier one.", field="due_date")
            if due_date != dispatch.due_date:
                dispatch.due_date = due_date
                hours = float(current_app.config["MOTORPOOL_SLA_HOURS"][dispatch.priority])
                dispatch.sla_due_at = due_date or dispatch.created_date + timedelta(hours=hours)
                changes.append("due date")
        if changes:
            db.session.add(Event(event_type="dispatch.updated", dispatch_id=dispatch.id, asset_id=dispatch.asset_id,
                                 user_id=actors.require_actor_id(),
                                 description=f"{dispatch.dispatch_number}: {', '.join(changes)} changed"))
            db.session.flush()
    return dispatch
