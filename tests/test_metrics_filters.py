"""The metrics narrowed by the analytics filters (``metrics.Scope``), against the hand-computed
world of tests/analytics_support.py (SQLite and PostgreSQL).

Records in the range (10–11 June): r1 d1 Ann 100 (Truck, North, Hydraulics), r2 d2 Ben 50
(Truck, North, Hydraulics), r3 d3 Ben 70 (Van, South, Electrical), r4 d5 Cy 30 (Truck,
North, Hydraulics), each routed in 60 s. Completed in the range: d0 Ann late, d1 Ann met,
d2 Ben late (all Truck, North, Hydraulics). d4 (Van, South, no skill) waits unassigned.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import DispatchMetric
from app.services import analytics, metrics
from app.services.actors import acting_as
from app.services.errors import ValidationError
from tests import analytics_support as world_support
from tests.analytics_support import RANGE
from tests.factories import ManagerFactory


@pytest.fixture
def world(app):
    with acting_as(ManagerFactory(name="Morgan Manager")):
        return world_support.build_world()


@pytest.fixture
def window(world):
    return analytics.AnalyticsFilters.from_args(MultiDict(RANGE)).metric_window


def figures(window, scope):
    speed = metrics.routing_speed(window, scope=scope)
    cost = metrics.operational_cost(window, scope=scope)
    sla = metrics.sla_compliance(window, scope=scope)
    return {"routing": (speed.assignments, speed.p50_seconds, speed.waiting_over),
            "cost": (cost.assignments, cost.total, cost.worst),
            "sla": (sla.completed, sla.within_sla),
            "estimates": metrics.completion_estimates(window, scope=scope).assignments}


def test_the_whole_fleet(window):
    # d4 has waited since 11 Jun 12:00, longer than the 60 s p95 at the window's end.
    assert figures(window, None) == {"routing": (4, 60.0, 1), "cost": (4, 250.0, 100.0), "sla": (3, 1),
                                     "estimates": 4}


@pytest.mark.parametrize(("filters", "expected"), [
    # North: r1, r2, r4; d0, d1, d2 completed; nothing waits there.
    ({"location": "north"}, {"routing": (3, 60.0, 0), "cost": (3, 180.0, 100.0), "sla": (3, 1), "estimates": 3}),
    # South: r3 only; d4 waits there.
    ({"location": "south"}, {"routing": (1, 60.0, 1), "cost": (1, 70.0, 70.0), "sla": (0, 0), "estimates": 1}),
    # Vans: r3; d4 (a van) waits.
    ({"asset_type": "van"}, {"routing": (1, 60.0, 1), "cost": (1, 70.0, 70.0), "sla": (0, 0), "estimates": 1}),
    # Hydraulics: r1, r2, r4; d4 needs no skill, so nothing waits for Hydraulics.
    ({"skill": "hydraulics"}, {"routing": (3, 60.0, 0), "cost": (3, 180.0, 100.0), "sla": (3, 1),
                               "estimates": 3}),
    # Ben: his records r2, r3; he completed d2 (late); waiting work is nobody's.
    ({"technician": "ben"}, {"routing": (2, 60.0, 0), "cost": (2, 120.0, 70.0), "sla": (1, 0), "estimates": 2}),
    # Ann's records in the range: r1 (r0 is before it); she completed d0 (late) and d1 (met).
    ({"technician": "ann"}, {"routing": (1, 60.0, 0), "cost": (1, 100.0, 100.0), "sla": (2, 1), "estimates": 1}),
    # Electrical at South for Ben: r3; no completion.
    ({"skill": "electrical", "location": "south", "technician": "ben"},
     {"routing": (1, 60.0, 0), "cost": (1, 70.0, 70.0), "sla": (0, 0), "estimates": 1}),
    # Hydraulics vans: none.
    ({"skill": "hydraulics", "asset_type": "van"},
     {"routing": (0, None, 0), "cost": (0, None, None), "sla": (0, 0), "estimates": 0}),
])
def test_each_filter_narrows_the_dispatch_figures(world, window, filters, expected):
    ids = {"north": world.north.id, "south": world.south.id, "van": world.van.id, "ben": world.ben.id,
           "ann": world.ann.id}
    skills = {"hydraulics": "Hydraulics", "electrical": "Electrical"}
    scope = metrics.Scope(location_id=ids.get(filters.get("location")),
                          asset_type_id=ids.get(filters.get("asset_type")),
                          skill=skills.get(filters.get("skill")), technician_id=ids.get(filters.get("technician")))
    assert figures(window, scope) == expected


def test_the_page_filters_give_the_scope(world):
    filters = analytics.AnalyticsFilters.from_args(MultiDict({**RANGE, "location": str(world.north.id),
                                                              "technician": str(world.ben.id)}))
    assert filters.metric_scope == metrics.Scope(location_id=world.north.id, technician_id=world.ben.id)
    assert analytics.AnalyticsFilters.from_args(MultiDict(RANGE)).metric_scope == metrics.FLEET


def test_technician_figures_take_the_technician(world, window):
    ben = metrics.Scope(technician_id=world.ben.id)
    assert metrics.burnout(window).assessed == 3  # Ann, Ben, Cy
    assert metrics.burnout(window, scope=ben).assessed == 1
    assert [t.technician_id for t in metrics.utilisation(window, scope=ben).technicians] == [world.ben.id]
    assert metrics.utilisation(window, scope=ben).booked_hours == metrics.utilisation(
        window, technician_id=world.ben.id).booked_hours
    assert sum(metrics.technician_states(scope=ben).values()) == 1
    assert sum(metrics.technician_states().values()) == 3


@pytest.mark.parametrize("figure", ["burnout", "utilisation", "technician_states"])
def test_technician_figures_refuse_a_dispatch_filter_and_say_why(world, window, figure):
    scope = metrics.Scope(location_id=world.north.id, skill="Hydraulics")
    reason = metrics.not_narrowable(figure, scope)
    assert "cannot be narrowed by location, skill" in reason and "technician filter" in reason
    assert metrics.not_narrowable(figure, metrics.Scope(technician_id=world.ben.id)) is None
    before = db.session.scalar(select(func.count(DispatchMetric.id)))
    call = {"burnout": lambda: metrics.burnout(window, scope=scope),
            "utilisation": lambda: metrics.utilisation(window, scope=scope),
            "technician_states": lambda: metrics.technician_states(scope=scope)}[figure]
    with pytest.raises(ValidationError) as refused:
        call()
    assert refused.value.message == reason and refused.value.field == "location"
    assert db.session.scalar(select(func.count(DispatchMetric.id))) == before
    for name in ("routing_speed", "sla_compliance", "operational_cost"):
        assert metrics.not_narrowable(name, scope) is None


def test_the_alert_checks_figures_run_the_same_queries_as_before(world, window):
    """No scope (the alert checks, the summaries) and the empty scope: the same SQL, no narrowing."""
    def statements(scope):
        seen = []

        def record(conn, cursor, statement, *args):
            seen.append(statement)

        engine = db.session.get_bind()
        event.listen(engine, "before_cursor_execute", record)
        try:
            result = (metrics.routing_speed(window, scope=scope), metrics.operational_cost(window, scope=scope),
                      metrics.sla_compliance(window, scope=scope), metrics.burnout(window, scope=scope),
                      metrics.utilisation(window, scope=scope), metrics.completion_estimates(window, scope=scope))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        return result, seen

    plain, plain_sql = statements(None)
    fleet, fleet_sql = statements(metrics.FLEET)
    assert plain == fleet and plain_sql == fleet_sql
    assert not any("required_skill" in sql or "dispatch_location_id" in sql for sql in plain_sql)
    narrowed, narrowed_sql = statements(metrics.Scope(technician_id=world.ben.id))
    assert narrowed != plain and narrowed_sql != plain_sql
