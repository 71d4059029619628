"""The objects plugins return from hooks: matchers, distance providers, notifiers, alert checks, links."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from app.matching import CandidatePool, MatchRequest, MatchSettings


@dataclass(frozen=True)
class RankedCandidate:
    """One technician a matcher proposes, best first."""

    technician_id: int
    score: float
    breakdown: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchOutcome:
    """A matcher's answer: candidates best first (eligible only) and why others are out.

    ``excluded`` is any mapping: a dict, or the built-in matcher's ``Exclusions``, which
    writes the reasons only when they are read.
    """

    ranked: Sequence[RankedCandidate]
    excluded: Mapping[int, str] = field(default_factory=dict)


@runtime_checkable
class Matcher(Protocol):
    """Ranks technicians for one dispatch.

    ``pool`` holds every technician as numpy arrays (positions, skills, load, history);
    ``distances_km`` comes from the active distance provider, one value per pool row.
    Return the eligible technicians best first. Must not write to the database.
    """

    def rank(
        self, pool: CandidatePool, request: MatchRequest, distances_km: np.ndarray, settings: MatchSettings
    ) -> MatchOutcome: ...


@runtime_checkable
class DistanceProvider(Protocol):
    """Distances (km) and travel times (hours) from one origin to many destinations."""

    def distances(
        self, origin: tuple[float, float], latitudes: np.ndarray, longitudes: np.ndarray, speed_kmh: float
    ) -> tuple[np.ndarray, np.ndarray]: ...


SEVERITIES = ("info", "warning", "critical")  # in rising order


@dataclass(frozen=True)
class Notification:
    """Something to tell people: an assignment, an alert, a report.

    Channels choose what they use: the console a line from ``subject``, email ``body`` and
    ``html``, webhooks ``data``. ``data`` must be JSON-serialisable: it is stored with each
    delivery so that a retry days later sends exactly what the first try sent.
    """

    kind: str  # e.g. "dispatch.assigned", "alert.firing", "alert.resolved", "report.daily"
    subject: str
    body: str
    recipients: Sequence[str] = ()  # email addresses; empty with no roles = operators
    severity: str = "info"  # one of SEVERITIES
    dispatch_number: str | None = None
    category: str | None = None  # an alert's category ("sla_compliance"); channels route on it
    roles: Sequence[str] = ()  # recipients by role: "admin", "manager", "technician"
    html: str | None = None  # an HTML rendering of ``body`` for channels that show HTML
    data: Mapping[str, Any] = field(default_factory=dict)  # machine-readable payload


@dataclass(frozen=True)
class DeliveryAttempt:
    """Which delivery a notifier is sending: the same ``delivery_id`` on every retry.

    Receivers de-duplicate on ``delivery_id`` (delivery is at-least-once).
    """

    delivery_id: str
    channel: str
    attempt: int  # 1 for the first try
    created_at: datetime


class DeliveryError(Exception):
    """Base of the errors a notifier raises on purpose."""


class RetryableDeliveryError(DeliveryError):
    """Try again later; ``retry_after`` (seconds) when the receiver said when (``Retry-After``).

    Any other exception a notifier raises is retried the same way, with backoff.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (a 4xx answer, an address refused): the delivery is dead at once."""


@runtime_checkable
class Notifier(Protocol):
    """Delivers a notification on one channel; raises to have it retried.

    Raise ``PermanentDeliveryError`` when retrying cannot help. A notifier whose ``send``
    takes only the notification is still called, without the attempt.
    """

    def send(self, notification: Notification, attempt: DeliveryAttempt) -> None: ...


@dataclass(frozen=True)
class MetricWindow:
    """The period a metric is computed over: ``start`` inclusive, ``end`` exclusive, both UTC."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class MetricReading:
    """One value of a metric: fleet-wide (``subject`` None) or for one subject.

    ``value`` None means "no data" (nothing completed in the window, say): it never alerts
    and shows as "no data", never as 0. ``details`` (JSON-serialisable) names what is
    behind the value, such as the dispatch numbers past their SLA.
    """

    value: float | None
    message: str
    subject: str | None = None  # e.g. "technician:12"; one alert per category and subject
    subject_label: str | None = None  # e.g. "Ada Lovelace"
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertCheck:
    """A metric the alert check watches (hook ``motorpool_alert_checks``).

    ``direction`` says which side is bad: "below" (alert when the value is under the
    threshold), "above", or "outside" (thresholds are ``(low, high)`` bands: alert when the
    value leaves the band). Admins override the thresholds; these are the defaults.
    ``measure`` reads, never writes, and should use a constant number of queries.
    """

    category: str  # stable key: lower case, digits and underscores
    label: str
    unit: str  # "%", "s", "h", "money", "count"
    direction: str  # "below", "above", "outside"
    warning: float | tuple[float, float]
    critical: float | tuple[float, float]
    measure: Callable[[MetricWindow], Sequence[MetricReading]]
    description: str = ""


@dataclass(frozen=True)
class NavLink:
    label: str
    endpoint: str  # a Flask endpoint, e.g. "my_plugin.index"
    order: int = 100


@dataclass(frozen=True)
class Setting:
    """A setting a plugin declares (``motorpool_settings``), read like core's settings.

    ``name`` starts with ``MOTORPOOL_PLUGIN_<PLUGIN NAME>_`` (see
    ``app.plugins.settings.prefix_for``); ``type`` is ``str``, ``int``, ``float`` or ``bool``;
    ``default`` is of that type, or ``None`` for "not set".
    """

    name: str
    default: str | int | float | bool | None = None
    type: type = str
    help: str = ""
