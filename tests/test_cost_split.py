"""The cost estimate's parts: labour within the shift, overtime past it, travel.

Priced by the engine (app/matching/estimates.py), stored on each assignment record for every
mode, and added up with the records written before the parts were stored ("not split").
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, time

import numpy as np
import pytest
from sqlalchemy import select

from app.extensions import db
from app.matching import assignment_metrics, cost_parts_for, operational_cost_for
from app.models import Dispatch, DispatchMetric
from app.models.base import clock_at
from app.services import matching
from tests import matching_support as ms
from tests.api_support import bearer, token_for
from tests.factories import DispatchMetricFactory, ManagerFactory
from tests.test_matching_engine import make_pool, make_request, score_pool

WEDNESDAY_10 = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def actor(system_actor):
    return system_actor


def metrics_of(dispatch: Dispatch) -> list[DispatchMetric]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(DispatchMetric).where(DispatchMetric.dispatch_id == dispatch.id).order_by(DispatchMetric.id)))


def assert_split(metric: DispatchMetric) -> None:
    parts = (metric.labour_cost, metric.overtime_cost, metric.travel_cost)
    assert None not in parts, metric.mode
    assert all(part >= 0 for part in parts)
    # Each part to the cent and the total their sum, to the cent.
    assert all(round(part, 2) == part for part in parts)
    assert round(math.fsum(parts), 2) == metric.operational_cost


# --- The engine ---------------------------------------------------------------------------------


def test_the_parts_are_hand_computed_labour_overtime_and_travel():
    # One hour of shift left, 40/h, overtime × 1.5; 2 h of work and 50 km (1 h at 50 km/h):
    # 3 h paid, 1 within the shift (40), 2 past it (2 × 60 = 120), 50 km × 0.5 = 25.
    pool = make_pool(2, shift_hours_left=[1.0, 8.0], hourly_rate=[40.0, 40.0], overtime_multiplier=[1.5, 1.5])
    labour, overtime, travel = cost_parts_for(pool, np.arange(2), 3.0, 50.0)
    np.testing.assert_allclose(labour, [40.0, 120.0])
    np.testing.assert_allclose(overtime, [120.0, 0.0])
    np.testing.assert_allclose(travel, [25.0, 25.0])
    np.testing.assert_allclose(operational_cost_for(pool, np.arange(2), 3.0, 50.0), [185.0, 145.0])


def test_assignment_metrics_carry_the_parts_and_the_total_is_their_sum():
    pool = make_pool(1, shift_hours_left=[1.0], hourly_rate=[40.0], overtime_multiplier=[1.5])
    request = make_request(estimated_duration_hours=2.0)
    distances = np.array([50.0])
    values = assignment_metrics(pool, score_pool(pool, request, distances), 0, request, distances)
    assert (values["labour_cost"], values["overtime_cost"], values["travel_cost"]) == (40.0, 120.0, 25.0)
    assert values["operational_cost"] == 185.0
    # A third of a cent in each part: rounded apart, the total is still their sum.
    odd = make_pool(1, shift_hours_left=[1.0], hourly_rate=[40.003], overtime_multiplier=[1.5])
    values = assignment_metrics(odd, score_pool(odd, request, distances), 0, request, distances)
    assert values["operational_cost"] == round(values["labour_cost"] + values["overtime_cost"]
                                               + values["travel_cost"], 2)


# --- Every assignment mode writes the parts -------------------------------------------------------


def test_automatic_assignment_stores_the_hand_computed_parts(app, actor):
    app.config["MOTORPOOL_AUTO_ASSIGN"] = True
    with clock_at(WEDNESDAY_10):
        # The shift ends at 11:00: one hour within it, the rest of the job is overtime.
        ms.technician("Late", at=ms.km_east(50), shift_days="1234567", shift_start=time(8, 0),
                      shift_end=time(11, 0))
        dispatch = ms.dispatch(at=ms.LEEDS, hours=2.0, auto_assign=None)
    [metric] = metrics_of(dispatch)
    assert metric.mode == "auto"
    assert_split(metric)
    hours = metric.estimated_completion_hours  # 50 km at 50 km/h, then 2 h of work
    assert hours == pytest.approx(3.0, abs=0.01)
    assert metric.labour_cost == 40.0
    assert metric.overtime_cost == pytest.approx(40.0 * 1.5 * (hours - 1.0), abs=0.01)
    assert metric.travel_cost == pytest.approx(50 * 0.5, abs=0.05)


def test_manual_and_override_assignments_store_the_parts(app, actor):
    ms.technician("Top", skills={"diesel": 5})
    pick = ms.technician("Pick", at=ms.km_east(20), skills={"diesel": 1})
    night = ms.technician("Night", shift_days=ms.off_shift_days())
    manual = ms.dispatch()
    matching.assign_to(manual, pick.id, reason="Knows the customer")
    [metric] = metrics_of(manual)
    assert metric.mode == "manual"
    assert_split(metric)
    assert metric.travel_cost == pytest.approx(20 * 0.5, abs=0.05)

    override = ms.dispatch()
    matching.assign_to(override, night.id, reason="Lives next to the depot")
    [metric] = metrics_of(override)
    assert metric.mode == "override"
    assert_split(metric)
    # Off shift: no hours left within it, so every paid hour is overtime.
    assert metric.labour_cost == 0.0 and metric.overtime_cost > 0


def test_fallback_and_batch_assignments_store_the_parts(app, actor, runner):
    chosen = ms.technician("Chosen", at=ms.km_east(1), skills={"diesel": 5})
    ms.technician("Runner Up", at=ms.km_east(5), skills={"diesel": 4})
    dispatch = ms.dispatch()
    assert_split(matching.auto_assign(dispatch))
    matching.decline(dispatch, chosen, "sick")
    first, second = metrics_of(dispatch)
    assert (first.mode, second.mode) == ("auto", "fallback")
    assert_split(second)

    pending = [ms.dispatch() for _ in range(2)]
    result = runner.invoke(args=["dispatch", "assign-pending"])
    assert result.exit_code == 0, result.output
    batch = [m for d in pending for m in metrics_of(d)]
    assert [m.mode for m in batch] == ["batch", "batch"]
    for metric in batch:
        assert_split(metric)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_the_api_and_the_dispatch_page_show_each_assignments_parts(app, actor):
    from app.blueprints.formatting import money
    from tests.dispatch_pages_support import html, login

    ms.technician("Only", at=ms.km_east(10))
    dispatch = ms.dispatch()
    split = matching.auto_assign(dispatch)
    manager = ManagerFactory()
    client = app.test_client()
    login(client, manager)
    page = html(client.get(f"/dispatches/{dispatch.id}"))
    assert (f"{money(split.operational_cost)} (labour {money(split.labour_cost)}, overtime "
            f"{money(split.overtime_cost)}, travel {money(split.travel_cost)})") in page

    old = DispatchMetricFactory(dispatch=dispatch, technician=split.technician, operational_cost=12.0)
    db.session.commit()
    page = html(client.get(f"/dispatches/{dispatch.id}"))
    assert f"<dd>{money(12.0)}</dd>" in page  # written before the parts: the total alone
    api = app.test_client()
    body = api.get("/api/v1/assignments", headers=bearer(token_for(manager))).get_json()
    rows = {row["id"]: row for row in body["items"]}
    assert [rows[split.id][k] for k in ("labour_cost", "overtime_cost", "travel_cost")] == [
        split.labour_cost, split.overtime_cost, split.travel_cost]
    assert [rows[old.id][k] for k in ("operational_cost", "labour_cost", "overtime_cost", "travel_cost")] == [
        12.0, None, None, None]
