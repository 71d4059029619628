"""Unit tests of the matching engine core (``app.matching``): pure numpy, no app or database."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from app.matching import (
    FACTORS,
    INELIGIBLE_TOTAL,
    UNASSIGNED,
    CandidatePool,
    MatchRequest,
    MatchSettings,
    MatchWeights,
    PoolScorer,
    assign_batch,
    assignment_metrics,
    assignment_total,
    burnout_alert,
    burnout_risk,
    estimate_completion_hours,
    explain_exclusions,
    greedy_assign,
    hard_constraints,
    haversine_km,
    operational_cost,
    score_pool,
    score_regret_cost,
    settings_from_mapping,
    sla_expected_met,
)
from app.matching import batch as batch_module
from app.matching.reference import score_pool_loop

SKILLS = ["brakes", "abs", "engine"]


def make_pool(n: int = 3, **columns) -> CandidatePool:
    """A small pool where everyone is free, on shift, and identical unless overridden."""
    k = len(columns.get("skills", SKILLS))
    relatedness = np.eye(k, dtype=np.float32)
    if k == 3:
        relatedness[0, 1] = relatedness[1, 0] = 0.5  # brakes ~ abs
    values = {
        "technician_ids": np.arange(1, n + 1),
        "skills": SKILLS,
        "skill_levels": np.zeros((n, k)),
        "skill_relatedness": relatedness,
        "latitude": np.full(n, 52.0),
        "longitude": np.full(n, 4.0),
        "hourly_rate": np.full(n, 40.0),
        "overtime_multiplier": np.full(n, 1.5),
        "shift_hours_left": np.full(n, 8.0),
        "on_shift": np.ones(n, bool),
        "available": np.ones(n, bool),
        "active_count": np.zeros(n),
        "max_concurrent": np.full(n, 3),
        "active_urgent_count": np.zeros(n),
        "hours_last_7_days": np.zeros(n),
        "max_hours_per_week": np.full(n, 40.0),
        "consecutive_work_days": np.zeros(n),
        "completed_count": np.zeros(n),
        "on_time_count": np.zeros(n),
        "first_time_fix_count": np.zeros(n),
        "pending_skill_demand": np.zeros(k),
    }
    values.update(columns)
    return CandidatePool(**values)


def make_request(**fields) -> MatchRequest:
    values = {
        "required_skill": "brakes",
        "priority": "Normal",
        "latitude": 52.0,
        "longitude": 4.0,
        "estimated_duration_hours": 2.0,
        "hours_until_sla": 8.0,
        "age_seconds": 30.0,
    }
    values.update(fields)
    return MatchRequest(**values)


def factor(scores, name: str) -> np.ndarray:
    return scores.factors[:, FACTORS.index(name)]


def random_pool(rng: np.random.Generator, n: int, k: int, quantised: bool = False) -> CandidatePool:
    """Random but valid pool; ``quantised`` makes many technicians tie exactly."""
    levels = rng.integers(0, 6, (n, k)) * (rng.random((n, k)) < 0.4)
    relatedness = np.where(rng.random((k, k)) < 0.3, 0.5, 0.0)
    relatedness = np.maximum(relatedness, relatedness.T)
    np.fill_diagonal(relatedness, 1.0)
    max_concurrent = rng.integers(0, 5, n)
    active = rng.integers(0, 5, n)
    completed = rng.integers(0, 60, n)
    return CandidatePool(
        technician_ids=rng.permutation(n) * 3 + 11,
        skills=[f"skill-{s}" for s in range(k)],
        skill_levels=levels,
        skill_relatedness=relatedness,
        latitude=rng.normal(52, 0.2, n).round(1 if quantised else 6),
        longitude=rng.normal(4, 0.3, n).round(1 if quantised else 6),
        hourly_rate=rng.uniform(20, 60, n),
        overtime_multiplier=rng.choice([1.25, 1.5, 2.0], n),
        shift_hours_left=rng.choice([0.0, 1.0, 3.5, 8.0], n),
        on_shift=rng.random(n) < 0.8,
        available=rng.random(n) < 0.9,
        active_count=active,
        max_concurrent=max_concurrent,
        active_urgent_count=rng.binomial(active, 0.4),
        hours_last_7_days=rng.choice([0.0, 10.0, 36.0, 39.0], n) if quantised else rng.uniform(0, 45, n),
        max_hours_per_week=rng.choice([40.0, 48.0], n),
        consecutive_work_days=rng.integers(0, 8, n),
        completed_count=completed,
        on_time_count=rng.binomial(completed, 0.8),
        first_time_fix_count=rng.binomial(completed, 0.7),
        pending_skill_demand=rng.integers(0, 10, k),
    )


# Pool and request ------------------------------------------------------------------------------


def test_pool_rejects_wrong_shapes_with_a_clear_message():
    with pytest.raises(ValueError, match=r"CandidatePool.hourly_rate must have shape \(3,\)"):
        make_pool(3, hourly_rate=np.ones(2))
    with pytest.raises(ValueError, match=r"skill_levels must have shape \(3, 3\)"):
        make_pool(3, skill_levels=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="diagonal"):
        make_pool(3, skill_relatedness=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="0..5"):
        make_pool(3, skill_levels=np.full((3, 3), 6.0))
    with pytest.raises(ValueError, match="0..5"):
        make_pool(3, skill_levels=np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="unique"):
        make_pool(3, technician_ids=np.array([1, 1, 2]))
    with pytest.raises(ValueError, match="shift_hours_left must be finite"):
        make_pool(3, shift_hours_left=[8.0, np.nan, 1.0])
    make_pool(3, latitude=[52.0, np.nan, 52.1])  # unknown positions are allowed


def test_pool_coerces_dtypes_and_supports_len_subset_and_skill_index():
    pool = make_pool(4, active_count=[0, 1, 2, 3])
    assert pool.active_count.dtype == np.int32 and pool.skill_levels.dtype == np.float32
    assert pool.technician_ids.dtype == np.int64 and pool.available.dtype == np.bool_
    assert len(pool) == 4
    assert pool.skill_index("abs") == 1 and pool.skill_index("welding") is None
    subset = pool.subset(np.array([True, False, True, False]))
    assert len(subset) == 2 and subset.technician_ids.tolist() == [1, 3]
    assert subset.active_count.tolist() == [0, 2] and subset.skills == pool.skills


def test_empty_pool_scores_without_error_and_has_no_candidates():
    pool = CandidatePool.empty(SKILLS)
    assert len(pool) == 0
    scores = score_pool(pool, make_request(), np.zeros(0))
    assert scores.factors.shape == (0, len(FACTORS))
    assert scores.best(3).size == 0 and scores.order.size == 0


def test_request_validates_priority_and_location():
    with pytest.raises(ValueError, match="priority"):
        make_request(priority="Urgent")
    with pytest.raises(ValueError, match="both latitude and longitude"):
        make_request(longitude=None)
    with pytest.raises(ValueError, match="estimated_duration_hours"):
        make_request(estimated_duration_hours=-1.0)
    with pytest.raises(ValueError, match="hours_until_sla"):
        make_request(hours_until_sla=math.nan)


def test_pool_distances_match_haversine():
    rng = np.random.default_rng(3)
    pool = random_pool(rng, 200, 4)
    expected = haversine_km(pool.latitude, pool.longitude, 51.5, 4.2)
    np.testing.assert_allclose(pool.distances_km_to(51.5, 4.2), expected, atol=1e-3)
    assert haversine_km(np.array([0.0]), np.array([0.0]), 0.0, 1.0)[0] == pytest.approx(111.195, abs=0.01)
    assert pool.distances_km_to(None, None) is None


# Factors ---------------------------------------------------------------------------------------


def test_more_skill_scores_higher():
    pool = make_pool(3, skill_levels=[[1, 0, 0], [3, 0, 0], [5, 0, 0]])
    scores = score_pool(pool, make_request(), np.zeros(3))
    np.testing.assert_allclose(factor(scores, "skill"), [0.2, 0.6, 1.0], rtol=1e-6)
    assert scores.total[0] < scores.total[1] < scores.total[2]
    assert scores.best(1).tolist() == [2]


def test_related_skill_gets_partial_credit_and_unrelated_none():
    pool = make_pool(3, skill_levels=[[0, 4, 0], [0, 0, 5], [2, 4, 0]])
    scores = score_pool(pool, make_request(required_skill="brakes"), np.zeros(3))
    # abs level 4 × relatedness 0.5 / 5 = 0.4; engine unrelated; own level 2 (0.4) vs abs 0.4
    np.testing.assert_allclose(factor(scores, "skill"), [0.4, 0.0, 0.4], rtol=1e-6)


def test_no_required_skill_is_full_credit_and_unknown_skill_is_none():
    pool = make_pool(2, skill_levels=[[0, 0, 0], [5, 0, 0]])
    any_skill = score_pool(pool, make_request(required_skill=None), np.zeros(2))
    assert factor(any_skill, "skill").tolist() == [1.0, 1.0]
    unknown = score_pool(pool, make_request(required_skill="welding"), np.zeros(2))
    assert factor(unknown, "skill").tolist() == [0.0, 0.0]
    assert unknown.eligible.all()  # skill ranks, it does not exclude


def test_nearer_scores_higher_and_unknown_distances_are_handled():
    pool = make_pool(4)
    scores = score_pool(pool, make_request(), np.array([0.0, 25.0, 100.0, 250.0]))
    np.testing.assert_allclose(factor(scores, "distance"), [1.0, 0.75, 0.0, 0.0])
    assert scores.best(4).tolist() == [0, 1, 2, 3]
    nan = score_pool(pool, make_request(), np.array([np.nan, 10.0, np.inf, -5.0]))
    np.testing.assert_allclose(factor(nan, "distance"), [0.0, 0.9, 0.0, 1.0])
    located_nowhere = score_pool(pool, make_request(latitude=None, longitude=None), None)
    np.testing.assert_allclose(factor(located_nowhere, "distance"), 0.5)


def test_busier_technician_scores_lower_on_availability():
    pool = make_pool(3, active_count=[0, 1, 2], max_concurrent=[3, 3, 3])
    scores = score_pool(pool, make_request(), np.zeros(3))
    np.testing.assert_allclose(factor(scores, "availability"), [1.0, 2 / 3, 1 / 3], rtol=1e-6)


def test_little_shift_time_left_lowers_availability():
    pool = make_pool(3, shift_hours_left=[8.0, 1.0, 0.5])
    # 2 h job + 25 km at 50 km/h = 2.5 h needed
    scores = score_pool(pool, make_request(estimated_duration_hours=2.0), np.full(3, 25.0))
    availability = factor(scores, "availability")
    assert availability[0] == pytest.approx(1.0)
    assert availability[1] == pytest.approx(0.5 + 0.5 * (1.0 / 2.5))
    assert availability[0] > availability[1] > availability[2] >= 0.5


def test_urgent_load_is_penalised_for_critical_but_not_for_low():
    pool = make_pool(3, active_urgent_count=[0, 1, 2], active_count=[0, 1, 2])
    critical = score_pool(pool, make_request(priority="Critical"), np.zeros(3))
    np.testing.assert_allclose(factor(critical, "priority_balance"), [1.0, 0.5, 1 / 3], rtol=1e-6)
    high = score_pool(pool, make_request(priority="High"), np.zeros(3))
    assert 0.5 < factor(high, "priority_balance")[1] < 1.0
    low = score_pool(pool, make_request(priority="Low"), np.zeros(3))
    assert factor(low, "priority_balance").tolist() == [1.0, 1.0, 1.0]


def test_technicians_with_scarce_other_skills_are_kept_free():
    # Tech 0: brakes only. Tech 1: brakes + engine (engine in high demand, one holder).
    pool = make_pool(
        2,
        skill_levels=[[3, 0, 0], [3, 0, 4]],
        pending_skill_demand=[5, 0, 9],
    )
    scores = score_pool(pool, make_request(required_skill="brakes"), np.zeros(2))
    diversity = factor(scores, "skill_diversity")
    assert diversity[0] == pytest.approx(1.0)
    assert diversity[1] == pytest.approx(1 - 9 / 10)  # pressure 9/1 -> scarcity 0.9
    assert scores.best(1).tolist() == [0]
    # The required skill itself is not "kept free": for an engine job both are judged on others.
    engine_job = score_pool(pool, make_request(required_skill="engine"), np.zeros(2))
    scarcity_brakes = (5 / 2) / (1 + 5 / 2)
    np.testing.assert_allclose(factor(engine_job, "skill_diversity"), [1 - scarcity_brakes] * 2, rtol=1e-6)


def test_newcomer_gets_neutral_history_between_good_and_bad_records():
    pool = make_pool(
        3,
        completed_count=[0, 50, 50],
        on_time_count=[0, 50, 10],
        first_time_fix_count=[0, 50, 10],
    )
    history = factor(score_pool(pool, make_request(), np.zeros(3)), "history")
    assert history[0] == pytest.approx(0.8)  # the prior rate
    assert history[1] == pytest.approx((50 + 4) / 55, rel=1e-6)
    assert history[1] > history[0] > history[2]
    one_bad_job = make_pool(1, completed_count=[1], on_time_count=[0], first_time_fix_count=[0])
    assert factor(score_pool(one_bad_job, make_request(), np.zeros(1)), "history")[0] > 0.6


def test_all_factors_stay_within_unit_interval_on_random_pools():
    rng = np.random.default_rng(11)
    for _ in range(20):
        pool = random_pool(rng, 300, 6)
        request = make_request(required_skill=f"skill-{rng.integers(0, 6)}", priority="Critical")
        scores = score_pool(pool, request, rng.uniform(0, 300, 300))
        assert np.all((scores.factors >= 0) & (scores.factors <= 1))
        assert np.isfinite(scores.total).all()
        assert np.all(scores.total[scores.eligible] >= 0)


# Weights and settings ----------------------------------------------------------------------


def test_weights_default_and_normalise():
    assert sum(MatchWeights().normalised().values()) == pytest.approx(1.0)
    assert MatchWeights().normalised()["skill"] == pytest.approx(0.40)
    weights = MatchWeights(skill=4, distance=1, availability=0, priority_balance=0, skill_diversity=0, history=0)
    assert weights.normalised() == {
        "skill": 0.8, "distance": 0.2, "availability": 0.0,
        "priority_balance": 0.0, "skill_diversity": 0.0, "history": 0.0,
    }
    np.testing.assert_allclose(weights.as_array(), [0.8, 0.2, 0, 0, 0, 0])


@pytest.mark.parametrize(
    "bad",
    [{"skill": -0.1}, {"history": math.nan}, {"distance": math.inf}, dict.fromkeys(FACTORS, 0.0)],
)
def test_weights_reject_invalid_values(bad):
    with pytest.raises(ValueError, match="MatchWeights"):
        MatchWeights(**bad)


def test_only_relative_weights_matter():
    pool = random_pool(np.random.default_rng(5), 100, 4)
    request = make_request(required_skill="skill-1")
    distances = np.linspace(0, 120, 100)
    base = score_pool(pool, request, distances)
    doubled = MatchWeights(**{name: 2 * value for name, value in zip(FACTORS, MatchWeights().raw())})
    scaled = score_pool(pool, request, distances, MatchSettings(weights=doubled))
    np.testing.assert_allclose(base.total, scaled.total, atol=1e-6)


@pytest.mark.parametrize(
    "bad",
    [{"max_distance_km": 0}, {"travel_speed_kmh": -1}, {"history_prior_rate": 0}, {"history_prior_rate": 1.5},
     {"history_prior_weight": 0}, {"fallback_count": -1}, {"travel_cost_per_km": -0.1},
     {"burnout_consecutive_days": 0}],
)
def test_settings_reject_invalid_values(bad):
    with pytest.raises(ValueError, match="MatchSettings"):
        MatchSettings(**bad)


def test_settings_from_mapping_builds_weights_and_rejects_typos():
    settings = settings_from_mapping({"max_distance_km": 50, "weights": {"skill": 1, "distance": 1}})
    assert settings.max_distance_km == 50
    assert settings.weights.skill == 1 and settings.weights.history == 0.05
    with pytest.raises(ValueError, match="max_distance"):
        settings_from_mapping({"max_distance": 50})
    with pytest.raises(ValueError, match="skil"):
        settings_from_mapping({"weights": {"skil": 1}})


# Hard constraints --------------------------------------------------------------------------


def test_hard_constraints_exclude_and_explain():
    pool = make_pool(
        6,
        available=[True, False, True, True, True, False],
        on_shift=[True, True, False, True, True, False],
        active_count=[0, 0, 0, 3, 0, 3],
        max_concurrent=[3, 3, 3, 3, 3, 3],
        hours_last_7_days=[0, 0, 0, 0, 38.5, 0],
    )
    request = make_request(estimated_duration_hours=4.0)
    scores = score_pool(pool, request, np.zeros(6))
    assert scores.eligible.tolist() == [True, False, False, False, False, False]
    assert np.array_equal(scores.eligible, hard_constraints(pool, request))
    assert scores.total[1:].tolist() == [INELIGIBLE_TOTAL] * 5
    assert scores.best(10).tolist() == [0] and scores.order.tolist() == [0]
    assert explain_exclusions(pool, request) == [
        None,
        "unavailable",
        "off shift",
        "at capacity (3/3)",
        "over weekly hours (38.5 + 4.0 > 40)",
        "unavailable; off shift; at capacity (3/3)",
    ]


def test_weekly_hours_limit_is_inclusive():
    pool = make_pool(1, hours_last_7_days=[36.0])
    assert score_pool(pool, make_request(estimated_duration_hours=4.0), np.zeros(1)).eligible.tolist() == [True]
    assert score_pool(pool, make_request(estimated_duration_hours=4.1), np.zeros(1)).eligible.tolist() == [False]


# Ranking -----------------------------------------------------------------------------------


def test_ties_are_broken_by_distance_then_technician_id():
    pool = make_pool(4, technician_ids=[40, 10, 30, 20])
    scores = score_pool(pool, make_request(), np.zeros(4))
    assert len(set(scores.total.tolist())) == 1
    assert scores.technician_ids[scores.order].tolist() == [10, 20, 30, 40]
    assert scores.best(2).tolist() == [1, 3]
    # With max_distance 100, 0.1 km apart changes the score, so equalise scores via a huge range:
    far_settings = MatchSettings(max_distance_km=1e12)
    nearer = score_pool(pool, make_request(), np.array([1.0, 3.0, 2.0, 2.0]), far_settings)
    assert len(set(nearer.total.tolist())) == 1
    assert nearer.technician_ids[nearer.order].tolist() == [40, 20, 30, 10]


def test_best_matches_full_order_on_pools_with_many_ties():
    rng = np.random.default_rng(21)
    for _ in range(30):
        pool = random_pool(rng, 400, 3, quantised=True)
        request = make_request(required_skill=f"skill-{rng.integers(0, 3)}", priority="High")
        distances = rng.choice([0.0, 5.0, 10.0], 400)
        scores = score_pool(pool, request, distances)
        for k in (1, 3, 10, 50, 1000):
            assert scores.best(k).tolist() == scores.order[:k].tolist()
        again = score_pool(pool, request, distances)
        assert again.order.tolist() == scores.order.tolist()


def test_breakdown_contributions_sum_to_total():
    rng = np.random.default_rng(8)
    pool = random_pool(rng, 50, 5)
    scores = score_pool(pool, make_request(required_skill="skill-2"), rng.uniform(0, 150, 50))
    for i in scores.order[:10].tolist():
        breakdown = scores.breakdown(i)
        contributions = sum(breakdown[f"{name}_contribution"] for name in FACTORS)
        assert contributions == pytest.approx(float(scores.total[i]), abs=1e-6)
        assert breakdown["total"] == pytest.approx(float(scores.total[i]), abs=1e-7)
        assert set(FACTORS) <= set(breakdown)


# Vectorised == reference loop --------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_vectorised_scores_equal_the_per_technician_reference(seed):
    rng = np.random.default_rng(seed)
    pool = random_pool(rng, 250, 7)
    skill_choice = [None, "not-a-skill"] + pool.skills
    for _ in range(5):
        request = make_request(
            required_skill=skill_choice[rng.integers(0, len(skill_choice))],
            priority=str(rng.choice(["Low", "Normal", "High", "Critical"])),
            estimated_duration_hours=float(rng.uniform(0, 6)),
        )
        distances = rng.uniform(0, 200, 250)
        distances[rng.random(250) < 0.05] = np.nan
        if rng.random() < 0.2:
            distances = None
            request = make_request(latitude=None, longitude=None)
        fast = score_pool(pool, request, distances)
        slow = score_pool_loop(pool, request, distances)
        np.testing.assert_allclose(fast.factors, np.array(slow.factors), atol=1e-5)
        np.testing.assert_allclose(fast.total, slow.total, atol=1e-5)
        assert fast.eligible.tolist() == slow.eligible
        assert sorted(fast.order.tolist()) == sorted(slow.order)
        np.testing.assert_allclose(fast.total[fast.order], np.array(slow.total)[slow.order], atol=1e-5)


def test_scorer_batch_rows_equal_single_scores():
    rng = np.random.default_rng(4)
    pool = random_pool(rng, 120, 5)
    requests = [make_request(required_skill=f"skill-{j % 5}", priority="Critical" if j % 2 else "Low")
                for j in range(6)]
    distances = [rng.uniform(0, 100, 120) for _ in requests]
    scorer = PoolScorer(pool)
    totals, eligible = scorer.score_many(requests, distances)
    cost = scorer.cost_matrix(requests, iter(distances), dtype=np.float64)
    compact_cost = scorer.cost_matrix(requests, iter(distances))
    assert compact_cost.dtype == np.float32
    np.testing.assert_allclose(compact_cost, cost, atol=1e-7)
    for row, (request, d) in enumerate(zip(requests, distances, strict=True)):
        single = score_pool(pool, request, d)
        np.testing.assert_array_equal(totals[row], single.total)
        np.testing.assert_array_equal(eligible[row], single.eligible)
    np.testing.assert_array_equal(cost, score_regret_cost(totals, eligible))


# Estimates ---------------------------------------------------------------------------------


def test_completion_hours_add_travel_and_stretch_with_poor_first_time_fix():
    pool = make_pool(
        3, completed_count=[0, 100, 100], first_time_fix_count=[0, 100, 40], on_time_count=[0, 100, 40]
    )
    request = make_request(estimated_duration_hours=2.0)
    distances = np.array([50.0, 50.0, 50.0])
    newcomer, reliable, sloppy = (estimate_completion_hours(pool, i, request, distances) for i in range(3))
    assert newcomer == pytest.approx(1.0 + 2.0)  # 50 km at 50 km/h, nominal duration
    assert reliable < newcomer < sloppy
    vectorised = estimate_completion_hours(pool, np.arange(3), request, distances)
    np.testing.assert_allclose(vectorised, [newcomer, reliable, sloppy])


def test_overtime_kicks_in_beyond_shift_hours_and_travel_is_charged():
    pool = make_pool(2, shift_hours_left=[8.0, 1.0], hourly_rate=[40.0, 40.0], overtime_multiplier=[1.5, 1.5])
    request = make_request(estimated_duration_hours=2.0)
    distances = np.array([50.0, 50.0])  # 1 h travel, 25.0 travel cost at 0.5/km
    in_shift = operational_cost(pool, 0, request, distances)
    assert in_shift == pytest.approx(3 * 40.0 + 25.0)
    overtime = operational_cost(pool, 1, request, distances)
    assert overtime == pytest.approx(1 * 40.0 + 2 * 40.0 * 1.5 + 25.0)
    no_location = operational_cost(pool, 0, make_request(latitude=None, longitude=None), None)
    assert no_location == pytest.approx(2 * 40.0)


def test_sla_met_and_missed():
    pool = make_pool(1)
    distances = np.array([25.0])  # 0.5 h travel + 2 h work = 2.5 h
    hours = estimate_completion_hours(pool, 0, make_request(), distances)
    assert sla_expected_met(hours, make_request(hours_until_sla=3.0)) is True
    assert sla_expected_met(hours, make_request(hours_until_sla=2.0)) is False
    assert sla_expected_met(hours, make_request(hours_until_sla=-1.0)) is False


def test_burnout_alert_on_hours_or_consecutive_days():
    pool = make_pool(
        3,
        hours_last_7_days=[10.0, 34.0, 10.0],
        consecutive_work_days=[1, 1, 6],
    )
    request = make_request(estimated_duration_hours=2.0)
    assert burnout_alert(pool, 0, request) is False
    assert burnout_alert(pool, 1, request) is True  # (34 + 2) / 40 = 0.9
    assert burnout_alert(pool, 2, request) is True  # 6 days in a row
    risks = burnout_risk(pool, np.arange(3), request)
    assert np.all((risks >= 0) & (risks <= 1))
    assert risks[0] < risks[1] and risks[0] < risks[2]


def test_assignment_metrics_are_json_ready_with_fallbacks():
    pool = make_pool(6, skill_levels=[[5, 0, 0], [4, 0, 0], [3, 0, 0], [2, 0, 0], [1, 0, 0], [5, 0, 0]],
                     available=[True, True, True, True, True, False])
    request = make_request(age_seconds=42.5)
    distances = np.full(6, 10.0)
    scores = score_pool(pool, request, distances)
    chosen = int(scores.best(1)[0])
    metrics = assignment_metrics(pool, scores, chosen, request, distances)
    json.dumps(metrics)
    assert metrics["technician_id"] == 1 and metrics["eligible"] is True
    assert metrics["routing_speed_seconds"] == 42.5
    assert [f["technician_id"] for f in metrics["fallback_technicians"]] == [2, 3, 4]
    assert metrics["fallback_technicians"][0]["score"] < metrics["score"]
    assert metrics["estimated_completion_hours"] == pytest.approx(2.2)
    assert metrics["operational_cost"] == pytest.approx(2.2 * 40 + 5.0)
    assert metrics["sla_met"] is True and metrics["burnout_alert"] is False
    assert metrics["breakdown"]["total"] == pytest.approx(metrics["score"], abs=1e-6)
    # A non-top choice keeps better-ranked technicians as fallbacks.
    second = assignment_metrics(pool, scores, 1, request, distances)
    assert [f["technician_id"] for f in second["fallback_technicians"]] == [1, 3, 4]


# Batch assignment --------------------------------------------------------------------------


def random_batch(rng: np.random.Generator, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    cost = rng.random((m, n)).round(rng.choice([1, 3]))  # rounding creates ties
    cost[rng.random((m, n)) < rng.uniform(0, 0.8)] = np.inf
    capacity = rng.integers(0, 3, n)
    return cost, capacity


def brute_force_best(cost: np.ndarray, capacity: np.ndarray) -> tuple[int, float]:
    """(most dispatches assignable, least cost among those) by enumeration."""
    m, n = cost.shape
    best = (-1, math.inf)
    for choice in itertools.product(range(-1, n), repeat=m):
        used = np.bincount([c for c in choice if c >= 0], minlength=n)
        if np.any(used > capacity):
            continue
        pairs = [(j, c) for j, c in enumerate(choice) if c >= 0]
        if any(not np.isfinite(cost[j, c]) for j, c in pairs):
            continue
        total = math.fsum(cost[j, c] for j, c in pairs)
        if (len(pairs), -total) > (best[0], -best[1]):
            best = (len(pairs), total)
    return best


def assert_capacity_respected(assignments: np.ndarray, cost: np.ndarray, capacity: np.ndarray) -> None:
    assigned = assignments[assignments != UNASSIGNED]
    assert np.all(np.bincount(assigned, minlength=cost.shape[1]) <= capacity)
    rows = np.flatnonzero(assignments != UNASSIGNED)
    assert np.isfinite(cost[rows, assignments[rows]]).all()


def test_batch_is_optimal_on_small_instances_by_brute_force():
    rng = np.random.default_rng(2024)
    for _ in range(150):
        m, n = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        cost, capacity = random_batch(rng, m, n)
        result = assign_batch(cost, capacity)
        assert_capacity_respected(result.assignments, cost, capacity)
        count, total = brute_force_best(cost, capacity)
        assert m - result.unassigned_count == count
        assert result.assigned_cost == pytest.approx(total, abs=1e-9)


@pytest.mark.parametrize("solver", ["dense", "sparse"])
def test_batch_never_worse_than_greedy_and_respects_capacity(solver, monkeypatch):
    if solver == "sparse":
        monkeypatch.setattr(batch_module, "DENSE_SOLVER_MAX_ENTRIES", 0)
    rng = np.random.default_rng(7)
    methods = set()
    for trial in range(150):
        m, n = int(rng.integers(1, 60)), int(rng.integers(1, 80))
        cost, capacity = random_batch(rng, m, n)
        order = rng.permutation(m)
        # Few candidates per dispatch make pruning lose sometimes: then greedy must be kept.
        result = assign_batch(cost, capacity, candidates_per_dispatch=int(rng.integers(1, 8)), greedy_order=order)
        methods.add(result.method)
        assert_capacity_respected(result.assignments, cost, capacity)
        greedy = greedy_assign(cost, capacity, order)
        assert_capacity_respected(greedy, cost, capacity)
        greedy_total, _, _ = assignment_total(cost, greedy, result.unassigned_penalty)
        assert result.greedy_total_cost == greedy_total
        assert result.total_cost <= greedy_total, trial
        assert result.total_cost == assignment_total(cost, result.assignments, result.unassigned_penalty)[0]
    assert methods == {"optimal", "greedy"}


def test_optimal_is_strictly_better_than_greedy_on_a_crafted_instance():
    # Greedy gives dispatch 0 its favourite (col 0), leaving dispatch 1 the expensive col 1.
    cost = np.array([[1.0, 2.0], [1.0, 100.0]])
    capacity = np.array([1, 1])
    assert greedy_assign(cost, capacity).tolist() == [0, 1]
    result = assign_batch(cost, capacity)
    assert result.method == "optimal"
    assert result.assignments.tolist() == [1, 0]
    assert result.total_cost == 3.0 and result.greedy_total_cost == 101.0


def test_assigning_more_dispatches_beats_cheaper_pairs():
    cost = np.array([[0.0, 10.0], [0.0, np.inf]])
    result = assign_batch(cost, np.array([1, 1]))
    assert result.assignments.tolist() == [1, 0] and result.unassigned_count == 0


def test_greedy_fallback_when_time_budget_is_tiny():
    rng = np.random.default_rng(1)
    cost, capacity = random_batch(rng, 40, 60)
    result = assign_batch(cost, capacity, time_budget_s=0.0)
    assert result.method == "greedy-fallback"
    assert result.assignments.tolist() == greedy_assign(cost, capacity).tolist()
    assert result.total_cost == result.greedy_total_cost
    assert result.estimated_solve_s is not None and result.estimated_solve_s > 0


def test_all_ineligible_dispatch_stays_unassigned():
    cost = np.array([[np.inf, np.inf, np.inf], [0.5, 0.2, np.inf], [np.inf, np.inf, np.inf]])
    result = assign_batch(cost, np.array([1, 1, 5]))
    assert result.assignments.tolist() == [UNASSIGNED, 1, UNASSIGNED]
    assert result.unassigned_count == 2
    everything_ineligible = assign_batch(np.full((3, 4), np.inf), np.ones(4, int))
    assert everything_ineligible.assignments.tolist() == [UNASSIGNED] * 3


def test_full_technicians_do_not_hide_open_ones_when_pruning():
    # Column 0 is cheapest for everyone but has no capacity; with one candidate per dispatch
    # the pruning must still find the open columns.
    cost = np.array([[0.0, 5.0, 6.0], [0.0, 5.0, 1.0]])
    result = assign_batch(cost, np.array([0, 1, 1]), candidates_per_dispatch=1)
    assert result.assignments.tolist() == [1, 2]
    assert result.method == "optimal"


def test_dense_and_sparse_solvers_agree(monkeypatch):
    rng = np.random.default_rng(99)
    for _ in range(20):
        cost, capacity = random_batch(rng, 15, 12)
        dense = assign_batch(cost, capacity)
        monkeypatch.setattr(batch_module, "DENSE_SOLVER_MAX_ENTRIES", 0)
        sparse = assign_batch(cost, capacity)
        monkeypatch.undo()
        assert sparse.total_cost == pytest.approx(dense.total_cost, abs=1e-9)


def test_batch_is_deterministic_and_respects_greedy_order():
    rng = np.random.default_rng(5)
    cost, capacity = random_batch(rng, 30, 20)
    first, second = assign_batch(cost, capacity), assign_batch(cost.copy(), capacity.copy())
    assert first.assignments.tolist() == second.assignments.tolist() and first.method == second.method
    contested = np.array([[1.0], [1.0]])
    assert greedy_assign(contested, np.array([1]), order=np.array([1, 0])).tolist() == [UNASSIGNED, 0]


def test_float32_costs_are_accepted_without_changing_the_answer():
    rng = np.random.default_rng(12)
    cost, capacity = random_batch(rng, 40, 30)
    wide, compact = assign_batch(cost, capacity), assign_batch(cost.astype(np.float32), capacity)
    assert compact.unassigned_count == wide.unassigned_count
    assert compact.assigned_cost == pytest.approx(wide.assigned_cost, abs=1e-5)


def test_batch_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        assign_batch(np.array([[np.nan]]), np.array([1]))
    with pytest.raises(ValueError, match="capacity"):
        assign_batch(np.zeros((2, 3)), np.ones(2))
    with pytest.raises(ValueError, match="permutation"):
        greedy_assign(np.zeros((2, 2)), np.ones(2), order=np.array([0, 0]))


def test_empty_batches():
    assert assign_batch(np.zeros((0, 5)), np.ones(5)).assignments.size == 0
    none_open = assign_batch(np.zeros((2, 0)), np.zeros(0))
    assert none_open.assignments.tolist() == [UNASSIGNED, UNASSIGNED]
