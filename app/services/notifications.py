"""Queues notifications: one delivery row per routed channel, in the caller's transaction.

Nothing is sent here. ``notify`` writes rows to ``notification_deliveries`` inside the
transaction of the change it tells about, so a rolled-back change sends nothing and a
committed one is always delivered; the delivery worker (``app.services.delivery_worker``)
sends them, retries and dead-letters. Which channels get a row is the channel's routing:
on/off, minimum severity and categories (``notification_channels``, defaults from
``MOTORPOOL_NOTIFIERS``). See docs/notifications.md.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import NotificationChannel, NotificationDelivery, utcnow
from app.plugins.contracts import SEVERITIES, Notification, Notifier
from app.services import actors
from app.services.errors import NotFound, Problems, ValidationError
from app.services.transaction import transaction

logger = logging.getLogger(__name__)
EXTENSION_KEY = "motorpool.notifiers"
_ROUTES_KEY = "motorpool_channel_routes"
_NOTIFICATION_FIELDS = tuple(f.name for f in fields(Notification))
_LIST_FIELDS = ("recipients", "roles")
_INSERT = NotificationDelivery.__table__.insert()


@dataclass
class Held:
    """Notifications not sent inside a ``held()`` block, counted by kind."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_HELD: ContextVar[Held | None] = ContextVar("motorpool_notifications_held", default=None)


@contextmanager
def held() -> Iterator[Held]:
    """Queue nothing inside the block; count what would have been queued.

    For writing data that is not news to anyone, such as loading the demo: its hundreds of
    historical assignments would otherwise each tell a technician "assigned to you".
    """
    record = Held()
    token = _HELD.set(record)
    try:
        yield record
    finally:
        _HELD.reset(token)


def holding() -> bool:
    """Whether a ``held()`` block is open: news made now is nobody's (webhook events follow it too)."""
    return _HELD.get() is not None


# --- Channels and their routing ---------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRoute:
    """Where a channel's notifications go: its admin settings, or the defaults (``stored`` False)."""

    name: str
    enabled: bool
    min_severity: str = "info"
    categories: tuple[str, ...] = ()  # empty: every category
    recipient_roles: tuple[str, ...] = ()
    recipient_addresses: tuple[str, ...] = ()
    stored: bool = False
    available: bool = True  # a loaded plugin provides it

    def takes(self, notification: Notification) -> bool:
        """Whether this channel gets a row for ``notification``."""
        if not (self.enabled and self.available):
            return False
        if SEVERITIES.index(notification.severity) < SEVERITIES.index(self.min_severity):
            return False
        # Categories filter alerts only: an assignment or a report has no alert category.
        if self.categories and notification.kind.startswith("alert."):
            return notification.category in self.categories
        return True


def available_notifiers() -> dict[str, Notifier]:
    """Every channel a loaded plugin provides, by name (enabled or not)."""
    return current_app.extensions[EXTENSION_KEY]


def active_channels() -> dict[str, Notifier]:
    """The channels notifications go to now: enabled (setting or admin page) and provided by a plugin."""
    available = available_notifiers()
    return {name: available[name] for name, route in load_routes().items() if route.enabled and route.available}


def missing_channels() -> list[str]:
    """Channels switched on that no loaded plugin provides: their deliveries wait, unsent."""
    return [name for name, route in load_routes().items() if route.enabled and not route.available]


def configured_names() -> list[str]:
    return [n.strip() for n in current_app.config["MOTORPOOL_NOTIFIERS"].split(",") if n.strip()]


def load_routes() -> dict[str, ChannelRoute]:
    """Every known channel's route, read now: provided by a plugin, configured, or stored."""
    available = available_notifiers()
    configured = configured_names()
    table = NotificationChannel.__table__
    stored = {row.name: row for row in db.session.execute(select(
        table.c.name, table.c.enabled, table.c.min_severity, table.c.categories, table.c.recipient_roles,
        table.c.recipient_addresses))}  # plain rows: read on every transaction that notifies
    routes: dict[str, ChannelRoute] = {}
    for name in dict.fromkeys([*available, *configured, *stored]):
        row = stored.get(name)
        if row is None:
            routes[name] = ChannelRoute(name, enabled=name in configured, available=name in available)
        else:
            routes[name] = ChannelRoute(
                name, enabled=row.enabled, min_severity=row.min_severity, categories=tuple(row.categories or ()),
                recipient_roles=tuple(row.recipient_roles or ()),
                recipient_addresses=tuple(row.recipient_addresses or ()), stored=True, available=name in available,
            )
    return routes


