"""Test plugins for the alert check: a gauge whose readings a test sets, and a channel that keeps
what it was given; plus a spy on ``notifications.notify`` (it still delivers)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from app.extensions import db
from app.models import clock_at
from app.plugins import hookimpl
from app.plugins.contracts import AlertCheck, MetricReading
from app.services import notifications


class Gauge:
    """An ``AlertCheck`` plugin; ``values`` maps subject (None: fleet-wide) to the value measured."""

    def __init__(self, category="tyre_pressure", direction="above", warning=3.0, critical=5.0, unit="count"):
        self.values: dict[str | None, float | None] = {}
        self.windows = []
        self.check = AlertCheck(category=category, label=category.replace("_", " ").capitalize(), unit=unit,
                                direction=direction, warning=warning, critical=critical, measure=self.measure)

    def measure(self, window):
        self.windows.append(window)
        return [MetricReading(value=value, message=f"{self.check.label} at {value}", subject=subject,
                              subject_label=subject.title() if subject else None, details={"value": value})
                for subject, value in self.values.items()]

    @hookimpl
    def motorpool_alert_checks(self):
        return [self.check]


class Collector:
    """A notification channel that keeps everything it is asked to send."""

    def __init__(self):
        self.received = []

    def send(self, notification, attempt=None):
        self.received.append(notification)

    @hookimpl
    def motorpool_notifiers(self):
        return {"collector": self}


class Sent(list):
    """Every notification handed to ``notify``, in order."""

    def kinds(self):
        return [n.kind for n in self]

    def of(self, kind):
        return [n for n in self if n.kind == kind]


@pytest.fixture
def sent(monkeypatch) -> Sent:
    calls = Sent()
    real = notifications.notify

    def spy(notification):
        calls.append(notification)
        return real(notification)

    monkeypatch.setattr(notifications, "notify", spy)
    return calls


def at(text: str, zone=UTC) -> datetime:
    """``"2026-12-02 10:00"`` as an aware moment in ``zone``."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=zone)


@contextmanager
def clock(moment: datetime):
    with clock_at(moment):
        yield
    db.session.expire_all()
