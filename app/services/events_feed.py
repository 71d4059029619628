"""The events feed: what happened, in order, in pages an integration can follow.

``events_after(cursor, user=...)`` reads the ``events`` table oldest first from just after
``cursor`` and returns a ``FeedPage`` of plain dictionaries an API serialises as they are,
with the cursor of the next page. A cursor is opaque to callers; it encodes the id of the
last event returned, so it stays valid for ever and a page never skips or repeats an event
written while the caller was reading (ids only grow). What a user sees follows their role:
a technician the events of the dispatches assigned to them, managers and admins all.

Also the catalogue of event types a webhook subscription can take (``EVENT_TYPES``):
those are sent as they happen, in the transaction of the change (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Asset, Dispatch, Event, Role, User
from app.services.errors import ValidationError

MAX_LIMIT = 500
_CURSOR_PREFIX = "ev1:"
_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


@dataclass(frozen=True)
class EventType:
    """One event type integrations can subscribe to."""

    name: str
    label: str
    description: str


#: The catalogue, in the order the admin page lists it. ``webhook.test`` is not in it: a
#: test event goes to the one subscription it was sent for, whatever its types.
EVENT_TYPES: dict[str, EventType] = {t.name: t for t in (
    EventType("dispatch.created", "Dispatch created", "A work order was created (by a person, the CLI or a repair)."),
    EventType("dispatch.status_changed", "Status changed",
              "A work order moved from one status to another (assignments included)."),
    EventType("dispatch.assigned", "Assigned", "A work order was assigned or reassigned to a technician."),
    EventType("checklist.signed_off", "Checklist signed off", "A checklist of a work order was signed off."),
    EventType("checklist.defect_reported", "Defect reported",
              "A checklist was signed off with defects: a repair work order was opened for the asset."),
    EventType("alert.raised", "Alert raised", "The alert check raised a new alert."),
)}
TEST_EVENT = "webhook.test"


def iso(moment: datetime | None) -> str | None:
    """A moment as UTC ISO 8601 with a ``Z``, seconds precision kept as stored."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def actor_of(user: Any) -> dict[str, Any] | None:
    """Who acted, as the feed and webhooks show it."""
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "role": user.role}


def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The event id a cursor stands for; a cursor this feed did not give is refused."""
    text = (cursor or "").strip()
    refused = ValidationError(
        f"The cursor {cursor[:60]!r} is not one this feed gave. Pass the `next` value of a previous page as it "
        "was, or no cursor to start from the oldest event.", field="after")
    if not text or len(text) > 40 or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise refused
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    number = decoded.removeprefix(_CURSOR_PREFIX)
    if number == decoded or not number.isdigit() or len(number) > 18 or encode_cursor(int(number)) != text:
        raise refused
    return int(number)


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed: ``items`` oldest first; ``next`` is the cursor to ask for after them.

    ``next`` is given even on the last page (the cursor of its last event, or the one asked
    with when there was nothing new), so a follower keeps polling with it; ``has_more``
    says whether more events were already waiting.
    """

    items: list[dict[str, Any]]
    next: str | None
    has_more: bool

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next": self.next, "has_more": self.has_more}


def _limit(limit: Any) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"The page size {limit!r} is not allowed; ask for 1 to {MAX_LIMIT} events.",
                              field="limit")
    return limit


def _types(types: Iterable[str] | None) -> list[str]:
    if types is None:
        return []
    if isinstance(types, str):
        types = [t for t in types.split(",")]
    chosen = [str(t).strip() for t in types if str(t).strip()]
    bad = [t for t in chosen if not _TYPE.match(t)]
    if bad:
        raise ValidationError(
            f"Event types {', '.join(repr(t[:60]) for t in bad[:5])} are not event type names; give names such as "
            "dispatch.created or checklist.signed_off, separated by commas.", field="types")
    return list(dict.fromkeys(chosen))


def events_after(after: str | None, *, user: User, limit: int = 100,
                 types: Sequence[str] | str | None = None) -> FeedPage:
    """The events after cursor ``after`` (None: from the oldest) that ``user`` may see; one query."""
    limit = _limit(limit)
    chosen = _types(types)
    after_id = decode_cursor(after) if after not in (None, "") else 0
    if user is None or not getattr(user, "is_active", False):
        raise ValidationError("The feed is read by a signed-in, active user.", field="user")
    actor = aliased(User)
    query = (
        select(Event.id, Event.event_type, Event.occurred_at, Event.description, Dispatch.dispatch_number,
               Dispatch.title, Dispatch.status, Dispatch.priority, Asset.asset_tag, actor.id, actor.name, actor.role)
        .outerjoin(Dispatch, Dispatch.id == Event.dispatch_id)
        .outerjoin(Asset, Asset.id == Event.asset_id)
        .outerjoin(actor, actor.id == Event.user_id)
        .where(Event.id > after_id)
    )
    if user.role == Role.TECHNICIAN:
        query = query.where(Dispatch.assigned_user_id == user.id)
    elif user.role not in (Role.MANAGER, Role.ADMIN):
        raise ValidationError(f"Role {user.role!r} may not read the events feed.", field="user")
    if chosen:
        query = query.where(Event.event_type.in_(chosen))
    rows = db.session.execute(query.order_by(Event.id).limit(limit + 1)).all()
    has_more = len(rows) > limit
    items = [_item(row) for row in rows[:limit]]
    next_cursor = items[-1]["cursor"] if items else (after or None)
    return FeedPage(items=items, next=next_cursor, has_more=has_more)


def _item(row: Any) -> dict[str, Any]:
    (event_id, event_type, occurred_at, description, number, title, status, priority, asset_tag,
     actor_id, actor_name, actor_role) = row
    cursor = encode_cursor(event_id)
    return {
        "id": cursor,
        "cursor": cursor,
        "type": event_type,
        "occurred_at": iso(occurred_at),
        "dispatch_number": number,
        "actor": {"id": actor_id, "name": actor_name, "role": actor_role} if actor_id is not None else None,
        "data": {
            "description": description,
            "asset_tag": asset_tag,
            "dispatch": ({"number": number, "title": title, "status": status, "priority": priority}
                         if number is not None else None),
        },
    }
