"""The matching score written the straightforward way: one technician at a time, plain Python.

This is the specification in executable form. It exists so tests can check the vectorised
``scoring.score_pool`` against something obviously correct, and so the benchmark can show
what vectorising buys. It reads each pool column once with ``tolist()`` (as a loop over
ORM objects would read attributes), so the comparison measures the per-technician loop,
not numpy scalar access. Do not use it in production code paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.matching.pool import MAX_SKILL_LEVEL, CandidatePool, MatchRequest
from app.matching.scoring import (
    DEFAULT_SETTINGS,
    INELIGIBLE_TOTAL,
    SHIFT_FIT_FLOOR,
    UNKNOWN_DISTANCE_FACTOR,
    URGENT_LOAD_PENALTY,
    WEEKLY_HOURS_TOLERANCE,
    MatchSettings,
)


@dataclass
class ReferenceScores:
    """Loop-computed scores: per technician factor tuples, totals, eligibility and ranking."""

    factors: list[tuple[float, ...]]
    total: list[float]
    eligible: list[bool]
    order: list[int]


def score_pool_loop(
    pool: CandidatePool,
    request: MatchRequest,
    distances_km: np.ndarray | None,
    settings: MatchSettings | None = None,
) -> ReferenceScores:
    """Score every technician in a Python loop; same definitions as ``scoring.score_pool``."""
    settings = settings or DEFAULT_SETTINGS
    weights = list(settings.weights.normalised().values())
    n, k = len(pool), len(pool.skills)

    levels = pool.skill_levels.tolist()
    relatedness = pool.skill_relatedness.tolist()
    available = pool.available.tolist()
    on_shift = pool.on_shift.tolist()
    active = pool.active_count.tolist()
    limit = pool.max_concurrent.tolist()
    urgent = pool.active_urgent_count.tolist()
    hours_week = pool.hours_last_7_days.tolist()
    max_week = pool.max_hours_per_week.tolist()
    shift_left = pool.shift_hours_left.tolist()
    completed = pool.completed_count.tolist()
    on_time = pool.on_time_count.tolist()
    first_fix = pool.first_time_fix_count.tolist()
    demand = pool.pending_skill_demand.tolist()
    ids = pool.technician_ids.tolist()
    raw_distances = None if distances_km is None else np.asarray(distances_km, dtype=np.float64).tolist()

    required = None if request.required_skill is None else pool.skill_index(request.required_skill)
    duration = request.estimated_duration_hours

    # Skill scarcity: pending demand per technician on duty who holds the skill.
    supply = [0] * k
    for i in range(n):
        if available[i] and on_shift[i]:
            for s in range(k):
                if levels[i][s] > 0:
                    supply[s] += 1
    scarcity = []
    for s in range(k):
        pressure = demand[s] / max(supply[s], 1)
        scarcity.append(pressure / (1.0 + pressure))

    prior_successes = settings.history_prior_rate * settings.history_prior_weight
    factors: list[tuple[float, ...]] = []
    totals: list[float] = []
    eligible: list[bool] = []
    distances: list[float] = []
    for i in range(n):
        ok = (
            available[i]
            and on_shift[i]
            and active[i] < limit[i]
            and hours_week[i] + duration <= max_week[i] + WEEKLY_HOURS_TOLERANCE
        )

        if request.required_skill is None:
            skill = 1.0
        elif required is None:
            skill = 0.0
        else:
            best = 0.0
            for s in range(k):
                if relatedness[required][s] > 0:
                    best = max(best, levels[i][s] * relatedness[required][s])
            skill = best / MAX_SKILL_LEVEL

        if raw_distances is None:
            d = 0.0
            distance = UNKNOWN_DISTANCE_FACTOR
        else:
            d = raw_distances[i]
            d = max(d, 0.0) if math.isfinite(d) else settings.max_distance_km
            distance = 1.0 - min(d, settings.max_distance_km) / settings.max_distance_km
        distances.append(d)

        free = max(0.0, min(1.0, 1.0 - active[i] / limit[i])) if limit[i] > 0 else 0.0
        needed = d / settings.travel_speed_kmh + duration
        fit = max(0.0, min(1.0, shift_left[i] / needed)) if needed > 0 else 1.0
        availability = free * (SHIFT_FIT_FLOOR + (1.0 - SHIFT_FIT_FLOOR) * fit)

        priority_balance = 1.0 / (1.0 + URGENT_LOAD_PENALTY[request.priority] * urgent[i])

        keep_free = 1.0
        for s in range(k):
            if s != required and levels[i][s] > 0:
                keep_free *= 1.0 - scarcity[s]

        trials = completed[i] + settings.history_prior_weight
        on_time_rate = min(1.0, max(0.0, (on_time[i] + prior_successes) / trials))
        fix_rate = min(1.0, max(0.0, (first_fix[i] + prior_successes) / trials))
        history = (on_time_rate + fix_rate) / 2.0

        row = (skill, distance, availability, priority_balance, keep_free, history)
        factors.append(row)
        eligible.append(ok)
        totals.append(sum(w * f for w, f in zip(weights, row, strict=True)) if ok else INELIGIBLE_TOTAL)

    order = sorted((i for i in range(n) if eligible[i]), key=lambda i: (-totals[i], distances[i], ids[i]))
    return ReferenceScores(factors=factors, total=totals, eligible=eligible, order=order)
