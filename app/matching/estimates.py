"""Completion time, cost, SLA and burnout estimates for a chosen technician.

Each estimate has an array form (``*_for``: technician indices, durations and travel km
broadcast together, so the batch can price thousands of pairs at once) and a convenience
form taking a ``MatchRequest`` and one index or an index array. ``assignment_metrics``
gathers everything the ``dispatch_metrics`` row needs as plain JSON-ready Python values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.matching.pool import CandidatePool, MatchRequest
from app.matching.scoring import DEFAULT_SETTINGS, MatchSettings, PoolScores, bayesian_rate, sanitize_distances

MIN_FIRST_TIME_FIX_RATE = 0.05
"""Floor for the rate used to stretch durations, so a terrible record means "slow", not "never"."""

MAX_DURATION_MULTIPLIER = 3.0
"""Cap on how much a poor first-time-fix record can stretch a job's estimated duration."""

BURNOUT_COMPONENT_WEIGHTS = {"weekly_hours": 0.5, "consecutive_days": 0.3, "active_load": 0.2}
"""How the burnout risk blends its three signals; hours worked dominate, as in labour rules."""

Indices = int | np.integer | np.ndarray


# Array forms ------------------------------------------------------------------------------


def duration_multiplier_for(pool: CandidatePool, indices: Indices, settings: MatchSettings) -> np.ndarray:
    """How much longer (or shorter) than nominal a technician takes, from first-time fixes.

    A job that is not fixed first time needs another visit; with first-time-fix rate f the
    expected number of visits is 1/f. The nominal duration is taken to be that of a
    technician at the prior rate, hence prior / f: 1.0 for an average technician or a
    newcomer, < 1 for a reliable one, > 1 (capped) for one who often comes back.
    """
    fixes = bayesian_rate(pool.first_time_fix_count[indices], pool.completed_count[indices], settings)
    multiplier = settings.history_prior_rate / np.maximum(fixes, MIN_FIRST_TIME_FIX_RATE)
    return np.minimum(multiplier, MAX_DURATION_MULTIPLIER)


