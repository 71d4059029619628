"""Technician capacity: claimed atomically so that concurrent workers never overbook anyone.

A claim is one conditional UPDATE (``… SET active = active + 1 WHERE active < max``): on
PostgreSQL the row lock makes a second claimer re-check the condition after the first
commits; SQLite serialises writers. Either way the check and the increment cannot be split.

``active_dispatch_count`` is the number of open dispatches the technician holds, capped at
``max_concurrent_dispatches`` (a CHECK constraint keeps it there). A manager's override can
give an at-capacity technician one more: that dispatch is held past the limit and not
counted, so the count stays at the limit. Every release therefore recounts — the count
becomes min(open dispatches, limit) — so a technician over the limit gets no free slot until
their open work falls below it. Overrides and releases lock the profile row first, so a
recount always sees every committed claim.
"""

from __future__ import annotations

from sqlalchemy import case, func, or_, select, update

from app.extensions import db
from app.models import Availability, Dispatch, DispatchStatusHistory, TechnicianProfile, User, utcnow
from app.services.errors import ValidationError


class CapacityExceeded(ValidationError):
    """The technician cannot take another dispatch now."""


def claim(technician: User) -> None:
    """Take one slot of the technician's capacity, or refuse saying why."""
    _claim(technician, beyond_capacity=False)


def claim_past_capacity(technician: User) -> None:
    """A manager's override: take a slot, or when at capacity hold the dispatch past the limit, uncounted.

    An unavailable technician is still refused. The profile row is locked first, so a
    concurrent release recounts only after this transaction has committed.
    """
    _lock(technician.id)
    _claim(technician, beyond_capacity=True)


def _claim(technician: User, *, beyond_capacity: bool) -> None:
    table = TechnicianProfile.__table__
    now = utcnow()
    back = (table.c.unavailable_until.is_not(None)) & (table.c.unavailable_until <= now)
    result = db.session.execute(
        update(table)
        .where(
            table.c.user_id == technician.id,
            table.c.active_dispatch_count < table.c.max_concurrent_dispatches,
            or_(table.c.availability == Availability.AVAILABLE.value, back),
        )
        .values(
            active_dispatch_count=table.c.active_dispatch_count + 1,
            # An unavailability that has run out ends with the first claim.
            availability=Availability.AVAILABLE.value,
            unavailable_reason=case((back, None), else_=table.c.unavailable_reason),
            unavailable_until=case((back, None), else_=table.c.unavailable_until),
        )
    )
    if result.rowcount == 1:
        _expire_profile(technician)
        return
    profile = db.session.execute(
        select(table.c.active_dispatch_count, table.c.max_concurrent_dispatches, table.c.availability,
               table.c.unavailable_reason).where(table.c.user_id == technician.id)
    ).first()
    if profile is None:
        return  # no profile: nothing is known to limit this technician
    if profile.availability != Availability.AVAILABLE and beyond_capacity and _back(technician.id, now):
        _expire_profile(technician)
        return  # the unavailability ran out (the conditional UPDATE only failed on capacity): held, reset
    if profile.availability != Availability.AVAILABLE:
        reason = f" ({profile.unavailable_reason})" if profile.unavailable_reason else ""
        if beyond_capacity:
            raise CapacityExceeded(
                f"{technician.name} is unavailable{reason}: not even an override assigns them. Mark them available "
                "first, or choose another technician.", field="assigned_user_id")
        raise CapacityExceeded(
            f"{technician.name} is unavailable{reason}; choose another technician.", field="assigned_user_id"
        )
    if beyond_capacity:
        return  # held past the limit: the count stays at the limit (the row is locked)
    raise CapacityExceeded(
        f"{technician.name} is at capacity ({profile.active_dispatch_count}/{profile.max_concurrent_dispatches} "
        "active dispatches); choose another technician or finish one of theirs first.",
        field="assigned_user_id",
    )


def open_dispatch_count(technician_id: int) -> int:
    """Dispatches the technician holds now (Assigned, En Route, In Progress)."""
    return db.session.scalar(
        select(func.count()).select_from(Dispatch).where(
            Dispatch.assigned_user_id == technician_id,
            Dispatch.status.in_(("Assigned", "En Route", "In Progress")),
        )
    )


def release(technician_id: int | None) -> None:
    """Give back the slot of a dispatch the technician no longer holds (already flushed).

    Recounts rather than subtracting one: after an override the technician may hold more
    dispatches than the limit, and then the count stays at the limit.
    """
    if technician_id is None:
        return
    table = TechnicianProfile.__table__
    _lock(technician_id)
    holding = open_dispatch_count(technician_id)
    db.session.execute(
        update(table)
        .where(table.c.user_id == technician_id)
        .values(active_dispatch_count=case((table.c.max_concurrent_dispatches < holding,
                                            table.c.max_concurrent_dispatches), else_=holding))
    )
    _expire_profile_id(technician_id)


def _lock(technician_id: int) -> None:
    """Lock the technician's profile row until the transaction ends (a write that changes nothing).

    PostgreSQL takes the row lock, so the next statement's snapshot includes every claim that
    committed before; SQLite takes its database write lock.
    """
    table = TechnicianProfile.__table__
    db.session.execute(update(table).where(table.c.user_id == technician_id)
                       .values(active_dispatch_count=table.c.active_dispatch_count))


def _back(technician_id: int, now) -> bool:
    """End an unavailability whose "until" has passed; whether it did."""
    table = TechnicianProfile.__table__
    return db.session.execute(
        update(table)
        .where(table.c.user_id == technician_id, table.c.unavailable_until.is_not(None),
               table.c.unavailable_until <= now)
        .values(availability=Availability.AVAILABLE.value, unavailable_reason=None, unavailable_until=None)
    ).rowcount == 1


def record_completion(dispatch: Dispatch) -> None:
    """Count the completion in the technician's history: on time, and fixed first time.

    A first-time fix is a dispatch completed by the only technician it was ever assigned to.
    """
    if dispatch.assigned_user_id is None:
        return
    assignments = db.session.scalar(
        select(func.count())
        .select_from(DispatchStatusHistory)
        .where(DispatchStatusHistory.dispatch_id == dispatch.id, DispatchStatusHistory.status_to == "Assigned")
    )
    on_time = dispatch.sla_due_at is None or (dispatch.completed_date or dispatch.sla_due_at) <= dispatch.sla_due_at
    table = TechnicianProfile.__table__
    db.session.execute(
        update(table)
        .where(table.c.user_id == dispatch.assigned_user_id)
        .values(
            completed_count=table.c.completed_count + 1,
            on_time_count=table.c.on_time_count + (1 if on_time else 0),
            first_time_fix_count=table.c.first_time_fix_count + (1 if assignments <= 1 else 0),
        )
    )
    _expire_profile_id(dispatch.assigned_user_id)


def _expire_profile(technician: User) -> None:
    _expire_profile_id(technician.id)


def _expire_profile_id(user_id: int) -> None:
    # Core UPDATEs bypass the ORM: drop any loaded copy so the next read sees the new count.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, TechnicianProfile) and obj.user_id == user_id:
            db.session.expire(obj)
