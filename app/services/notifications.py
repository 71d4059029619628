"""Sends notifications through every active channel; one failing channel never stops the others."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app

from app.plugins.contracts import Notification, Notifier

logger = logging.getLogger(__name__)
EXTENSION_KEY = "motorpool.notifiers"


@dataclass(frozen=True)
class Delivery:
    channel: str
    delivered: bool
    error: str | None = None


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
