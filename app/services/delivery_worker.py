"""The delivery worker: claims due delivery rows, sends them, records what happened.

A claim is a lease: the row turns ``sending`` until ``lease_until``; a worker killed
mid-send leaves it there, and once the lease has expired any worker claims it again and
sends it with the same delivery id (at-least-once; receivers de-duplicate). Claims are a
short transaction of their own — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one
conditional ``UPDATE`` per row on SQLite — and sending happens outside any transaction.
Each try is counted when it is claimed, so a notification that kills its worker still
ends as a dead letter instead of being retried for ever.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, bindparam, func, or_, select, update

from app.config import parse_backoff
from app.extensions import db
from app.models import DeliveryStatus, NotificationDelivery, utcnow
from app.plugins.contracts import DeliveryAttempt, PermanentDeliveryError, RetryableDeliveryError
from app.services import actors, notifications
from app.services.errors import ConcurrentUpdate, NotFound, ValidationError
from app.services.queries import Page
from app.services.transaction import require_own_transactions, transaction

logger = logging.getLogger(__name__)

SUBSCRIPTION_CHANNEL = "subscription"  # webhook subscriptions' deliveries (app.services.webhook_subscriptions)
ERROR_LIMIT = 2000  # characters of an error kept on the row
UNAVAILABLE_WAIT_S = 60.0  # a channel no plugin provides right now is looked at again after this
_TAKES_ATTEMPT_KEY = "motorpool.notifier_takes_attempt"

Row = NotificationDelivery
PENDING, SENDING, DELIVERED, DEAD = (s.value for s in DeliveryStatus)


@dataclass
class WorkReport:
    """What one ``deliver_due`` call did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0  # failed, another try is scheduled
    dead: int = 0
    deferred: int = 0  # channel not available here; looked at again later, no try counted
    errors: list[str] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return self.claimed == 0


@dataclass(frozen=True)
class _Claimed:
    id: int
    public_id: str
    channel: str
    notification: dict[str, Any]
    attempts: int
    created_at: datetime
    subscription_id: int | None = None