def completion_hours_for(
    pool: CandidatePool,
    indices: Indices,
    durations_hours: np.ndarray | float,
    travel_km: np.ndarray | float,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> np.ndarray:
    """Hours from assignment to completion: travel at ``travel_speed_kmh`` plus adjusted work.

    Does not include waiting for the technician's current jobs (their durations are not in
    the pool); callers that need queue time should add it.
    """
    travel_hours = np.asarray(travel_km, dtype=np.float64) / settings.travel_speed_kmh
    return travel_hours + np.asarray(durations_hours, dtype=np.float64) * duration_multiplier_for(
        pool, indices, settings
    )


def operational_cost_for(
    pool: CandidatePool,
    indices: Indices,
    labour_hours: np.ndarray | float,
    travel_km: np.ndarray | float,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> np.ndarray:
    """Labour plus travel: hours within ``shift_hours_left`` at the hourly rate, the rest at
    rate × overtime multiplier, plus ``travel_km × travel_cost_per_km``.

    Labour hours include travel time, since the technician is paid while driving. The sum
    of ``cost_parts_for``.
    """
    labour, overtime, travel = cost_parts_for(pool, indices, labour_hours, travel_km, settings)
    return labour + overtime + travel


def cost_parts_for(
    pool: CandidatePool,
    indices: Indices,
    labour_hours: np.ndarray | float,
    travel_km: np.ndarray | float,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labour within the shift, overtime, travel) of ``operational_cost_for``: hours within
    ``shift_hours_left`` at the hourly rate, the hours past it at rate × overtime multiplier,
    and ``travel_km × travel_cost_per_km``."""
    hours = np.maximum(np.asarray(labour_hours, dtype=np.float64), 0.0)
    regular = np.minimum(hours, np.maximum(pool.shift_hours_left[indices], 0.0))
    rate = pool.hourly_rate[indices]
    overtime = rate * pool.overtime_multiplier[indices] * (hours - regular)
    travel = np.asarray(travel_km, dtype=np.float64) * settings.travel_cost_per_km
    return rate * regular, overtime, travel


def burnout_for(
    pool: CandidatePool,
    indices: Indices,
    durations_hours: np.ndarray | float,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> tuple[np.ndarray, np.ndarray]:
    """(risk 0..1, alert) if the technician also takes a job of this duration.

    Risk blends the projected share of weekly hours, consecutive days worked against the
    threshold, and concurrent load after this job. The alert is the hard rule the alerting
    system counts: projected hours at or above ``burnout_hours_ratio`` of the weekly
    maximum, or ``burnout_consecutive_days`` or more days in a row.
    """
    projected_hours = pool.hours_last_7_days[indices] + np.asarray(durations_hours, dtype=np.float64)
    max_hours = pool.max_hours_per_week[indices]
    hours_ratio = np.where(max_hours > 0, projected_hours / np.maximum(max_hours, 1e-9), np.inf)
    days = pool.consecutive_work_days[indices].astype(np.float64)
    limit = pool.max_concurrent[indices].astype(np.float64)
    load_ratio = np.where(limit > 0, (pool.active_count[indices] + 1.0) / np.maximum(limit, 1.0), 1.0)

    weights = BURNOUT_COMPONENT_WEIGHTS
    risk = (
        weights["weekly_hours"] * np.clip(hours_ratio, 0.0, 1.0)
        + weights["consecutive_days"] * np.clip(days / settings.burnout_consecutive_days, 0.0, 1.0)
        + weights["active_load"] * np.clip(load_ratio, 0.0, 1.0)
    )
    alert = (hours_ratio >= settings.burnout_hours_ratio) | (days >= settings.burnout_consecutive_days)
    return risk, alert


# Request forms ------------------------------------------------------------------------------


def _travel_km(distances_km: np.ndarray | None, indices: Indices, settings: MatchSettings) -> np.ndarray:
    if distances_km is None:
        return np.zeros(np.shape(indices), dtype=np.float64)
    return sanitize_distances(np.asarray(distances_km)[indices], settings)


def _plain(values: np.ndarray, indices: Indices) -> float | np.ndarray:
    """A Python scalar for a scalar index, the array otherwise."""
    return values if np.ndim(indices) else values.item()


def estimate_completion_hours(
    pool: CandidatePool,
    index: Indices,
    request: MatchRequest,
    distances_km: np.ndarray | None,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> float | np.ndarray:
    """Estimated hours to completion (ETC) of ``request`` by technician ``index`` (or each of an array)."""
    travel = _travel_km(distances_km, index, settings)
    hours = completion_hours_for(pool, index, request.estimated_duration_hours, travel, settings)
    return _plain(np.asarray(hours), index)


def operational_cost(
    pool: CandidatePool,
    index: Indices,
    request: MatchRequest,
    distances_km: np.ndarray | None,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> float | np.ndarray:
    """Labour (with overtime past the shift) plus travel cost of ``request`` by technician ``index``."""
    travel = _travel_km(distances_km, index, settings)
    hours = completion_hours_for(pool, index, request.estimated_duration_hours, travel, settings)
    return _plain(np.asarray(operational_cost_for(pool, index, hours, travel, settings)), index)


def sla_expected_met(completion_hours: float | np.ndarray, request: MatchRequest) -> bool | np.ndarray:
    """Whether the estimated completion lands within the SLA (never, when already past due)."""
    met = np.asarray(completion_hours) <= request.hours_until_sla
    return met if met.ndim else bool(met)


def burnout_risk(
    pool: CandidatePool, index: Indices, request: MatchRequest, settings: MatchSettings = DEFAULT_SETTINGS
) -> float | np.ndarray:
    """Burnout risk 0..1 of technician ``index`` if they take ``request``."""
    risk, _ = burnout_for(pool, index, request.estimated_duration_hours, settings)
    return _plain(np.asarray(risk), index)


def burnout_alert(
    pool: CandidatePool, index: Indices, request: MatchRequest, settings: MatchSettings = DEFAULT_SETTINGS
) -> bool | np.ndarray:
    """Whether taking ``request`` trips the burnout alert rule for technician ``index``."""
    _, alert = burnout_for(pool, index, request.estimated_duration_hours, settings)
    alert = np.asarray(alert)
    return alert if alert.ndim else bool(alert)


def fallback_indices(scores: PoolScores, chosen: int, count: int) -> np.ndarray:
    """The ``count`` best eligible technicians other than ``chosen``, in ranking order.

    Who to route to if the chosen technician declines or becomes unavailable; when the
    chosen one is not the top-ranked (already taken by another dispatch, manual pick), the
    better-ranked ones stay valid fallbacks.
    """
    top = scores.best(count + 1)
    return top[top != chosen][:count]


def assignment_metrics(
    pool: CandidatePool,
    scores: PoolScores,
    index: int,
    request: MatchRequest,
    distances_km: np.ndarray | None,
    settings: MatchSettings = DEFAULT_SETTINGS,
) -> dict[str, Any]:
    """Everything the assignment service records for technician ``index`` taking ``request``.

    Plain Python types only (int, float, bool, str, list, dict) so the result can go
    straight into a JSON column or an API response.
    """
    index = int(index)
    hours = estimate_completion_hours(pool, index, request, distances_km, settings)
    travel = _travel_km(distances_km, index, settings)
    # Each part to the cent and the total their sum, so the stored parts add up to the total.
    labour, overtime, travel_cost = (round(float(part), 2)
                                     for part in cost_parts_for(pool, index, hours, travel, settings))
    risk, alert = burnout_for(pool, index, request.estimated_duration_hours, settings)
    fallbacks = [
        {"technician_id": int(pool.technician_ids[i]), "score": round(float(scores.total[i]), 6)}
        for i in fallback_indices(scores, index, settings.fallback_count).tolist()
    ]
    return {
        "technician_id": int(pool.technician_ids[index]),
        "eligible": bool(scores.eligible[index]),
        "routing_speed_seconds": float(request.age_seconds),
        "estimated_completion_hours": round(float(hours), 4),
        "operational_cost": round(labour + overtime + travel_cost, 2),
        "labour_cost": labour,
        "overtime_cost": overtime,
        "travel_cost": travel_cost,
        "sla_met": bool(hours <= request.hours_until_sla),
        "burnout_risk": round(float(risk), 4),
        "burnout_alert": bool(alert),
        "fallback_technicians": fallbacks,
        "score": round(float(scores.weighted[index]), 6),
        "breakdown": {name: round(value, 6) for name, value in scores.breakdown(index).items()},
    }


__all__ = [
    "assignment_metrics",
    "burnout_alert",
    "burnout_for",
    "burnout_risk",
    "completion_hours_for",
    "cost_parts_for",
    "duration_multiplier_for",
    "estimate_completion_hours",
    "fallback_indices",
    "operational_cost",
    "operational_cost_for",
    "sla_expected_met",
]