def channel_routes() -> dict[str, ChannelRoute]:
    """``load_routes()``, read once per transaction: queuing stays one INSERT per change."""
    session = db.session()  # the real Session: the scoped proxy has no get_transaction()
    current = session.get_transaction()
    cached = session.info.get(_ROUTES_KEY)
    if current is not None and cached is not None and cached[0] is current:
        return cached[1]
    routes = load_routes()
    missing = [r.name for r in routes.values() if r.enabled and not r.available]
    if missing:
        logger.warning("notification channels %s are configured but no enabled plugin provides them", missing)
    session.info[_ROUTES_KEY] = (session.get_transaction(), routes)
    return routes


# --- Queuing ---------------------------------------------------------------------------------


def check(notification: Notification) -> None:
    """Refuse a malformed notification at once: it is a programming error, not bad input."""
    if not isinstance(notification, Notification):
        raise TypeError(f"notify() takes a Notification, not {type(notification).__name__}")
    if notification.severity not in SEVERITIES:
        raise ValueError(f"notification severity must be one of {', '.join(SEVERITIES)}, not {notification.severity!r}")
    if not notification.kind or not notification.subject:
        raise ValueError("a notification needs a kind and a subject")
    for name in _LIST_FIELDS:
        if isinstance(getattr(notification, name), str):
            raise TypeError(f"Notification.{name} must be a list of strings, not one string")
    try:
        json.dumps(dict(notification.data))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Notification.data must be JSON-serialisable: {exc}") from None


def serialise(notification: Notification, route: ChannelRoute | None = None) -> dict[str, Any]:
    """Every field of the notification as JSON; the route's extra recipients are added."""
    values = {name: getattr(notification, name) for name in _NOTIFICATION_FIELDS}
    values["recipients"] = list(dict.fromkeys([*notification.recipients, *(route.recipient_addresses if route else ())]))
    values["roles"] = list(dict.fromkeys([*notification.roles, *(route.recipient_roles if route else ())]))
    values["data"] = dict(notification.data)
    return values


def deserialise(values: Mapping[str, Any]) -> Notification:
    known = {name: values[name] for name in _NOTIFICATION_FIELDS if name in values}
    for name in _LIST_FIELDS:
        known[name] = tuple(known.get(name) or ())
    return Notification(**known)


def notify(notification: Notification) -> None:
    """Queue ``notification`` on every channel routed to take it, in the current transaction.

    Joins the caller's ``transaction()`` (opens one when none is open): the rows commit or
    roll back with the change that caused them. A malformed notification raises at once.
    """
    check(notification)
    record = _HELD.get()
    if record is not None:
        record.counts[notification.kind] = record.counts.get(notification.kind, 0) + 1
        return
    with transaction():
        routes = [route for route in channel_routes().values() if route.takes(notification)]
        if not routes:
            return
        now, by = utcnow(), actors.audit_actor_id()
        rows = [
            {
                "public_id": str(uuid.uuid4()), "channel": route.name, "kind": notification.kind,
                "severity": notification.severity, "category": notification.category,
                "dispatch_number": notification.dispatch_number, "notification": serialise(notification, route),
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now, "updated_at": now,
                "created_by_id": by, "updated_by_id": by,
            }
            for route in routes
        ]
        # One INSERT statement, compiled once and cached, with a parameter set per channel.
        db.session.execute(_INSERT, rows)