def worker_name() -> str:
    """Who holds a claim: host, process and thread, so the log says which worker it was."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"[:100]


def backoff_schedule() -> tuple[float, ...]:
    return parse_backoff(current_app.config["MOTORPOOL_DELIVERY_BACKOFF"])


def max_attempts() -> int:
    """The first try plus one per step of the schedule."""
    return len(backoff_schedule()) + 1


def retry_delay(attempts: int, retry_after: float | None = None, *, rng: random.Random | None = None) -> float:
    """Seconds before the next try after ``attempts`` failed tries: the schedule's step, jittered.

    ``retry_after`` (the receiver's ``Retry-After``) is the minimum.
    """
    schedule = backoff_schedule()
    step = schedule[min(max(attempts, 1), len(schedule)) - 1]
    jitter = float(current_app.config["MOTORPOOL_DELIVERY_JITTER"])
    delay = step * (rng or random).uniform(1 - jitter, 1 + jitter)
    return max(delay, float(retry_after)) if retry_after is not None else delay


# --- Claiming ---------------------------------------------------------------------------------


def _due(now: datetime):
    return or_(
        and_(Row.status == PENDING, Row.next_attempt_at <= now),
        and_(Row.status == SENDING, Row.lease_until < now),
    )


def _claim(limit: int, worker: str, now: datetime) -> list[_Claimed]:
    lease_until = now + timedelta(seconds=float(current_app.config["MOTORPOOL_DELIVERY_LEASE_SECONDS"]))
    claim = {"status": SENDING, "lease_until": lease_until, "claimed_by": worker, "attempts": Row.attempts + 1,
             "updated_at": now}
    session = db.session
    columns = (Row.id, Row.public_id, Row.channel, Row.notification, Row.attempts, Row.created_at, Row.subscription_id)
    with transaction():
        if session.get_bind().dialect.name == "postgresql":
            ids = list(session.scalars(
                select(Row.id).where(_due(now)).order_by(Row.next_attempt_at, Row.id).limit(limit)
                .with_for_update(skip_locked=True)
            ))
            if ids:
                session.execute(update(Row).where(Row.id.in_(ids)).values(**claim), execution_options={
                    "synchronize_session": False})
        else:
            candidates = list(session.scalars(
                select(Row.id).where(_due(now)).order_by(Row.next_attempt_at, Row.id).limit(limit)
            ))
            ids = []
            for row_id in candidates:
                # Claimed only if still due: another worker may have taken it since the SELECT.
                result = session.execute(
                    update(Row).where(Row.id == row_id, _due(now)).values(**claim),
                    execution_options={"synchronize_session": False},
                )
                if result.rowcount == 1:
                    ids.append(row_id)
        rows = session.execute(select(*columns).where(Row.id.in_(ids)).order_by(Row.id)).all() if ids else []
    return [_Claimed(*row) for row in rows]


# --- Sending ----------------------------------------------------------------------------------


def _takes_attempt(notifier: Any) -> bool:
    """Whether ``notifier.send`` accepts the attempt; looked up once per notifier."""
    cache: dict[int, tuple[Any, bool]] = current_app.extensions.setdefault(_TAKES_ATTEMPT_KEY, {})
    known = cache.get(id(notifier))
    if known is not None and known[0] is notifier:
        return known[1]
    try:
        inspect.signature(notifier.send).bind(None, None)
        takes = True
    except TypeError:
        takes = False
    except ValueError:  # no signature to read (a builtin): give it the attempt
        takes = True
    cache[id(notifier)] = (notifier, takes)
    return takes


def _error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 1] + "…"


_OUTCOME = (
    Row.__table__.update()
    .where(Row.__table__.c.id == bindparam("o_id"), Row.__table__.c.status == SENDING,
           Row.__table__.c.claimed_by == bindparam("o_worker"))
    .values(status=bindparam("o_status"), attempts=bindparam("o_attempts"),
            next_attempt_at=bindparam("o_next_attempt_at"), lease_until=None, claimed_by=bindparam("o_claimed_by"),
            last_error=bindparam("o_last_error"), delivered_at=bindparam("o_delivered_at"),
            updated_at=bindparam("o_updated_at"))
)
FLUSH_EVERY = 25  # outcomes recorded together, at most this many ...
FLUSH_AFTER_S = 0.5  # ... or this long after the oldest unrecorded one


def _outcome(claimed: _Claimed, worker: str, *, status: str, attempts: int | None = None,
             next_attempt_at: datetime | None = None, claimed_by: str | None = "", last_error: str | None = None,
             delivered_at: datetime | None = None) -> dict[str, Any]:
    now = utcnow()
    return {
        "o_subscription_id": claimed.subscription_id,
        "o_id": claimed.id, "o_worker": worker, "o_status": status,
        "o_attempts": claimed.attempts if attempts is None else attempts,
        "o_next_attempt_at": next_attempt_at or now, "o_claimed_by": worker if claimed_by == "" else claimed_by,
        "o_last_error": last_error, "o_delivered_at": delivered_at, "o_updated_at": now,
    }


def _record(outcomes: list[dict[str, Any]]) -> None:
    """Record outcomes in one short transaction, each only if this worker still holds the row.

    A worker whose lease ran out and whose row another worker claimed since changes nothing.
    """
    if not outcomes:
        return
    # A subscription's last success or failure (a delivered row, or one that failed a try).
    subscribed = [(o["o_subscription_id"], o["o_status"] == DELIVERED, o["o_updated_at"], o["o_last_error"])
                  for o in outcomes
                  if o["o_subscription_id"] is not None and (o["o_status"] == DELIVERED or o["o_last_error"])]
    with transaction():
        db.session.execute(_OUTCOME, [{k: v for k, v in o.items() if k != "o_subscription_id"} for o in outcomes])
        if subscribed:
            from app.services.webhook_subscriptions import record_outcomes

            record_outcomes(subscribed)
    outcomes.clear()


def _finish(claimed: _Claimed, worker: str, **values: Any) -> None:
    _record([_outcome(claimed, worker, **values)])


def _send_one(claimed: _Claimed, worker: str, report: WorkReport) -> dict[str, Any]:
    """Send one claimed row; returns its outcome, to be recorded."""
    if claimed.channel == SUBSCRIPTION_CHANNEL:
        # Not a notifier of the registry: routing never sends notifications to subscriptions.
        from app.services.webhook_subscriptions import sender

        notifier = sender()
    else:
        notifier = notifications.available_notifiers().get(claimed.channel)
    if notifier is None:
        # Not lost: the try is given back and the row waits for a worker that has the channel.
        report.deferred += 1
        return _outcome(claimed, worker, status=PENDING, attempts=claimed.attempts - 1, claimed_by=None,
                        next_attempt_at=utcnow() + timedelta(seconds=UNAVAILABLE_WAIT_S),
                        last_error=f"channel {claimed.channel!r} is not available: no enabled plugin provides it")
    notification = notifications.deserialise(claimed.notification)
    attempt = DeliveryAttempt(claimed.public_id, claimed.channel, claimed.attempts, claimed.created_at)
    try:
        if _takes_attempt(notifier):
            notifier.send(notification, attempt)
        else:
            notifier.send(notification)
    except Exception as exc:
        error = _error_text(exc)
        report.errors.append(f"{claimed.public_id} ({claimed.channel}): {error}")
        permanent = isinstance(exc, PermanentDeliveryError)
        if permanent or claimed.attempts >= max_attempts():
            report.dead += 1
            logger.error("delivery %s on %s is dead after %d tries: %s", claimed.public_id, claimed.channel,
                         claimed.attempts, error)
            return _outcome(claimed, worker, status=DEAD, last_error=error)
        retry_after = exc.retry_after if isinstance(exc, RetryableDeliveryError) else None
        delay = retry_delay(claimed.attempts, retry_after)
        report.retried += 1
        logger.warning("delivery %s on %s failed (try %d), next in %.0f s: %s", claimed.public_id, claimed.channel,
                       claimed.attempts, delay, error)
        return _outcome(claimed, worker, status=PENDING, last_error=error,
                        next_attempt_at=utcnow() + timedelta(seconds=delay))
    report.delivered += 1
    return _outcome(claimed, worker, status=DELIVERED, delivered_at=utcnow())


def deliver_due(*, limit: int = 100, worker: str | None = None) -> WorkReport:
    """Claim up to ``limit`` due deliveries and send each; never raises for a failed send.

    A failure is recorded on its row (``last_error``) and retried or dead-lettered; the
    strict plugin mode of the tests does not change that, tests read the rows. Outcomes are
    recorded a few at a time (``FLUSH_EVERY``, ``FLUSH_AFTER_S``): a worker killed before
    recording one leaves its row to be sent again when the lease expires, never lost.
    """
    require_own_transactions("deliver_due")
    worker = worker or worker_name()
    report = WorkReport()
    try:
        claimed = _claim(limit, worker, utcnow())
    except ConcurrentUpdate:
        return report  # another worker holds the SQLite write lock: try again next round
    report.claimed = len(claimed)
    outcomes: list[dict[str, Any]] = []
    oldest = 0.0
    try:
        for item in claimed:
            outcomes.append(_send_one(item, worker, report))
            if len(outcomes) == 1:
                oldest = time.monotonic()
            if len(outcomes) >= FLUSH_EVERY or time.monotonic() - oldest >= FLUSH_AFTER_S:
                _record(outcomes)
    finally:
        _record(outcomes)
    return report


# --- Running ----------------------------------------------------------------------------------


def run_worker(stop: threading.Event | None = None, *, limit: int = 100, worker: str | None = None,
               poll_seconds: float | None = None) -> None:
    """Deliver until ``stop`` is set, SIGTERM arrives or Ctrl-C; sleeps ``poll_seconds`` when idle.

    A stop request lets the current send finish and its outcome be recorded: nothing is
    left half-done beyond what a lease covers anyway.
    """
    stop = stop or threading.Event()
    poll = float(poll_seconds if poll_seconds is not None else current_app.config["MOTORPOOL_DELIVERY_POLL_SECONDS"])
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    logger.info("delivery worker %s started", worker or worker_name())
    try:
        while not stop.is_set():
            try:
                report = deliver_due(limit=limit, worker=worker)
            except Exception:
                # The database went away, say: log it and keep the worker alive.
                logger.exception("delivery round failed; trying again in %.1f s", poll)
                db.session.rollback()
                report = WorkReport()
            finally:
                db.session.remove()  # no connection or stale objects held while idle
            if report.idle:
                stop.wait(poll)
    except KeyboardInterrupt:
        pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        logger.info("delivery worker %s stopped", worker or worker_name())


# --- Dead letters -----------------------------------------------------------------------------


def retry_now(public_id: str) -> NotificationDelivery:
    """Send a dead or waiting delivery again at once, with a fresh set of tries."""
    text = (public_id or "").strip()
    try:
        uuid.UUID(text)  # also keeps a NUL or other junk from reaching the database
    except ValueError:
        raise NotFound(f"There is no delivery {public_id!r}; copy its id from the delivery log.") from None
    with transaction():
        row = db.session.scalar(select(Row).where(Row.public_id == text))
        if row is None:
            raise NotFound(f"There is no delivery {public_id!r}; copy its id from the delivery log.")
        if row.status not in (DEAD, PENDING):
            raise ValidationError(
                f"Delivery {row.public_id} is {row.status}; only dead or waiting deliveries can be retried."
            )
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, utcnow()
        row.lease_until = row.claimed_by = None
    return row


def retry_all_dead() -> int:
    """Every dead letter back to pending, due now; returns how many."""
    with transaction():
        result = db.session.execute(
            update(Row).where(Row.status == DEAD)
            .values(status=PENDING, attempts=0, next_attempt_at=utcnow(), lease_until=None, claimed_by=None,
                    updated_at=utcnow(), updated_by_id=actors.audit_actor_id()),
            execution_options={"synchronize_session": False},
        )
    return result.rowcount




def delivery_page(*, status: str | None = None, channel: str | None = None, page: int = 1,
                  per_page: int = 50) -> Page[NotificationDelivery]:
    """One page of the delivery log, newest first: two queries whatever its size."""
    query = select(Row)
    if status:
        query = query.where(Row.status == status)
    if channel:
        query = query.where(Row.channel == channel)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    items = db.session.scalars(
        query.order_by(Row.created_at.desc(), Row.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def status_counts() -> dict[str, int]:
    """How many deliveries are in each state (one query)."""
    counts = dict(db.session.execute(select(Row.status, func.count()).group_by(Row.status)).all())
    return {status: counts.get(status, 0) for status in (PENDING, SENDING, DELIVERED, DEAD)}
