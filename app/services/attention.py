"""What needs a manager's attention now: the short lists on the manager's home page.

One function per figure, each a count and a short list (two queries whatever the number of
dispatches). Each figure is defined exactly as the dispatch list's filter it links to, so the
count on the home page is the number of rows that link shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Asset, Dispatch, DispatchStatus, utcnow
from app.services.queries import OPEN_STATUSES

#: How many dispatches each short list shows.
SHORT_LIST = 5


@dataclass(frozen=True)
class Attention:
    """A figure on the home page: how many dispatches, the oldest few, and the list's filter."""

    total: int
    items: list[Dispatch]
    filters: dict[str, str]


def _figure(conditions: list, order: list, filters: dict[str, str], limit: int) -> Attention:
    total = db.session.scalar(select(func.count(Dispatch.id)).where(*conditions)) or 0
    # The few ids first, sorted on narrow rows; sorting whole rows (every column of every
    # matching dispatch) took 50 ms at 25,000 overdue dispatches, this takes a few.
    first_ids = select(Dispatch.id).where(*conditions).order_by(*order, Dispatch.id).limit(limit).scalar_subquery()
    items = db.session.scalars(
        select(Dispatch).where(Dispatch.id.in_(first_ids))
        .options(joinedload(Dispatch.asset).joinedload(Asset.asset_type), joinedload(Dispatch.assigned_user))
        .order_by(*order, Dispatch.id)
    ).all() if total else []
    return Attention(total=total, items=list(items), filters=filters)


def overdue_open(*, limit: int = SHORT_LIST, now: datetime | None = None) -> Attention:
    """Open dispatches past their SLA due time, longest overdue first (the list's ``due=overdue``)."""
    now = now or utcnow()
    return _figure([Dispatch.status.in_(OPEN_STATUSES), Dispatch.sla_due_at < now],
                   [Dispatch.sla_due_at], {"due": "overdue"}, limit)


def unassigned_open(*, limit: int = SHORT_LIST) -> Attention:
    """Dispatches waiting for a technician, oldest first (the list's ``status=Created&technician=none``)."""
    return _figure([Dispatch.status == DispatchStatus.CREATED.value, Dispatch.assigned_user_id.is_(None)],
                   [Dispatch.created_date], {"status": DispatchStatus.CREATED.value, "technician": "none"}, limit)
