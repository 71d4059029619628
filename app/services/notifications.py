"""Sends notifications through every active channel; one failing channel never stops the others."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from flask import current_app

from app.plugins.contracts import Notification, Notifier

logger = logging.getLogger(__name__)
EXTENSION_KEY = "motorpool.notifiers"


@dataclass(frozen=True)
class Delivery:
    channel: str
    delivered: bool
    error: str | None = None


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
    """Send nothing inside the block; count what would have been sent.

    For writing data that is not news to anyone, such as loading the demo: its hundreds of
    historical assignments would otherwise each tell a technician "assigned to you".
    """
    record = Held()
    token = _HELD.set(record)
    try:
        yield record
    finally:
        _HELD.reset(token)


def active_channels() -> dict[str, Notifier]:
    available: dict[str, Notifier] = current_app.extensions[EXTENSION_KEY]
    wanted = [n.strip() for n in current_app.config["MOTORPOOL_NOTIFIERS"].split(",") if n.strip()]
    missing = [name for name in wanted if name not in available]
    if missing:
        logger.warning("notification channels %s are configured but no enabled plugin provides them", missing)
    return {name: available[name] for name in wanted if name in available}


def notify(notification: Notification) -> list[Delivery]:
    """Deliver on every active channel; failures are logged and reported, never raised.

    Strict plugin mode (the test suite) raises instead, so a broken channel is noticed.
    """
    record = _HELD.get()
    if record is not None:
        record.counts[notification.kind] = record.counts.get(notification.kind, 0) + 1
        return []
    deliveries = []
    for name, channel in active_channels().items():
        try:
            channel.send(notification)
        except Exception as exc:
            if current_app.config.get("MOTORPOOL_STRICT_PLUGINS") and not current_app.config.get(
                "MOTORPOOL_TOLERATE_NOTIFIER_FAILURES"
            ):
                raise
            logger.exception("notification channel %s failed for %s", name, notification.kind)
            deliveries.append(Delivery(name, False, f"{type(exc).__name__}: {exc}"))
        else:
            deliveries.append(Delivery(name, True))
    return deliveries