def assignment_notice(dispatch: Any, technician: Any, metric: Any = None) -> Notification:
    """The "assigned to you" message a technician gets for each assignment."""
    eta = ""
    if metric is not None and metric.estimated_completion_hours is not None:
        eta = f" Estimated completion in {metric.estimated_completion_hours:.1f} h."
    return Notification(
        kind="dispatch.assigned",
        subject=f"Dispatch {dispatch.dispatch_number} assigned to you",
        body=f"{dispatch.title} ({dispatch.priority}).{eta}",
        recipients=[technician.email],
        severity="warning" if dispatch.priority in ("High", "Critical") else "info",
        dispatch_number=dispatch.dispatch_number,
        data={"dispatch_number": dispatch.dispatch_number, "technician_id": technician.id,
              "priority": dispatch.priority},
    )


# --- Admins' channel settings ------------------------------------------------------------------

FALLBACK_CATEGORY = "fallback_routing"  # the immediate alert when fallback routing is used
MAX_ADDRESSES = 50
_ADDRESS = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def known_categories() -> list[str]:
    """Alert categories a channel can be limited to: every registered check, and fallback routing."""
    from app.services.alert_checks import registered_checks

    return [*sorted(registered_checks()), FALLBACK_CATEGORY]


def parse_addresses(text: str) -> list[str]:
    """Addresses typed one per line or separated by commas, lower-cased, duplicates dropped."""
    parts = re.split(r"[\s,;]+", text or "")
    return list(dict.fromkeys(part.strip().lower() for part in parts if part.strip()))


def save_channel(name: str, *, enabled: bool, min_severity: str, categories: list[str], roles: list[str],
                 addresses: list[str]) -> NotificationChannel:
    """Store an admin's routing of channel ``name``; every refused value is named at once, nothing saved."""
    from app.models import Role

    problems = Problems()
    routes = load_routes()
    if name not in routes:
        raise NotFound(f"There is no channel {name!r}; choose one of {', '.join(routes) or 'none'}.")
    if min_severity not in SEVERITIES:
        problems.errors.append(ValidationError(
            f"Minimum severity {min_severity!r} is not one of {', '.join(SEVERITIES)}; choose one of them.",
            field="min_severity"))
    unknown = [c for c in categories if c not in known_categories()]
    if unknown:
        problems.errors.append(ValidationError(
            f"Unknown categories: {', '.join(map(repr, unknown))}; tick only the categories listed.", field="categories"))
    bad_roles = [r for r in roles if r not in {role.value for role in Role}]
    if bad_roles:
        problems.errors.append(ValidationError(
            f"Unknown roles: {', '.join(map(repr, bad_roles))}; choose admin, manager or technician.", field="roles"))
    bad = [a for a in addresses if len(a) > 254 or not _ADDRESS.match(a)]
    if bad:
        problems.errors.append(ValidationError(
            f"Not email addresses: {', '.join(map(repr, bad[:5]))}; write one address like name@example.com per line.",
            field="addresses"))
    elif len(addresses) > MAX_ADDRESSES:
        problems.errors.append(ValidationError(
            f"{len(addresses)} addresses is too many; give at most {MAX_ADDRESSES} (send to a role or a list address).",
            field="addresses"))
    problems.raise_any()
    with transaction():
        row = db.session.scalar(select(NotificationChannel).where(NotificationChannel.name == name))
        if row is None:
            row = NotificationChannel(name=name)
            db.session.add(row)
        row.enabled, row.min_severity = enabled, min_severity
        row.categories = [c for c in known_categories() if c in categories]
        row.recipient_roles = [r.value for r in Role if r.value in roles]
        row.recipient_addresses = list(addresses)
        db.session.flush()
        db.session.info.pop(_ROUTES_KEY, None)  # the next notification routes by the new settings
    return row


def channel_changes() -> dict[str, tuple[str | None, Any]]:
    """Who last changed each stored channel, and when (one query)."""
    from app.models import User

    rows = db.session.execute(
        select(NotificationChannel.name, User.name, NotificationChannel.updated_at)
        .outerjoin(User, User.id == NotificationChannel.updated_by_id)
    ).all()
    return {name: (who, when) for name, who, when in rows}
