"""Benchmark: the matching engine on a synthetic fleet of 10,000 technicians.

    python bench/matching.py [--technicians 10000] [--dispatches 1000] [--runs 300] [--seed 7]

Prints (a) one dispatch against the whole pool (score, rank, fallbacks, metrics), p50/p95;
(b) a batch of dispatches scored against every technician and assigned optimally;
(c) the same single-dispatch work done by the per-technician Python loop
(``app.matching.reference``), and the speed-up; (d) batch cost, optimal vs greedy.
No database is involved: the pool is built in memory from a seeded RNG, so runs repeat.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import scipy  # noqa: E402

from app.matching import (  # noqa: E402
    PRIORITIES,
    CandidatePool,
    MatchRequest,
    MatchSettings,
    PoolScorer,
    assign_batch,
    assignment_total,
    greedy_assign,
    assignment_metrics,
    burnout_for,
    completion_hours_for,
    operational_cost_for,
    score_pool,
)
from app.matching.reference import score_pool_loop  # noqa: E402

CITY_CENTRE = (52.37, 4.90)
SKILL_CATEGORIES = {
    "engine": ["diesel", "petrol", "hybrid", "turbo"],
    "electrical": ["wiring", "battery", "alternator", "ecu", "lighting"],
    "hydraulics": ["pumps", "cylinders", "hoses"],
    "bodywork": ["welding", "panels", "paint", "glass"],
    "tyres": ["tyre-change", "alignment", "balancing"],
    "refrigeration": ["reefer", "compressor", "insulation", "coolant"],
    "brakes": ["air-brakes", "abs", "discs"],
    "diagnostics": ["obd", "telematics", "sensors", "software"],
}


def synthetic_pool(n: int, rng: np.random.Generator) -> CandidatePool:
    """A plausible fleet: specialists with 1-4 skills, mostly within one category."""
    skills = [skill for names in SKILL_CATEGORIES.values() for skill in names]
    category_of = np.array([c for c, names in enumerate(SKILL_CATEGORIES.values()) for _ in names])
    k = len(skills)
    relatedness = np.where(category_of[:, None] == category_of[None, :], 0.5, 0.0).astype(np.float32)
    np.fill_diagonal(relatedness, 1.0)

    levels = np.zeros((n, k), dtype=np.float32)
    home_category = rng.integers(0, len(SKILL_CATEGORIES), n)
    skill_count = rng.integers(1, 5, n)
    for i in range(n):  # building test data, not scoring: a loop is fine here
        in_category = np.flatnonzero(category_of == home_category[i])
        picks = rng.choice(in_category, size=min(skill_count[i], in_category.size), replace=False)
        levels[i, picks] = rng.integers(1, 6, picks.size)
        if rng.random() < 0.3:  # a cross-trained skill outside the home category
            levels[i, rng.integers(0, k)] = rng.integers(1, 4)

    max_concurrent = rng.integers(2, 6, n).astype(np.int32)
    active = np.minimum(rng.poisson(1.2, n), max_concurrent).astype(np.int32)
    urgent = rng.binomial(active, 0.3).astype(np.int32)
    on_shift = rng.random(n) < 0.7
    completed = rng.integers(0, 500, n).astype(np.int32)
    return CandidatePool(
        technician_ids=np.arange(1, n + 1, dtype=np.int64) * 7,
        skills=skills,
        skill_levels=levels,
        skill_relatedness=relatedness,
        latitude=CITY_CENTRE[0] + rng.normal(0, 0.25, n),
        longitude=CITY_CENTRE[1] + rng.normal(0, 0.4, n),
        hourly_rate=rng.uniform(25, 60, n).round(2),
        overtime_multiplier=rng.choice([1.25, 1.5, 2.0], n),
        shift_hours_left=np.where(on_shift, rng.uniform(0.5, 8, n), 0.0),
        on_shift=on_shift,
        available=rng.random(n) < 0.9,
        active_count=active,
        max_concurrent=max_concurrent,
        active_urgent_count=urgent,
        hours_last_7_days=rng.uniform(0, 46, n).round(1),
        max_hours_per_week=rng.choice([40.0, 45.0, 48.0], n),
        consecutive_work_days=rng.integers(0, 8, n).astype(np.int32),
        completed_count=completed,
        on_time_count=rng.binomial(completed, 0.85).astype(np.int32),
        first_time_fix_count=rng.binomial(completed, 0.78).astype(np.int32),
        pending_skill_demand=rng.integers(0, 40, k).astype(np.float32),
    )


def synthetic_requests(pool: CandidatePool, m: int, rng: np.random.Generator) -> list[MatchRequest]:
    priorities = rng.choice(PRIORITIES, m, p=[0.2, 0.5, 0.2, 0.1])
    return [
        MatchRequest(
            required_skill=str(rng.choice(pool.skills)) if rng.random() < 0.95 else None,
            priority=str(priorities[j]),
            latitude=float(CITY_CENTRE[0] + rng.normal(0, 0.25)),
            longitude=float(CITY_CENTRE[1] + rng.normal(0, 0.4)),
            estimated_duration_hours=float(rng.uniform(0.5, 6)),
            hours_until_sla=float(rng.uniform(-2, 24)),
            age_seconds=float(rng.uniform(0, 900)),
        )
        for j in range(m)
    ]


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q)) * 1e3


def single_dispatch(pool: CandidatePool, request: MatchRequest, distances: np.ndarray, settings: MatchSettings):
    """The whole single-dispatch path after distances: score, rank, fallbacks, metrics."""
    scores = score_pool(pool, request, distances, settings)
    top = scores.best(1)
    if top.size == 0:
        return None
    return assignment_metrics(pool, scores, int(top[0]), request, distances, settings)


def single_dispatch_loop(pool: CandidatePool, request: MatchRequest, distances: np.ndarray, settings: MatchSettings):
    """The same work with the per-technician reference loop doing the scoring and ranking."""
    reference = score_pool_loop(pool, request, distances, settings)
    if not reference.order:
        return None
    chosen, fallbacks = reference.order[0], reference.order[1 : 1 + settings.fallback_count]
    travel = float(distances[chosen])
    hours = float(completion_hours_for(pool, chosen, request.estimated_duration_hours, travel, settings))
    cost = float(operational_cost_for(pool, chosen, hours, travel, settings))
    risk, alert = burnout_for(pool, chosen, request.estimated_duration_hours, settings)
    return chosen, fallbacks, hours, cost, float(risk), bool(alert)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--technicians", type=int, default=10_000)
    parser.add_argument("--dispatches", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--loop-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    try:
        usable_cores = len(os.sched_getaffinity(0))
    except AttributeError:
        usable_cores = os.cpu_count() or 1
    print(f"machine: {platform.platform()} ({platform.machine()}), {usable_cores} usable cores "
          f"of {os.cpu_count()}; Python {platform.python_version()}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}")

    rng = np.random.default_rng(args.seed)
    settings = MatchSettings()
    built = time.perf_counter()
    pool = synthetic_pool(args.technicians, rng)
    print(f"pool: {len(pool)} technicians, {len(pool.skills)} skills in {len(SKILL_CATEGORIES)} categories "
          f"(built in {time.perf_counter() - built:.2f} s)")

    # (a) One dispatch against the whole pool.
    requests = synthetic_requests(pool, args.runs, rng)
    distances = [pool.distances_km_to(r.latitude, r.longitude) for r in requests]
    for request, d in zip(requests[:10], distances[:10], strict=True):  # warm-up
        single_dispatch(pool, request, d, settings)
    engine, with_distance = [], []
    for request, d in zip(requests, distances, strict=True):
        started = time.perf_counter()
        single_dispatch(pool, request, d, settings)
        engine.append(time.perf_counter() - started)
        started = time.perf_counter()
        single_dispatch(pool, request, pool.distances_km_to(request.latitude, request.longitude), settings)
        with_distance.append(time.perf_counter() - started)
    print(f"\n(a) one dispatch vs {len(pool)} technicians, {len(engine)} runs "
          f"(score + rank + fallbacks + metrics; target <= 5 ms)")
    print(f"    engine:                 p50 {percentile_ms(engine, 50):.3f} ms   p95 {percentile_ms(engine, 95):.3f} ms")
    print(f"    incl. haversine distances: p50 {percentile_ms(with_distance, 50):.3f} ms   "
          f"p95 {percentile_ms(with_distance, 95):.3f} ms")

    # (b) + (d) A batch.
    batch = synthetic_requests(pool, args.dispatches, rng)
    on_duty = pool.available & pool.on_shift
    capacity = np.where(on_duty, pool.max_concurrent - pool.active_count, 0)
    urgency = {p: rank for rank, p in enumerate(PRIORITIES)}
    greedy_order = np.array(
        sorted(range(len(batch)), key=lambda j: (-urgency[batch[j].priority], -batch[j].age_seconds, j))
    )
    scorer_started = time.perf_counter()
    scorer = PoolScorer(pool, settings)
    cost = scorer.cost_matrix(batch, (pool.distances_km_to(r.latitude, r.longitude) for r in batch))
    scored = time.perf_counter()
    result = assign_batch(cost, capacity, time_budget_s=1.0, greedy_order=greedy_order)
    solved = time.perf_counter()
    # Distances on their own, to show how much of the scoring time they take.
    distance_started = time.perf_counter()
    for r in batch:
        pool.distances_km_to(r.latitude, r.longitude)
    distance_time = time.perf_counter() - distance_started
    assigned = int((result.assignments >= 0).sum())
    print(f"\n(b) batch of {len(batch)} dispatches x {len(pool)} technicians "
          f"({len(batch) * len(pool):,} pairs; target score + solve <= 1 s)")
    print(f"    distances + score all pairs -> cost matrix: {(scored - scorer_started) * 1e3:7.1f} ms "
          f"(of which haversine distances {distance_time * 1e3:.1f} ms)")
    print(f"    assign_batch (greedy + prune + solve):     {(solved - scored) * 1e3:7.1f} ms   "
          f"method={result.method}, solver estimate {(result.estimated_solve_s or 0) * 1e3:.1f} ms")
    print(f"    total:                                     {(solved - scorer_started) * 1e3:7.1f} ms")
    print(f"    assigned {assigned}/{len(batch)}, capacity used {assigned}/{int(capacity.sum())}")

    # (c) The per-technician loop on the same single-dispatch data.
    loop_times = []
    for request, d in zip(requests[: args.loop_runs], distances[: args.loop_runs], strict=True):
        started = time.perf_counter()
        single_dispatch_loop(pool, request, d, settings)
        loop_times.append(time.perf_counter() - started)
    loop_p50 = statistics.median(loop_times) * 1e3
    engine_p50 = percentile_ms(engine, 50)
    print(f"\n(c) per-technician Python loop (reference.score_pool_loop), {len(loop_times)} runs, same data")
    print(f"    loop p50 {loop_p50:.1f} ms  vs  engine p50 {engine_p50:.3f} ms  ->  {loop_p50 / engine_p50:.0f}x faster")

    # (d) Batch quality, against matching the same dispatches one by one in priority order.
    greedy = greedy_assign(cost, capacity, greedy_order)
    _, greedy_real, greedy_missing = assignment_total(cost, greedy, result.unassigned_penalty)
    improvement = (result.greedy_total_cost - result.total_cost) / result.greedy_total_cost * 100
    print(f"\n(d) batch cost = sum of (1 - score) over assigned pairs + {result.unassigned_penalty:.0f} "
          f"per unassigned dispatch")
    print(f"    {result.method:>8}: total {result.total_cost:10.4f}  (pairs {result.assigned_cost:.4f}, "
          f"unassigned {result.unassigned_count})")
    print(f"    {'greedy':>8}: total {result.greedy_total_cost:10.4f}  (pairs {greedy_real:.4f}, "
          f"unassigned {greedy_missing})")
    print(f"    improvement over greedy: {improvement:.2f}% of total cost")

if __name__ == "__main__":
    main()
