"""The objects plugins return from hooks: matchers, distance providers, notifiers, links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

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
    """A matcher's answer: candidates best first (eligible only) and why others are out."""

    ranked: Sequence[RankedCandidate]
    excluded: dict[int, str] = field(default_factory=dict)


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


@dataclass(frozen=True)
class Notification:
    """Something to tell people: an assignment, later an alert or a report."""

    kind: str  # e.g. "dispatch.assigned"
    subject: str
    body: str
    recipients: Sequence[str] = ()  # email addresses; empty = operators
    severity: str = "info"  # info, warning, critical
    dispatch_number: str | None = None


@runtime_checkable
class Notifier(Protocol):
    """Delivers a notification on one channel; raises on failure."""

    def send(self, notification: Notification) -> None: ...


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
