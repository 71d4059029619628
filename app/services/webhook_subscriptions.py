"""Webhook subscriptions: integrations told of events as they happen, each request signed.

An admin subscribes a URL to event types of the catalogue (``events_feed.EVENT_TYPES``).
``publish`` is called where each event happens, inside the transaction of the change: it
writes one ``notification_deliveries`` row per active subscription that takes the type, on
channel ``subscription`` and naming the subscription, so a rolled-back change sends
nothing and a committed one is never lost. The delivery worker sends those rows like any
other (lease, retries with backoff, dead letters) through ``SubscriptionSender``, which
signs each request per Standard Webhooks 1.0 with the subscription's own secret.

Channel ``subscription`` is no notifier of the plugin registry: notification routing never
sends a notification to a subscription, and a subscription's events never reach the
ordinary channels (docs/webhooks.md).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import DeliveryStatus, NotificationDelivery, User, WebhookSubscription, utcnow
from app.plugins.builtin.webhooks import HttpChannel, signature_headers
from app.plugins.contracts import DeliveryAttempt, Notification, PermanentDeliveryError
from app.services import actors, notifications
from app.services.delivery_worker import SUBSCRIPTION_CHANNEL
from app.services.errors import NotFound, Problems, ValidationError
from app.services.events_feed import EVENT_TYPES, TEST_EVENT, actor_of, iso
from app.services.queries import Page
from app.services.transaction import transaction
from app.services.webhook_urls import check_url, private_address_of

logger = logging.getLogger(__name__)

CHANNEL = SUBSCRIPTION_CHANNEL  # also reserved: no plugin may name a notifier so (app.RESERVED_NAMES)
SECRET_PREFIX = "whsec_"
URL_LIMIT = 500
DESCRIPTION_LIMIT = 200
_CACHE_KEY = "motorpool_active_subscriptions"
_INSERT = NotificationDelivery.__table__.insert()
Row = NotificationDelivery


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64 (256 bits, the HMAC key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


# --- Managing subscriptions ------------------------------------------------------------------


def _check_url(url: str, problems: Problems) -> str:
    text = (url or "").strip()
    if not text:
        problems.errors.append(ValidationError("Give the URL to send events to, such as "
                                               "https://hooks.example.com/motorpool.", field="url"))
        return text
    if len(text) > URL_LIMIT:
        problems.errors.append(ValidationError(
            f"The URL is {len(text)} characters long; give one of at most {URL_LIMIT}.", field="url"))
        return text
    wrong = check_url(text)
    if wrong is None and any(ord(c) < 33 or ord(c) == 127 for c in text):
        wrong = "must not contain spaces or control characters"
    if wrong is not None:
        problems.errors.append(ValidationError(f"The URL {wrong}.", field="url"))
        return text
    if current_app.config.get("MOTORPOOL_WEBHOOK_REFUSE_PRIVATE"):
        try:
            address = private_address_of(text)
        except OSError as error:
            problems.errors.append(ValidationError(
                f"The URL's host could not be resolved ({error}); check the host name.", field="url"))
            return text
        if address is not None:
            problems.errors.append(ValidationError(
                f"The URL's host resolves to {address}, a loopback, private or link-local address, which "
                "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE forbids; give a public address.", field="url"))
    return text


def _check_types(event_types: Any, problems: Problems) -> list[str]:
    if isinstance(event_types, str):
        event_types = event_types.split(",")  # "dispatch.created,alert.raised", as a query string has it
    chosen = [str(t).strip() for t in (event_types or []) if str(t).strip()]
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        problems.errors.append(ValidationError(
            f"Unknown event types: {', '.join(repr(t[:60]) for t in unknown[:5])}; choose from "
            f"{', '.join(EVENT_TYPES)}.", field="event_types"))
    elif not chosen:
        problems.errors.append(ValidationError("Choose at least one event type to send.", field="event_types"))
    return [t for t in EVENT_TYPES if t in chosen]


def _check_description(description: Any, problems: Problems) -> str:
    text = (description or "").strip()
    if len(text) > DESCRIPTION_LIMIT:
        problems.errors.append(ValidationError(
            f"The description is {len(text)} characters long; keep it to {DESCRIPTION_LIMIT}.", field="description"))
    elif any(ord(c) < 32 or ord(c) == 127 for c in text):
        problems.errors.append(ValidationError(
            "The description must be one line of text, without control characters.", field="description"))
    return text


def _forget_cache() -> None:
    db.session.info.pop(_CACHE_KEY, None)


def create_subscription(*, url: str, event_types: list[str], description: str = "") -> tuple[WebhookSubscription, str]:
    """A new active subscription, and its secret (shown to the admin this once); or nothing and why."""
    problems = Problems()
    url = _check_url(url, problems)
    types = _check_types(event_types, problems)
    description = _check_description(description, problems)
    problems.raise_any()
    secret = new_secret()
    with transaction():
        subscription = WebhookSubscription(url=url, description=description, event_types=types, secret=secret,
                                           active=True, owner_id=actors.audit_actor_id())
        db.session.add(subscription)
        db.session.flush()
        _forget_cache()
    logger.info("webhook subscription %s created for %s", subscription.id, ", ".join(types))
    return subscription, secret


def get_subscription(subscription_id: Any) -> WebhookSubscription:
    subscription = None
    if isinstance(subscription_id, int) and not isinstance(subscription_id, bool) and 0 < subscription_id < 2**31:
        subscription = db.session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(f"There is no webhook subscription #{subscription_id}; it may have been deleted.")
    return subscription


def set_active(subscription_id: int, active: bool) -> WebhookSubscription:
    """Pause (nothing is queued for it, queued deliveries dead-letter when due) or resume."""
    with transaction():
        subscription = get_subscription(subscription_id)
        if subscription.active == active:
            raise ValidationError(f"Subscription #{subscription.id} is already {'active' if active else 'paused'}.",
                                  field="active")
        subscription.active = active
        db.session.flush()
        _forget_cache()
    return subscription


def update_subscription(subscription_id: int, *, url: str | None = None, event_types: list[str] | None = None,
                        description: str | None = None, active: bool | None = None) -> WebhookSubscription:
    """Change what was given (URL, types, description, paused or active) by the rules of creation;
    every refusal is named at once and nothing changes."""
    problems = Problems()
    checked_url = None if url is None else _check_url(url, problems)
    types = None if event_types is None else _check_types(event_types, problems)
    checked_description = None if description is None else _check_description(description, problems)
    problems.raise_any()
    with transaction():
        subscription = get_subscription(subscription_id)
        if checked_url is not None:
            subscription.url = checked_url
        if types is not None:
            subscription.event_types = types
        if checked_description is not None:
            subscription.description = checked_description
        if active is not None:
            subscription.active = active
        db.session.flush()
        _forget_cache()
    return subscription


def rotate_secret(subscription_id: int) -> tuple[WebhookSubscription, str]:
    """A new secret at once (the old one stops verifying); returned to be shown this once."""
    secret = new_secret()
    with transaction():
        subscription = get_subscription(subscription_id)
        subscription.secret = secret
        subscription.secret_rotated_at = utcnow()
        db.session.flush()
    return subscription, secret


def delete_subscription(subscription_id: int) -> str:
    """Delete the subscription with its deliveries (its log and anything still queued); returns its URL."""
    with transaction():
        subscription = get_subscription(subscription_id)
        url = subscription.url
        # Explicit, not left to ON DELETE CASCADE alone: the same on both databases. A worker
        # sending one right now records nothing afterwards (its row is gone).
        db.session.query(Row).filter(Row.subscription_id == subscription.id).delete(synchronize_session=False)
        db.session.delete(subscription)
        db.session.flush()
        _forget_cache()
    return url


def send_test(subscription_id: int) -> NotificationDelivery:
    """Queue a ``webhook.test`` event for this subscription only, whatever its types."""
    with transaction():
        subscription = get_subscription(subscription_id)
        if not subscription.active:
            raise ValidationError(f"Subscription #{subscription.id} is paused; resume it to send a test event.",
                                  field="active")
        actor = db.session.get(User, actors.audit_actor_id()) if actors.audit_actor_id() else None
        payload = _payload(TEST_EVENT, utcnow(), None, actor,
                           {"subscription_id": subscription.id,
                            "message": "A test event from Motorpool: the signature verifies with your secret."})
        public_id = _enqueue([subscription.id], TEST_EVENT, None, payload)[0]
    return db.session.scalar(select(Row).where(Row.public_id == public_id))


# --- Reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionView:
    """A subscription with its last delivery, for the list (never its secret)."""

    subscription: WebhookSubscription
    owner_name: str | None
    last_delivery: NotificationDelivery | None
    dead: int

    @property
    def status(self) -> str:
        return "active" if self.subscription.active else "paused"


def list_subscriptions() -> list[SubscriptionView]:
    """Every subscription, oldest first, with its last delivery and dead count: three queries."""
    subscriptions = list(db.session.execute(
        select(WebhookSubscription, User.name).outerjoin(User, User.id == WebhookSubscription.owner_id)
        .order_by(WebhookSubscription.id)).all())
    if not subscriptions:
        return []
    last_ids = select(func.max(Row.id)).where(Row.subscription_id.is_not(None)).group_by(Row.subscription_id)
    last = {row.subscription_id: row for row in db.session.scalars(select(Row).where(Row.id.in_(last_ids)))}
    dead = dict(db.session.execute(
        select(Row.subscription_id, func.count()).where(Row.subscription_id.is_not(None), Row.status == "dead")
        .group_by(Row.subscription_id)).all())
    return [SubscriptionView(sub, owner, last.get(sub.id), dead.get(sub.id, 0)) for sub, owner in subscriptions]


def delivery_log(subscription_id: int, *, page: int = 1, per_page: int = 50) -> Page[NotificationDelivery]:
    """One page of a subscription's deliveries, newest first: two queries."""
    get_subscription(subscription_id)
    query = select(Row).where(Row.subscription_id == subscription_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    items = db.session.scalars(query.order_by(Row.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


#: A delivery's public id as ``_enqueue`` writes it (``str(uuid.uuid4())``).
PUBLIC_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def retry_delivery(subscription_id: int, public_id: str) -> NotificationDelivery:
    """Send one of this subscription's dead or waiting deliveries again now, with fresh tries."""
    from app.services import delivery_worker

    subscription = get_subscription(subscription_id)
    # Only an id exactly as the log gives it is looked up: a NUL would be refused by PostgreSQL's
    # driver (a 400 there, a 404 on SQLite), and a cut or trimmed one names some other text.
    owner = None
    if PUBLIC_ID.fullmatch(public_id or ""):
        owner = db.session.scalar(select(Row.subscription_id).where(Row.public_id == public_id))
    if owner != subscription.id:
        raise NotFound(f"Subscription #{subscription.id} has no delivery {public_id[:40]!r}; pick one from its log.")
    if not subscription.active:
        raise ValidationError(f"Subscription #{subscription.id} is paused; resume it before retrying its deliveries.",
                              field="active")
    return delivery_worker.retry_now(public_id)


# --- Publishing events -------------------------------------------------------------------------


def _active() -> list[tuple[int, tuple[str, ...]]]:
    """Active subscriptions and their types, read once per transaction."""
    session = db.session()
    current = session.get_transaction()
    cached = session.info.get(_CACHE_KEY)
    if current is not None and cached is not None and cached[0] is current:
        return cached[1]
    table = WebhookSubscription.__table__
    found = [(row.id, tuple(row.event_types or ())) for row in db.session.execute(
        select(table.c.id, table.c.event_types).where(table.c.active.is_(True)).order_by(table.c.id))]
    session.info[_CACHE_KEY] = (session.get_transaction(), found)
    return found


def _payload(event_type: str, occurred_at: datetime, dispatch_number: str | None, actor: Any,
             data: dict[str, Any]) -> dict[str, Any]:
    # Standard Webhooks' envelope, as the generic webhook channel sends.
    return {"type": event_type, "timestamp": iso(occurred_at),
            "data": {"dispatch_number": dispatch_number, "actor": actor_of(actor), **data}}


def _enqueue(subscription_ids: list[int], event_type: str, dispatch_number: str | None,
             payload: dict[str, Any]) -> list[str]:
    now, by = utcnow(), actors.audit_actor_id()
    subject = f"{event_type}" + (f" {dispatch_number}" if dispatch_number else "")
    rows = []
    for subscription_id in subscription_ids:
        notification = Notification(kind=event_type, subject=subject, body="", dispatch_number=dispatch_number,
                                    data={"subscription_id": subscription_id, "payload": payload})
        rows.append({
            "public_id": str(uuid.uuid4()), "channel": CHANNEL, "kind": event_type, "severity": "info",
            "category": None, "dispatch_number": dispatch_number, "notification": notifications.serialise(notification),
            "status": DeliveryStatus.PENDING.value, "attempts": 0, "next_attempt_at": now, "created_at": now,
            "updated_at": now, "created_by_id": by, "updated_by_id": by, "subscription_id": subscription_id,
        })
    db.session.execute(_INSERT, rows)  # one INSERT, a parameter set per subscription
    return [row["public_id"] for row in rows]


ACTING_USER = object()  # publish's default actor: whoever acts now


def publish(event_type: str, *, data: dict[str, Any] | Callable[[], dict[str, Any]],
            dispatch_number: str | None = None, actor: Any = ACTING_USER, occurred_at: datetime | None = None) -> int:
    """Queue ``event_type`` for every active subscription that takes it, in the current transaction.

    ``data`` may be a function: it is called only when some subscription takes the event, so
    a change nobody subscribed to costs one cached read per transaction and nothing else.
    Returns how many deliveries were queued. Nothing is queued inside ``notifications.held()``
    (loading the demo's history is nobody's news). An unknown type is a programming error.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"{event_type!r} is not in the webhook event catalogue")
    if notifications.holding():
        return 0
    with transaction():
        targets = [sid for sid, types in _active() if event_type in types]
        if not targets:
            return 0
        if actor is ACTING_USER:
            acting_id = actors.audit_actor_id()
            actor = db.session.get(User, acting_id) if acting_id is not None else None
        payload = _payload(event_type, occurred_at or utcnow(), dispatch_number, actor,
                           data() if callable(data) else dict(data))
        json.dumps(payload)  # refuse a payload that could not be sent, now rather than in the worker
        _enqueue(targets, event_type, dispatch_number, payload)
    return len(targets)


def dispatch_data(dispatch: Any) -> dict[str, Any]:
    """A work order as events describe it."""
    asset = dispatch.asset
    technician = dispatch.assigned_user
    return {
        "number": dispatch.dispatch_number, "title": dispatch.title, "status": dispatch.status,
        "priority": dispatch.priority, "work_type": dispatch.work_type, "due_date": iso(dispatch.due_date),
        "asset_tag": asset.asset_tag if asset is not None else None,
        "assigned_technician": {"id": technician.id, "name": technician.name} if technician is not None else None,
    }


# --- Sending -----------------------------------------------------------------------------------


class SubscriptionSender(HttpChannel):
    """Sends a subscription's delivery: to its URL, signed with its secret, read at send time.

    Read at send time so a rotated secret signs every retry from then on, and a paused or
    deleted subscription is not sent to.
    """

    name = CHANNEL
    url_setting = ""

    def payload(self, notification: Notification, attempt: DeliveryAttempt) -> dict[str, Any]:
        return dict(notification.data.get("payload") or {})

    def send(self, notification: Notification, attempt: DeliveryAttempt) -> None:
        subscription_id = notification.data.get("subscription_id")
        table = WebhookSubscription.__table__
        found = db.session.execute(select(table.c.url, table.c.secret, table.c.active)
                                   .where(table.c.id == subscription_id)).first()
        if not db.session.info.get("motorpool_transaction_depth"):
            db.session.rollback()  # ends the read: no transaction is held open while sending
        if found is None:
            raise PermanentDeliveryError(f"webhook subscription #{subscription_id} was deleted")
        if not found.active and notification.kind != TEST_EVENT:
            raise PermanentDeliveryError(
                f"webhook subscription #{subscription_id} is paused; resume it and retry this delivery from its log")
        body = json.dumps(self.payload(notification, attempt), ensure_ascii=False, separators=(",", ":"))
        self.post(body, signature_headers(found.secret, attempt.delivery_id, body), url=found.url)

    def probe(self) -> None:
        """Each subscription has its own URL: nothing to check for the channel as a whole."""


SENDER_KEY = "motorpool.subscription_sender"


def sender() -> SubscriptionSender:
    """The app's one sender (its HTTP client keeps connections alive across deliveries)."""
    return current_app.extensions.setdefault(SENDER_KEY, SubscriptionSender())


def record_outcomes(outcomes: list[tuple[int, bool, datetime, str | None]]) -> None:
    """The last success or failure on each subscription, from the worker's recorded outcomes."""
    table = WebhookSubscription.__table__
    for subscription_id, ok, when, error in outcomes:
        values = {"last_success_at": when} if ok else {"last_failure_at": when, "last_error": error}
        db.session.execute(update(table).where(table.c.id == subscription_id).values(**values))
