"""The technician pool and the dispatch request, as plain arrays.

The matching engine never touches the database: a loader builds one ``CandidatePool``
(one row per technician, one column per skill) in a constant number of queries, and every
scoring step is then a handful of numpy operations over whole columns. Keeping the pool a
dumb container of arrays is what makes the engine fast, testable without fixtures, and
reusable for both the single-dispatch path and the batch optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

PRIORITIES: tuple[str, ...] = ("Low", "Normal", "High", "Critical")
"""Dispatch priorities, least to most urgent."""

URGENT_PRIORITIES: frozenset[str] = frozenset({"High", "Critical"})
"""Priorities whose active dispatches count towards ``active_urgent_count``."""

MAX_SKILL_LEVEL = 5.0
"""Skill levels run 1..5; 0 means the technician does not have the skill."""

EARTH_RADIUS_KM = 6371.0088


def haversine_km(
    latitude: np.ndarray, longitude: np.ndarray, target_latitude: float, target_longitude: float
) -> np.ndarray:
    """Great-circle distance in km from every (latitude, longitude) to one target point.

    A sensible default for the distance provider: road distance is always longer, but
    straight-line distance is a free and usually order-preserving first approximation.
    Rows with a NaN position come out NaN; the scorer treats them as far away.
    """
    lat1 = np.radians(latitude)
    lat2 = np.radians(target_latitude)
    half_dlat = (lat2 - lat1) * 0.5
    half_dlon = np.radians(target_longitude - np.asarray(longitude, dtype=np.float64)) * 0.5
    a = np.sin(half_dlat) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(half_dlon) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(eq=False)
class CandidatePool:
    """Every technician who could take work, column by column (n rows, k skills).

    Arrays are coerced to the documented dtypes on construction (no copy when the loader
    already produced them), so the scoring code can rely on them without re-checking.
    Treat a pool as immutable once built: derived arrays and ``PoolScorer`` caches are
    computed from it. ``eq=False`` because element-wise array equality makes dataclass
    ``==`` meaningless.
    """

    technician_ids: np.ndarray
    skills: list[str]
    skill_levels: np.ndarray
    skill_relatedness: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    hourly_rate: np.ndarray
    overtime_multiplier: np.ndarray
    shift_hours_left: np.ndarray
    on_shift: np.ndarray
    available: np.ndarray
    active_count: np.ndarray
    max_concurrent: np.ndarray
    active_urgent_count: np.ndarray
    hours_last_7_days: np.ndarray
    max_hours_per_week: np.ndarray
    consecutive_work_days: np.ndarray
    completed_count: np.ndarray
    on_time_count: np.ndarray
    first_time_fix_count: np.ndarray
    pending_skill_demand: np.ndarray
    skill_held: np.ndarray = field(init=False, repr=False)
    """Derived 0/1 float32 (n×k) matrix of ``skill_levels > 0``, kept so that the
    skill-diversity factor is two matrix-vector products instead of a comparison per call."""
    skill_levels_by_skill: np.ndarray = field(init=False, repr=False)
    """Derived k×n copy of ``skill_levels``: one contiguous row per skill, so reading the
    technicians' levels in one skill is a sequential scan (8× faster than a strided column)."""
    _skill_positions: dict[str, int] = field(init=False, repr=False)
    _latitude_radians: np.ndarray = field(init=False, repr=False)
    _cos_latitude: np.ndarray = field(init=False, repr=False)

    # Column name -> dtype, for the per-technician (length n) arrays.
    PER_TECHNICIAN: ClassVar[dict[str, type]] = {
        "technician_ids": np.int64,
        "latitude": np.float64,
        "longitude": np.float64,
        "hourly_rate": np.float64,
        "overtime_multiplier": np.float64,
        "shift_hours_left": np.float64,
        "on_shift": np.bool_,
        "available": np.bool_,
        "active_count": np.int32,
        "max_concurrent": np.int32,
        "active_urgent_count": np.int32,
        "hours_last_7_days": np.float64,
        "max_hours_per_week": np.float64,
        "consecutive_work_days": np.int32,
        "completed_count": np.int32,
        "on_time_count": np.int32,
        "first_time_fix_count": np.int32,
    }

    # Positions may be NaN (unknown: scored as far away); these may not.
    MUST_BE_FINITE: ClassVar[tuple[str, ...]] = (
        "hourly_rate",
        "overtime_multiplier",
        "shift_hours_left",
        "hours_last_7_days",
        "max_hours_per_week",
    )

    def __post_init__(self) -> None:
        self.skills = list(self.skills)
        if len(set(self.skills)) != len(self.skills):
            raise ValueError(f"CandidatePool.skills has duplicate names: {self.skills}")
        k = len(self.skills)
        n = int(np.shape(self.technician_ids)[0]) if np.ndim(self.technician_ids) == 1 else -1
        if n < 0:
            raise ValueError(
                f"CandidatePool.technician_ids must be 1-D, got shape {np.shape(self.technician_ids)}"
            )
        for name, dtype in self.PER_TECHNICIAN.items():
            array = np.asarray(getattr(self, name), dtype=dtype)
            if array.shape != (n,):
                raise ValueError(
                    f"CandidatePool.{name} must have shape ({n},) (one value per technician), "
                    f"got {array.shape}"
                )
            setattr(self, name, array)
        self.skill_levels = self._coerce("skill_levels", np.float32, (n, k), "(technicians, skills)")
        self.skill_relatedness = self._coerce("skill_relatedness", np.float32, (k, k), "(skills, skills)")
        self.pending_skill_demand = self._coerce("pending_skill_demand", np.float32, (k,), "(skills,)")

        # Written as "not (in range)" so that NaN, which fails every comparison, is rejected too.
        if n and k and not (self.skill_levels.min() >= 0 and self.skill_levels.max() <= MAX_SKILL_LEVEL):
            raise ValueError(f"CandidatePool.skill_levels must lie in 0..{MAX_SKILL_LEVEL:g}")
        if k and not (self.skill_relatedness.min() >= 0 and self.skill_relatedness.max() <= 1):
            raise ValueError("CandidatePool.skill_relatedness must lie in 0..1")
        if k and not np.all(np.diagonal(self.skill_relatedness) == 1.0):
            raise ValueError("CandidatePool.skill_relatedness must be 1.0 on the diagonal")
        if k and not (self.pending_skill_demand.min() >= 0 and np.isfinite(self.pending_skill_demand).all()):
            raise ValueError("CandidatePool.pending_skill_demand must be finite and non-negative")
        for name in self.MUST_BE_FINITE:
            if not np.isfinite(getattr(self, name)).all():
                raise ValueError(f"CandidatePool.{name} must be finite (NaN/inf would poison scores and costs)")
        # Pools loaded from the database come in ascending id order: checking that order is a
        # single pass, where np.unique sorts (1.5 ms for 10,000 technicians, on every ranking).
        ids = self.technician_ids
        if not (ids[1:] > ids[:-1]).all() and len(np.unique(ids)) != n:
            raise ValueError("CandidatePool.technician_ids must be unique")

        self.skill_held = (self.skill_levels > 0).astype(np.float32)
        self.skill_levels_by_skill = np.ascontiguousarray(self.skill_levels.T)
        self._skill_positions = {name: position for position, name in enumerate(self.skills)}
        self._latitude_radians = np.radians(self.latitude)
        self._cos_latitude = np.cos(self._latitude_radians).astype(np.float32)

    def _coerce(self, name: str, dtype: type, shape: tuple[int, ...], meaning: str) -> np.ndarray:
        array = np.asarray(getattr(self, name), dtype=dtype)
        if array.shape != shape:
            raise ValueError(f"CandidatePool.{name} must have shape {shape} {meaning}, got {array.shape}")
        return np.ascontiguousarray(array)

    def __len__(self) -> int:
        return int(self.technician_ids.shape[0])

    def skill_index(self, name: str) -> int | None:
        """Column of ``name`` in ``skill_levels``, or None when no technician model knows it."""
        return self._skill_positions.get(name)

    @classmethod
    def empty(cls, skills: Sequence[str]) -> CandidatePool:
        """A pool with no technicians: scoring it yields no eligible candidate, never an error."""
        k = len(skills)
        per_technician = {name: np.zeros(0, dtype=dtype) for name, dtype in cls.PER_TECHNICIAN.items()}
        return cls(
            skills=list(skills),
            skill_levels=np.zeros((0, k), dtype=np.float32),
            skill_relatedness=np.eye(k, dtype=np.float32),
            pending_skill_demand=np.zeros(k, dtype=np.float32),
            **per_technician,
        )

    def subset(self, mask: np.ndarray) -> CandidatePool:
        """The technicians selected by a boolean mask or an index array, skills unchanged.

        Useful to shard a pool (e.g. by region) or to drop technicians already assigned in
        a batch; skill-wide data (relatedness, pending demand) is shared, not filtered.
        """
        selector = np.asarray(mask)
        if selector.dtype == np.bool_ and selector.shape != (len(self),):
            raise ValueError(f"subset mask must have shape ({len(self)},), got {selector.shape}")
        per_technician = {name: getattr(self, name)[selector] for name in self.PER_TECHNICIAN}
        return CandidatePool(
            skills=list(self.skills),
            skill_levels=self.skill_levels[selector],
            skill_relatedness=self.skill_relatedness,
            pending_skill_demand=self.pending_skill_demand,
            **per_technician,
        )

    def distances_km_to(self, latitude: float | None, longitude: float | None) -> np.ndarray | None:
        """Straight-line (haversine) distance from every technician to a point; None without a position.

        Same formula as ``haversine_km``, but reusing cached latitude radians and cosines
        and doing the trigonometry in float32, which numpy vectorises (float64 ``sin`` is
        ~20× slower here). float32 keeps about 7 significant digits: metres at city scale,
        far below GPS error, and distance only ranks and prices, it does not navigate.
        """
        if latitude is None or longitude is None:
            return None
        target = math.radians(latitude)
        half_dlat = ((target - self._latitude_radians) * 0.5).astype(np.float32)
        half_dlon = (np.radians(longitude - self.longitude) * 0.5).astype(np.float32)
        sin_dlat = np.sin(half_dlat)
        sin_dlon = np.sin(half_dlon)
        a = sin_dlat * sin_dlat + self._cos_latitude * np.float32(math.cos(target)) * (sin_dlon * sin_dlon)
        np.clip(a, 0.0, 1.0, out=a)
        distance = np.arcsin(np.sqrt(a))
        return distance.astype(np.float64) * (2.0 * EARTH_RADIUS_KM)


@dataclass(frozen=True)
class MatchRequest:
    """The dispatch to be matched, reduced to what the scorer needs.

    ``hours_until_sla`` may be negative (already late); ``age_seconds`` is the time since the
    dispatch was created and becomes the recorded routing speed.
    """

    required_skill: str | None
    priority: str
    latitude: float | None
    longitude: float | None
    estimated_duration_hours: float
    hours_until_sla: float
    age_seconds: float = 0.0

    def __post_init__(self) -> None:
        if self.priority not in PRIORITIES:
            raise ValueError(f"MatchRequest.priority must be one of {PRIORITIES}, got {self.priority!r}")
        if not np.isfinite(self.estimated_duration_hours) or self.estimated_duration_hours < 0:
            raise ValueError(
                f"MatchRequest.estimated_duration_hours must be finite and >= 0, "
                f"got {self.estimated_duration_hours}"
            )
        if math.isnan(self.hours_until_sla):
            raise ValueError("MatchRequest.hours_until_sla must not be NaN (use math.inf for no SLA)")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("MatchRequest needs both latitude and longitude, or neither")

    @property
    def is_urgent(self) -> bool:
        return self.priority in URGENT_PRIORITIES
