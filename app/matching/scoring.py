"""Vectorised scoring of a whole technician pool against one dispatch.

Every factor is computed for all n technicians at once with numpy column operations; there
is no Python loop over technicians (``reference.score_pool_loop`` is the loop version, kept
to prove equality and to measure the speed-up). Factors are each in 0..1 and combined by
normalised weights, so a total is always in 0..1 for an eligible technician and exactly
-1 for an ineligible one: no NaN or infinity ever reaches a ranking or a JSON column.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

from app.matching.pool import MAX_SKILL_LEVEL, CandidatePool, MatchRequest

FACTORS: tuple[str, ...] = ("skill", "distance", "availability", "priority_balance", "skill_diversity", "history")
"""Factor names, in the column order of ``PoolScores.factors``."""

INELIGIBLE_TOTAL = -1.0
"""Total given to technicians who fail a hard constraint: below every eligible total (>= 0)."""

UNKNOWN_DISTANCE_FACTOR = 0.5
"""Distance factor for everyone when the dispatch has no location: it cannot separate
technicians, so a neutral middle value keeps totals comparable with located dispatches."""

URGENT_LOAD_PENALTY: dict[str, float] = {"Low": 0.0, "Normal": 0.1, "High": 0.75, "Critical": 1.0}
"""How hard a request of each priority avoids technicians already carrying urgent work:
priority_balance = 1 / (1 + penalty × active_urgent_count). A Critical job should go to
someone who is not already juggling another emergency; a Low one does not care."""

WEEKLY_HOURS_TOLERANCE = 1e-9

SHIFT_FIT_FLOOR = 0.5
"""Availability keeps this share even when the job cannot finish within the shift: overtime
is possible (it is priced in ``estimates.operational_cost``), just less attractive."""


@dataclass(frozen=True)
class MatchWeights:
    """Relative importance of each factor; normalised to sum 1 when used.

    Defaults are the dispatch engine's published weights (40/25/15/10/5/5). Accepting any
    non-negative values lets an operator write "skill 4, distance 1" without doing sums.
    """

    skill: float = 0.40
    distance: float = 0.25
    availability: float = 0.15
    priority_balance: float = 0.10
    skill_diversity: float = 0.05
    history: float = 0.05

    def __post_init__(self) -> None:
        values = self.raw()
        for name, value in zip(FACTORS, values, strict=True):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"MatchWeights.{name} must be a finite number >= 0, got {value!r}")
        if sum(values) <= 0:
            raise ValueError("MatchWeights must not all be zero")

    def raw(self) -> tuple[float, ...]:
        return tuple(float(getattr(self, name)) for name in FACTORS)

    def normalised(self) -> dict[str, float]:
        values = self.raw()
        total = sum(values)
        return {name: value / total for name, value in zip(FACTORS, values, strict=True)}

    def as_array(self) -> np.ndarray:
        """Normalised weights as float32, in ``FACTORS`` order, ready for ``factors @ weights``."""
        return np.array(list(self.normalised().values()), dtype=np.float32)


@dataclass(frozen=True)
class MatchSettings:
    """Every tunable of the engine in one immutable value (safe to share between threads)."""

    weights: MatchWeights = field(default_factory=MatchWeights)
    max_distance_km: float = 100.0
    """Distance at which the distance factor reaches 0; nearer is linear in between."""
    travel_speed_kmh: float = 50.0
    travel_cost_per_km: float = 0.5
    history_prior_rate: float = 0.8
    """Assumed on-time and first-time-fix rate before any evidence (Bayesian prior mean)."""
    history_prior_weight: float = 5.0
    """How many completed jobs the prior is worth: newcomers score the prior, not 0 or 1."""
    fallback_count: int = 3
    burnout_hours_ratio: float = 0.9
    burnout_consecutive_days: int = 6

    def __post_init__(self) -> None:
        if not isinstance(self.weights, MatchWeights):
            raise TypeError("MatchSettings.weights must be a MatchWeights")
        positive = ("max_distance_km", "travel_speed_kmh", "history_prior_weight", "burnout_hours_ratio")
        for name in positive:
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"MatchSettings.{name} must be > 0, got {value!r}")
        if not math.isfinite(self.travel_cost_per_km) or self.travel_cost_per_km < 0:
            raise ValueError(f"MatchSettings.travel_cost_per_km must be >= 0, got {self.travel_cost_per_km!r}")
        if not 0 < self.history_prior_rate <= 1:
            raise ValueError(f"MatchSettings.history_prior_rate must be in (0, 1], got {self.history_prior_rate!r}")
        if self.fallback_count < 0:
            raise ValueError(f"MatchSettings.fallback_count must be >= 0, got {self.fallback_count!r}")
        if self.burnout_consecutive_days < 1:
            raise ValueError(
                f"MatchSettings.burnout_consecutive_days must be >= 1, got {self.burnout_consecutive_days!r}"
            )


DEFAULT_SETTINGS = MatchSettings()


def sanitize_distances(distances_km: np.ndarray | float, settings: MatchSettings) -> np.ndarray:
    """Distances made safe to score: unknown (NaN/inf) counts as ``max_distance_km``, negatives as 0.

    A technician whose position is unknown should neither win on distance nor poison the
    ranking with NaN; treating them as "as far as still counts" does both.
    """
    values = np.asarray(distances_km)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    # Python-float operands keep the input precision (float32 stays float32).
    return np.where(np.isfinite(values), np.maximum(values, 0.0), settings.max_distance_km)


def bayesian_rate(successes: np.ndarray, trials: np.ndarray, settings: MatchSettings) -> np.ndarray:
    """(successes + prior × weight) / (trials + weight), clipped to 0..1.

    Shrinks small samples towards the prior: one late job out of one does not make a
    newcomer the worst technician, and one on-time job does not make them the best.
    """
    prior_successes = settings.history_prior_rate * settings.history_prior_weight
    rate = (successes + prior_successes) / (trials + settings.history_prior_weight)
    return np.clip(rate, 0.0, 1.0)


def hard_constraints(pool: CandidatePool, request: MatchRequest) -> np.ndarray:
    """Boolean mask of technicians allowed to take the request at all.

    Available, on shift, below their concurrent-dispatch limit, and not pushed over their
    weekly hours by this job. Skill is deliberately *not* a hard constraint: the skill factor
    ranks an unskilled technician last, but an unskilled technician beats no technician.
    """
    return on_duty_with_capacity(pool) & within_weekly_hours(pool, request.estimated_duration_hours)


def on_duty_with_capacity(pool: CandidatePool) -> np.ndarray:
    """The request-independent hard constraints: available, on shift, below the concurrent limit."""
    return pool.available & pool.on_shift & (pool.active_count < pool.max_concurrent)


def within_weekly_hours(pool: CandidatePool, duration_hours: float) -> np.ndarray:
    """Would this job keep each technician within their weekly hours? (1e-9 absorbs rounding.)"""
    return pool.hours_last_7_days + duration_hours <= pool.max_hours_per_week + WEEKLY_HOURS_TOLERANCE


def explain_exclusions(
    pool: CandidatePool, request: MatchRequest, eligible: np.ndarray | None = None
) -> list[str | None]:
    """Human-readable reason per technician why they were excluded (None when eligible).

    Loops over the excluded technicians only, and only for display (the assignment page,
    the "why not Bob?" question); ranking never calls it.
    """
    if eligible is None:
        eligible = hard_constraints(pool, request)
    reasons: list[str | None] = [None] * len(pool)
    for i in np.flatnonzero(~eligible).tolist():
        reasons[i] = _reason(pool, request, i)
    return reasons


def _reason(pool: CandidatePool, request: MatchRequest, i: int) -> str:
    parts: list[str] = []
    if not pool.available[i]:
        parts.append("unavailable")
    if not pool.on_shift[i]:
        parts.append("off shift")
    active, limit = int(pool.active_count[i]), int(pool.max_concurrent[i])
    if active >= limit:
        parts.append(f"at capacity ({active}/{limit})")
    duration = request.estimated_duration_hours
    hours, max_hours = float(pool.hours_last_7_days[i]), float(pool.max_hours_per_week[i])
    if not hours + duration <= max_hours + WEEKLY_HOURS_TOLERANCE:
        parts.append(f"over weekly hours ({hours:.1f} + {duration:.1f} > {max_hours:g})")
    return "; ".join(parts)


class Exclusions(Mapping[int, str]):
    """``{technician_id: reason}`` for the technicians a ranking left out, written when first read.

    Writing the reasons is a Python loop over every excluded technician (about 10 ms for
    10,000 technicians, most of them off shift); an automatic assignment that finds someone
    never reads them. Listing or counting writes them all once; ``get`` of one technician
    writes only theirs.
    """

    def __init__(self, pool: CandidatePool, request: MatchRequest, eligible: np.ndarray) -> None:
        self._pool, self._request, self._eligible = pool, request, eligible
        self._all: dict[int, str] | None = None

    def _reasons(self) -> dict[int, str]:
        if self._all is None:
            ids = self._pool.technician_ids
            reasons = explain_exclusions(self._pool, self._request, self._eligible)
            self._all = {int(ids[i]): reason for i, reason in enumerate(reasons) if reason}
        return self._all

    def __getitem__(self, technician_id: int) -> str:
        if self._all is not None:
            return self._all[technician_id]
        rows = np.flatnonzero(self._pool.technician_ids == technician_id)
        reason = _reason(self._pool, self._request, int(rows[0])) if rows.size and not self._eligible[rows[0]] else ""
        if not reason:
            raise KeyError(technician_id)
        return reason

    def __iter__(self) -> Iterator[int]:
        return iter(self._reasons())

    def __len__(self) -> int:
        return len(self._reasons())

    def __repr__(self) -> str:
        return f"Exclusions({self._reasons()!r})"


@dataclass(eq=False)
class PoolScores:
    """Scores of one request against every technician of a pool.

    ``factors`` (n×6 float32, ``FACTORS`` order) and ``weights`` keep the explanation;
    ``total`` is the ranking key (-1 for ineligible rows). ``distances_km`` are the
    sanitised distances used for the tie-break and by the estimates.
    """

    factors: np.ndarray
    weights: np.ndarray
    weighted: np.ndarray
    """Weighted sum for every row, eligible or not (what ``total`` shows for eligible rows)."""
    total: np.ndarray
    eligible: np.ndarray
    distances_km: np.ndarray
    technician_ids: np.ndarray

    def __len__(self) -> int:
        return int(self.total.shape[0])

    @cached_property
    def order(self) -> np.ndarray:
        """Indices of all eligible technicians: score descending, then nearer, then lower id.

        A full sort; use ``best(k)`` when only the top few are needed.
        """
        candidates = np.flatnonzero(self.eligible)
        return candidates[self._ranking(candidates)]

    def best(self, k: int) -> np.ndarray:
        """The top ``k`` eligible indices in ``order`` order, without sorting the whole pool.

        argpartition finds the k-th best total; every row at least that good (ties
        included, so a tie at the cut cannot drop the rightful winner) is then sorted.
        """
        n = len(self)
        if k <= 0 or n == 0:
            return np.zeros(0, dtype=np.int64)
        if k >= n:
            return self.order[:k]
        top = np.argpartition(self.total, n - k)[n - k :]
        threshold = self.total[top].min()
        candidates = np.flatnonzero((self.total >= threshold) & self.eligible)
        return candidates[self._ranking(candidates)][:k]

    def _ranking(self, candidates: np.ndarray) -> np.ndarray:
        # lexsort sorts by the last key first.
        return np.lexsort(
            (self.technician_ids[candidates], self.distances_km[candidates], -self.total[candidates])
        )

    def breakdown(self, index: int) -> dict[str, float]:
        """Factor values and weighted contributions of one technician; contributions sum to total."""
        result: dict[str, float] = {}
        for column, name in enumerate(FACTORS):
            value = float(self.factors[index, column])
            result[name] = value
            result[f"{name}_contribution"] = value * float(self.weights[column])
        result["total"] = float(self.weighted[index])
        return result


class PoolScorer:
    """Scores requests against one pool, caching everything that does not depend on the request.

    Per-technician history and free capacity, per-skill scarcity, and the skill, diversity
    and priority vectors of each distinct skill/priority are computed once; scoring another
    request then costs a few vector operations. ``score_pool`` is the one-shot form; the
    batch path keeps a scorer for the whole batch.
    """

    def __init__(self, pool: CandidatePool, settings: MatchSettings | None = None) -> None:
        self.pool = pool
        self.settings = settings or DEFAULT_SETTINGS
        self.weights = self.settings.weights.as_array()
        self._base_eligible = on_duty_with_capacity(pool)
        self._history = self._history_factor().astype(np.float32)
        self._free_capacity = self._free_capacity_ratio().astype(np.float32)
        self._shift_hours_left = pool.shift_hours_left.astype(np.float32)
        self._log_scarcity_keep = self._log_scarcity_keep_free()
        self._skill_cache: dict[int | None, np.ndarray] = {}
        self._diversity_cache: dict[int | None, np.ndarray] = {}
        self._priority_cache: dict[str, np.ndarray] = {}

    # Request-independent parts -----------------------------------------------------------

    def _history_factor(self) -> np.ndarray:
        pool = self.pool
        on_time = bayesian_rate(pool.on_time_count, pool.completed_count, self.settings)
        first_time_fix = bayesian_rate(pool.first_time_fix_count, pool.completed_count, self.settings)
        return (on_time + first_time_fix) * 0.5

    def _free_capacity_ratio(self) -> np.ndarray:
        limit = self.pool.max_concurrent.astype(np.float64)
        ratio = 1.0 - self.pool.active_count / np.maximum(limit, 1.0)
        return np.where(limit > 0, np.clip(ratio, 0.0, 1.0), 0.0)

    def _log_scarcity_keep_free(self) -> np.ndarray:
        """log(1 - scarcity) per skill, where scarcity = pressure / (1 + pressure) and
        pressure = pending demand / technicians on duty holding the skill.

        Using logs turns "product over a technician's skills of (1 - scarcity)" into one
        matrix-vector product with the 0/1 skill matrix.
        """
        pool = self.pool
        on_duty = (pool.available & pool.on_shift).astype(np.float32)
        supply = on_duty @ pool.skill_held
        pressure = pool.pending_skill_demand / np.maximum(supply, 1.0)
        return np.log1p(-pressure / (1.0 + pressure)).astype(np.float32)

    # Per skill / priority, cached --------------------------------------------------------

    def _skill_factor(self, skill: int | None, known: bool) -> np.ndarray:
        key = skill if known else -1
        cached = self._skill_cache.get(key)
        if cached is not None:
            return cached
        n = len(self.pool)
        if not known:
            value = np.zeros(n, dtype=np.float32)  # nobody has a skill the pool does not list
        elif skill is None:
            value = np.ones(n, dtype=np.float32)
        else:
            # Best of (level × relatedness) over the required skill and its related skills;
            # a loop over the few related *skills*, each a whole-pool vector operation.
            relatedness = self.pool.skill_relatedness[skill]
            levels = self.pool.skill_levels_by_skill
            best = levels[skill].copy()  # relatedness to itself is 1
            for related in np.flatnonzero(relatedness > 0).tolist():
                if related != skill:
                    np.maximum(best, levels[related] * relatedness[related], out=best)
            value = best / np.float32(MAX_SKILL_LEVEL)
        self._skill_cache[key] = value
        return value

    def _diversity_factor(self, skill: int | None) -> np.ndarray:
        cached = self._diversity_cache.get(skill)
        if cached is not None:
            return cached
        log_keep = self._log_scarcity_keep.copy()
        if skill is not None:
            log_keep[skill] = 0.0  # the required skill is what we want to use, not keep free
        value = np.exp(self.pool.skill_held @ log_keep).astype(np.float32)
        self._diversity_cache[skill] = value
        return value

    def _priority_factor(self, priority: str) -> np.ndarray:
        cached = self._priority_cache.get(priority)
        if cached is None:
            penalty = URGENT_LOAD_PENALTY[priority]
            cached = (1.0 / (1.0 + penalty * self.pool.active_urgent_count)).astype(np.float32)
            self._priority_cache[priority] = cached
        return cached

    # Scoring -----------------------------------------------------------------------------

    def score(self, request: MatchRequest, distances_km: np.ndarray | None) -> PoolScores:
        """Score every technician of the pool for ``request``.

        ``distances_km`` holds one distance per technician (from the distance provider), or
        None when the dispatch has no location: then distance is neutral and travel is 0.
        """
        # One contiguous float32 vector per factor (column-major n×6): each factor is written
        # in place without strided stores, and the weighted sum is a single BLAS call.
        factors = np.empty((len(FACTORS), len(self.pool)), dtype=np.float32).T
        weighted, eligible, distances = self._score_into(factors, request, distances_km)
        return PoolScores(
            factors=factors,
            weights=self.weights,
            weighted=weighted,
            total=np.where(eligible, weighted, np.float32(INELIGIBLE_TOTAL)),
            eligible=eligible,
            distances_km=distances,
            technician_ids=self.pool.technician_ids,
        )

    def _score_into(
        self, factors: np.ndarray, request: MatchRequest, distances_km: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fill ``factors`` (n×6) in place; return (weighted sum, eligible, sanitised distances).

        Separate from ``score`` so batch scoring can reuse one factor buffer for every
        dispatch: fresh large arrays cost page faults, which on some virtual machines are
        slower than the arithmetic itself.
        """
        pool, settings = self.pool, self.settings
        n = len(pool)
        duration = request.estimated_duration_hours
        (skill, distance, availability, priority_balance, skill_diversity, history) = (
            factors[:, column] for column in range(len(FACTORS))
        )

        if distances_km is None:
            distances = np.zeros(n, dtype=np.float32)
            distance[:] = UNKNOWN_DISTANCE_FACTOR
        else:
            if np.shape(distances_km) != (n,):
                raise ValueError(f"distances_km must have shape ({n},), got {np.shape(distances_km)}")
            distances = sanitize_distances(np.asarray(distances_km, dtype=np.float32), settings)
            # 1 - min(d, max) / max, in place
            np.multiply(distances, np.float32(-1.0 / settings.max_distance_km), out=distance)
            distance += np.float32(1.0)
            np.maximum(distance, np.float32(0.0), out=distance)

        eligible = self._base_eligible & within_weekly_hours(pool, duration)

        skill_position = pool.skill_index(request.required_skill) if request.required_skill is not None else None
        known_skill = request.required_skill is None or skill_position is not None

        needed_hours = distances * np.float32(1.0 / settings.travel_speed_kmh) + np.float32(duration)
        shift_fit = self._shift_hours_left / np.maximum(needed_hours, np.float32(1e-9))
        np.clip(shift_fit, np.float32(0.0), np.float32(1.0), out=shift_fit)
        shift_fit[needed_hours <= 0] = 1.0  # nothing to fit: a zero-length job always fits
        np.multiply(shift_fit, np.float32(1.0 - SHIFT_FIT_FLOOR), out=availability)
        availability += np.float32(SHIFT_FIT_FLOOR)
        availability *= self._free_capacity

        skill[:] = self._skill_factor(skill_position, known_skill)
        priority_balance[:] = self._priority_factor(request.priority)
        skill_diversity[:] = self._diversity_factor(skill_position)
        history[:] = self._history
        return factors @ self.weights, eligible, distances

    def score_many(
        self, requests: Sequence[MatchRequest], distances_km: Iterable[np.ndarray | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Totals (m×n float32, -1 where ineligible) and eligibility (m×n bool) for a batch.

        Loops over *dispatches*, not technicians: each row reuses the cached skill,
        diversity and priority vectors, so a batch costs a few vector ops per dispatch.
        ``distances_km`` may be a generator, so an m×n distance matrix need never exist.
        """
        n = len(self.pool)
        totals = np.empty((len(requests), n), dtype=np.float32)
        eligible = np.empty((len(requests), n), dtype=np.bool_)
        factors = np.empty((len(FACTORS), n), dtype=np.float32).T
        for row, (request, distances) in enumerate(zip(requests, distances_km, strict=True)):
            weighted, eligible[row], _ = self._score_into(factors, request, distances)
            np.copyto(totals[row], np.where(eligible[row], weighted, np.float32(INELIGIBLE_TOTAL)))
        return totals, eligible

    def cost_matrix(
        self,
        requests: Sequence[MatchRequest],
        distances_km: Iterable[np.ndarray | None],
        dtype: type = np.float32,
    ) -> np.ndarray:
        """Batch cost (m×n): 1 - score for eligible pairs, ``np.inf`` otherwise.

        Minimising the summed cost maximises the summed match quality of the batch, the
        criterion the single-dispatch engine ranks by. float32 by default: scores are
        float32 anyway, and at 1,000 × 10,000 it halves the one big allocation, which
        ``batch.assign_batch`` then uses without copying.
        """
        n = len(self.pool)
        cost = np.empty((len(requests), n), dtype=dtype)
        factors = np.empty((len(FACTORS), n), dtype=np.float32).T
        for row, (request, distances) in enumerate(zip(requests, distances_km, strict=True)):
            weighted, eligible, _ = self._score_into(factors, request, distances)
            np.subtract(1.0, weighted, out=cost[row], dtype=cost.dtype)
            np.copyto(cost[row], np.inf, where=~eligible)
        return cost


def score_pool(
    pool: CandidatePool,
    request: MatchRequest,
    distances_km: np.ndarray | None,
    settings: MatchSettings | None = None,
) -> PoolScores:
    """Score one request against every technician (see ``PoolScorer.score``)."""
    return PoolScorer(pool, settings).score(request, distances_km)


def settings_from_mapping(values: dict) -> MatchSettings:
    """Build settings from a config mapping (e.g. ``app.config["MATCHING"]``), weights nested.

    Unknown keys are an error, so a typo in configuration fails loudly instead of silently
    running with defaults.
    """
    values = dict(values)
    weights = values.pop("weights", None)
    known = {f.name for f in fields(MatchSettings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown matching settings: {sorted(unknown)}")
    if weights is not None and not isinstance(weights, MatchWeights):
        unknown_weights = set(weights) - set(FACTORS)
        if unknown_weights:
            raise ValueError(f"unknown matching weights: {sorted(unknown_weights)}")
        weights = MatchWeights(**weights)
    return MatchSettings(**values, **({"weights": weights} if weights is not None else {}))


__all__ = [
    "DEFAULT_SETTINGS",
    "FACTORS",
    "Exclusions",
    "INELIGIBLE_TOTAL",
    "MatchSettings",
    "MatchWeights",
    "PoolScorer",
    "PoolScores",
    "bayesian_rate",
    "explain_exclusions",
    "hard_constraints",
    "on_duty_with_capacity",
    "sanitize_distances",
    "score_pool",
    "settings_from_mapping",
    "within_weekly_hours",
]
