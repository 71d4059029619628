"""``/api/v1/reports``: the analytics figures and the metrics, the same numbers as the page's
functions for the hand-computed world of tests/analytics_support.py; refusals."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.models import Dispatch
from app.extensions import db
from sqlalchemy import func, select
from app.services import analytics, metrics
from app.services.actors import acting_as
from tests import analytics_support as world_support
from tests import matching_support as ms
from tests.analytics_support import RANGE
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import AdminFactory, ManagerFactory

QUERY = "range=custom&since=2026-06-10&until=2026-06-11"


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def world(manager):
    with acting_as(manager):
        return world_support.build_world()


def _get(app, user, path):
    return app.test_client().get(path, headers=bearer(token_for(user)))


def test_analytics_report_has_the_page_functions_numbers(app, manager, world):
    body = _get(app, manager, f"/api/v1/reports/analytics?{QUERY}").get_json()
    filters = analytics.AnalyticsFilters.from_args(MultiDict(RANGE))
    assert body["filters"]["since"] == "2026-06-10" and body["filters"]["until"] == "2026-06-11"
    assert body["status"]["total"] == 5
    assert {row["key"]: row["count"] for row in body["status"]["rows"]} == {
        "Created": 1, "Assigned": 1, "En Route": 0, "In Progress": 0, "Completed": 2, "Cancelled": 1}
    assert [(row["key"], row["count"]) for row in body["priority"]["rows"]] == [
        (row.key, row.count) for row in analytics.by_priority(filters).rows]
    skills = analytics.skill_demand(filters)
    assert [(r["skill"], r["demand"], r["matched"], r["match_rate"]) for r in body["skills"]["rows"]] == [
        (r.skill, r.demand, r.matched, r.match_rate) for r in skills.rows]
    load = analytics.workload(filters)
    assert [(t["name"], t["assigned"], t["hours"]) for t in body["workload"]["technicians"]] == [
        (t.name, t.assigned, t.hours) for t in load.technicians]
    assert body["workload"]["unassigned"] == load.unassigned
    parts = ("total", "labour", "overtime", "travel", "not_split")
    for by in analytics.COST_GROUPS:
        assert [(r["label"], *(r[p] for p in parts)) for r in body["cost"][by]["rows"]] == [
            (r.label, *(getattr(r, p) for p in parts)) for r in analytics.cost_breakdown(filters, by).rows]
    # Hand-computed (tests/analytics_support.py): r4 (Normal, 30.0) was written without parts.
    assert [[r[p] for p in parts] for r in body["cost"]["priority"]["rows"]] == [
        [100.0, 60.0, 30.0, 10.0, 0.0], [50.0, 40.0, 0.0, 10.0, 0.0], [100.0, 50.0, 15.0, 5.0, 30.0]]
    sla = analytics.sla_by_day(filters)
    assert [(r["key"], r["completed"], r["within_sla"], r["rate"]) for r in body["sla_day"]["rows"]] == [
        (r.key, r.completed, r.within_sla, r.rate) for r in sla.rows]
    assert body["recent"]["total"] == 4
    assert [r["dispatch_number"] for r in body["recent"]["rows"]] == [
        r.dispatch_number for r in analytics.recent_assignments(filters).rows]


def test_metrics_report_has_the_metric_functions_numbers(app, manager, world):
    body = _get(app, manager, f"/api/v1/reports/metrics?{QUERY}").get_json()
    window = analytics.AnalyticsFilters.from_args(MultiDict(RANGE)).metric_window
    speed = metrics.routing_speed(window)
    assert body["routing_speed"] == metrics.jsonable(speed) | {k: v for k, v in body["routing_speed"].items()
                                                              if k not in metrics.jsonable(speed)}
    cost = metrics.operational_cost(window)
    assert body["operational_cost"]["total"] == cost.total and cost.total == pytest.approx(250.0)
    sla = metrics.sla_compliance(window)
    assert body["sla_compliance"]["completed"] == sla.completed
    assert body["sla_compliance"]["rate"] == sla.rate
    assert body["utilisation"]["booked_hours"] == metrics.utilisation(window).booked_hours
    assert body["burnout"] == metrics.jsonable(metrics.burnout(window)) | {
        k: v for k, v in body["burnout"].items() if k not in metrics.jsonable(metrics.burnout(window))}
    assert body["technician_states"] == metrics.technician_states()
    assert body["not_narrowable"] == {}
    assert body["window_start"].startswith("2026-06-10T00:00:00")


def test_an_admin_reads_reports_and_a_technician_may_not(app, world):
    admin, technician = AdminFactory(), ms.technician("Tess")
    assert _get(app, admin, f"/api/v1/reports/analytics?{QUERY}").status_code == 200
    assert_problem(_get(app, technician, f"/api/v1/reports/analytics?{QUERY}"), 403, "admin or manager")
    assert_problem(_get(app, technician, "/api/v1/reports/metrics"), 403, "admin or manager")
    assert_problem(app.test_client().get("/api/v1/reports/metrics"), 401)


@pytest.mark.parametrize(("query", "field", "says"), [
    ("range=forever", "range", "Must be one of"),
    ("range=custom&since=2026-06-10", "until", "both dates"),
    ("range=custom&since=2026-06-12&until=2026-06-10", "until", "before since"),
    ("since=2026-13-01&until=2026-12-01", "since", "is not a date"),
    ("range=custom&since=2025-01-01&until=2026-06-10", "until", "at most 366"),
    ("location=999999", "location", "no location #999999"),
    ("technician=abc", "technician", "technician"),
])
def test_bad_ranges_and_filters_are_refused_per_field(app, manager, query, field, says):
    for path in ("analytics", "metrics"):
        before = db.session.scalar(select(func.count(Dispatch.id)))
        body = assert_problem(_get(app, manager, f"/api/v1/reports/{path}?{query}"), 422)
        assert field in body["errors"], body
        assert says in " ".join(body["errors"][field]) + body["detail"], body
        assert db.session.scalar(select(func.count(Dispatch.id))) == before


def test_metrics_take_the_filters_and_leave_out_what_a_filter_cannot_narrow(app, manager, world):
    location = world.north.id
    body = _get(app, manager, f"/api/v1/reports/metrics?{QUERY}&location={location}").get_json()
    # North: r1, r2, r4 (100 + 50 + 30); d0, d1, d2 completed there, d1 within SLA.
    assert body["operational_cost"]["assignments"] == 3 and body["operational_cost"]["total"] == 180.0
    assert body["routing_speed"]["assignments"] == 3 and body["routing_speed"]["waiting_over"] == 0
    assert (body["sla_compliance"]["completed"], body["sla_compliance"]["within_sla"]) == (3, 1)
    assert body["filters"]["location"]["name"] == "North"
    assert body["burnout"] is None and body["utilisation"] is None and body["technician_states"] is None
    assert set(body["not_narrowable"]) == {"burnout", "utilisation", "technician_states"}
    assert "cannot be narrowed by location" in body["not_narrowable"]["burnout"]

    ben = _get(app, manager, f"/api/v1/reports/metrics?{QUERY}&technician={world.ben.id}").get_json()
    assert ben["not_narrowable"] == {}
    assert ben["operational_cost"]["total"] == 120.0 and ben["burnout"]["assessed"] == 1
    assert [t["technician_id"] for t in ben["utilisation"]["technicians"]] == [world.ben.id]
    assert sum(ben["technician_states"].values()) == 1
