"""The assignment analytics figures (app/services/analytics.py) against the hand-computed world
of tests/analytics_support.py, on SQLite and PostgreSQL; the filters and their refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import Dispatch
from app.models.base import clock_at
from app.plugins.contracts import MetricWindow
from app.services import analytics, metrics
from app.services.actors import acting_as
from app.services.errors import ValidationError
from tests import analytics_support as world_support
from tests import matching_support as ms
from tests.analytics_support import RANGE, t
from tests.factories import AssetTypeFactory, ManagerFactory, SkillFactory
from tests.metric_support import assign, new_dispatch
from tests.support.query_counter import counting_queries


@pytest.fixture
def actor(app):
    manager = ManagerFactory(name="Morgan Manager")
    with acting_as(manager):
        yield manager


@pytest.fixture
def world(actor):
    return world_support.build_world()


def filters(**args) -> analytics.AnalyticsFilters:
    return analytics.AnalyticsFilters.from_args(MultiDict({**RANGE, **args}))


# --- Filters --------------------------------------------------------------------------------


def test_the_default_range_is_the_last_30_local_days_ending_today(app):
    f = analytics.AnalyticsFilters.from_args(MultiDict(), today=date(2026, 6, 30))
    assert (f.range, f.since, f.until) == ("30d", date(2026, 6, 1), date(2026, 6, 30))
    assert f.window == MetricWindow(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    assert f.args() == {}
    today = analytics.AnalyticsFilters.from_args(MultiDict({"range": "today"}), today=date(2026, 6, 30))
    assert (today.since, today.until, today.args()) == (date(2026, 6, 30), date(2026, 6, 30), {"range": "today"})
    week = analytics.AnalyticsFilters.from_args(MultiDict({"range": "7d"}), today=date(2026, 6, 30))
    assert (week.since, week.until) == (date(2026, 6, 24), date(2026, 6, 30))


def test_a_custom_range_gives_its_parameters_back(app, world):
    f = filters(location=str(world.north.id), technician=str(world.ann.id))
    assert (f.since, f.until) == (date(2026, 6, 10), date(2026, 6, 11))
    assert f.location.name == "North" and f.technician.name == "Ann"
    assert f.args() == {**RANGE, "location": world.north.id, "technician": world.ann.id}
    assert analytics.AnalyticsFilters.from_args(MultiDict(f.args())) == f


def test_days_are_local_midnights_in_the_organisation_zone(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="America/New_York")
    with app.app_context():
        f = filters()
        # EDT is UTC-4 in June: 10 June 00:00 local is 04:00 UTC; the end is midnight after the 11th.
        assert f.window == MetricWindow(datetime(2026, 6, 10, 4, tzinfo=UTC), datetime(2026, 6, 12, 4, tzinfo=UTC))


@pytest.mark.parametrize(("args", "field", "says"), [
    ({"range": "year"}, "range", "not a range: choose today, 7d, 30d, or custom"),
    ({"range": "custom", "since": "2026-06-10"}, "until", "needs both dates: give until"),
    ({"range": "custom", "until": "2026-06-10"}, "since", "needs both dates: give since"),
    ({"since": "10/06/2026", "until": "2026-06-11"}, "since", "is not a date: write it as YYYY-MM-DD"),
    ({"since": "2026-06-10", "until": "2026-02-30"}, "until", "is not a date"),
    ({"since": "2026-06-11", "until": "2026-06-10"}, "until", r"is before since \(2026-06-11\)"),
    ({"since": "2025-01-01", "until": "2026-01-02"}, "until", "covers 367 days; choose at most 366"),
    ({"location": "north"}, "location", "whole number"),
    ({"location": "999999"}, "location", "There is no location #999999"),
    ({"asset_type": "999999"}, "asset_type", "There is no asset type #999999"),
    ({"skill": "999999"}, "skill", "There is no skill #999999"),
    ({"technician": "999999"}, "technician", "There is no technician #999999"),
])
def test_bad_filters_are_refused_naming_the_parameter(app, args, field, says):
    with pytest.raises(ValidationError, match=says) as refused:
        analytics.AnalyticsFilters.from_args(MultiDict(args))
    assert refused.value.field == field


def test_a_manager_is_not_a_technician_to_filter_by(app, actor):
    with pytest.raises(ValidationError, match=f"There is no technician #{actor.id}"):
        filters(technician=str(actor.id))


def test_a_leap_year_of_366_days_is_allowed(app):
    f = analytics.AnalyticsFilters.from_args(MultiDict({"since": "2024-01-01", "until": "2024-12-31"}))
    assert len(f.days) == 366 and f.range == "custom"


# --- The figures ----------------------------------------------------------------------------


def test_dispatches_by_status_and_priority(app, world):
    f = filters()
    status = analytics.by_status(f)
    assert status.total == 5
    assert {row.key: row.count for row in status.rows} == {
        "Created": 1, "Assigned": 1, "En Route": 0, "In Progress": 0, "Completed": 2, "Cancelled": 1}
    priority = analytics.by_priority(f)
    assert [(row.key, row.count) for row in priority.rows] == [("Critical", 1), ("High", 1), ("Normal", 2), ("Low", 1)]


def test_skill_demand_against_qualified_technicians_and_the_match_rate(app, world):
    skills = analytics.skill_demand(filters())
    rows = {row.skill: row for row in skills.rows}
    assert [row.skill for row in skills.rows] == ["Hydraulics", "Electrical", None]  # most demanded first
    hydraulics, electrical = rows["Hydraulics"], rows["Electrical"]
    assert (hydraulics.demand, hydraulics.assigned, hydraulics.matched, hydraulics.qualified) == (3, 3, 2, 2)
    assert hydraulics.match_rate == pytest.approx(66.67)
    assert hydraulics.demand_per_technician == 1.5
    assert (electrical.demand, electrical.assigned, electrical.matched, electrical.qualified) == (1, 1, 1, 2)
    assert (rows[None].demand, rows[None].assigned, rows[None].match_rate) == (1, 0, None)
    assert (skills.demand, skills.assigned, skills.matched, skills.match_rate) == (5, 4, 3, 75.0)


def test_a_skill_nobody_needed_is_listed_with_its_technicians(app, world):
    ms.technician("Dee", skills={"Welding": 4})
    rows = {row.skill: row for row in analytics.skill_demand(filters()).rows}
    assert (rows["Welding"].demand, rows["Welding"].qualified, rows["Welding"].match_rate) == (0, 1, None)


def test_workload_per_technician(app, world):
    load = analytics.workload(filters())
    assert [(x.name, x.assigned, x.completed, x.open, x.hours) for x in load.technicians] == [
        ("Ben", 2, 1, 1, 5.0), ("Ann", 1, 1, 0, 2.0), ("Cy", 1, 0, 0, 0.0)]  # Cy's was cancelled: no hours
    assert load.unassigned == 1 and load.assigned == 4


def test_cost_breakdown_by_asset_type_location_and_priority(app, world):
    f = filters()
    by_type = analytics.cost_breakdown(f, "asset_type")
    assert [(r.label, r.assignments, r.total, r.average) for r in by_type.rows] == [
        ("Truck", 3, 180.0, 60.0), ("Van", 1, 70.0, 70.0)]
    assert [(r.key, r.label) for r in by_type.rows] == [(str(world.truck.id), "Truck"), (str(world.van.id), "Van")]
    by_location = analytics.cost_breakdown(f, "location")
    assert [(r.label, r.total) for r in by_location.rows] == [("North", 180.0), ("South", 70.0)]
    by_priority = analytics.cost_breakdown(f, "priority")
    assert [(r.label, r.assignments, r.total) for r in by_priority.rows] == [
        ("Critical", 1, 100.0), ("High", 1, 50.0), ("Normal", 2, 100.0)]
    # The same records as metrics.operational_cost, so the totals agree.
    assert by_type.total == by_location.total == by_priority.total == metrics.operational_cost(f.window).total == 250.0
    with pytest.raises(ValidationError, match="not a cost breakdown"):
        analytics.cost_breakdown(f, "colour")


def test_sla_compliance_per_local_day_and_per_priority(app, world):
    f = filters()
    days = analytics.sla_by_day(f)
    assert [(r.key, r.completed, r.within_sla, r.rate) for r in days.rows] == [
        ("2026-06-10", 2, 1, 50.0), ("2026-06-11", 1, 0, 0.0)]
    by_priority = analytics.sla_by_priority(f)
    assert [(r.key, r.completed, r.within_sla, r.rate) for r in by_priority.rows] == [
        ("Critical", 1, 1, 100.0), ("High", 2, 0, 0.0), ("Normal", 0, 0, None), ("Low", 0, 0, None)]
    fleet = metrics.sla_compliance(f.window)  # the same rule as the alert check's
    assert (days.completed, days.within_sla) == (by_priority.completed, by_priority.within_sla) == (
        fleet.completed, fleet.within_sla) == (3, 1)


def test_recent_assignments_newest_first_with_the_exact_count(app, world):
    recent = analytics.recent_assignments(filters())
    assert recent.total == 4
    assert [(r.dispatch_number, r.technician, r.mode, r.score, r.estimated_completion_hours, r.operational_cost,
             r.sla_expected) for r in recent.rows] == [
        (world.d5.dispatch_number, "Cy", "fallback", 0.6, 1.0, 30.0, True),
        (world.d3.dispatch_number, "Ben", "batch", 0.7, 3.0, 70.0, True),
        (world.d2.dispatch_number, "Ben", "manual", 0.4, 4.0, 50.0, False),
        (world.d1.dispatch_number, "Ann", "auto", 0.9, 2.0, 100.0, True),
    ]
    assert analytics.recent_assignments(filters(), limit=1).total == 4


def test_the_optional_filters_narrow_every_figure(app, world):
    north = filters(location=str(world.north.id))
    assert analytics.by_status(north).total == 3  # d1, d2, d5
    assert analytics.cost_breakdown(north, "location").total == 180.0
    van = filters(asset_type=str(world.van.id))
    assert analytics.by_priority(van).total == 2
    assert analytics.sla_by_day(van).completed == 0
    hydraulics_id = db.session.scalar(db.select(analytics.Skill.id).where(analytics.Skill.name == "Hydraulics"))
    hydraulics = filters(skill=str(hydraulics_id))
    assert [row.skill for row in analytics.skill_demand(hydraulics).rows] == ["Hydraulics"]
    assert analytics.by_status(hydraulics).total == 3
    ben = filters(technician=str(world.ben.id))
    assert [(x.name, x.assigned) for x in analytics.workload(ben).technicians] == [("Ben", 2)]
    assert analytics.recent_assignments(ben).total == 2
    assert analytics.cost_breakdown(ben, "priority").total == 120.0
    assert analytics.sla_by_priority(ben).completed == 1


def test_no_data_is_no_data_never_zero_percent_or_an_error(app, actor):
    SkillFactory(name="Painting")  # a skill nobody holds or needs: not listed
    data = analytics.assignments_page(filters())
    assert data.empty
    assert data.status.total == 0 and all(row.count == 0 for row in data.status.rows)
    assert data.skills.rows == () and data.skills.match_rate is None
    assert data.workload.technicians == () and data.workload.unassigned == 0
    assert all(figure.rows == () and figure.total == 0 for figure in data.cost.values())
    assert [r.rate for r in data.sla_day.rows] == [None, None] and data.sla_day.rate is None
    assert data.recent.total == 0 and data.recent.rows == ()


def test_work_late_in_the_evening_lands_on_its_local_day_not_the_utc_one(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="America/New_York")
    with app.app_context(), acting_as(ManagerFactory()):
        technician = ms.technician("Nia", skills={"Hydraulics": 3})
        asset_type = AssetTypeFactory(name="Boat")
        # 23:30 on 10 June in New York (EDT, UTC-4) is 03:30 on 11 June UTC.
        late = new_dispatch(datetime(2026, 6, 11, 3, 30, tzinfo=UTC), asset__asset_type=asset_type,
                            due_date=datetime(2026, 6, 12, tzinfo=UTC))
        assign(late, technician, datetime(2026, 6, 11, 3, 31, tzinfo=UTC))
        world_support.complete(late, datetime(2026, 6, 11, 3, 45, tzinfo=UTC))  # 23:45 local, 10 June
        # 00:15 on 10 June UTC is still 9 June in New York: outside the range.
        new_dispatch(datetime(2026, 6, 10, 0, 15, tzinfo=UTC), asset__asset_type=asset_type)
        only_tenth = analytics.AnalyticsFilters.from_args(MultiDict({"since": "2026-06-10", "until": "2026-06-10"}))
        assert analytics.by_status(only_tenth).total == 1
        assert [(r.key, r.completed) for r in analytics.sla_by_day(only_tenth).rows] == [("2026-06-10", 1)]
        both = analytics.AnalyticsFilters.from_args(MultiDict(RANGE))
        assert [(r.key, r.completed) for r in analytics.sla_by_day(both).rows] == [("2026-06-10", 1), ("2026-06-11", 0)]


def test_a_day_the_clocks_change_is_23_hours_long_and_the_days_still_touch(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="Europe/London")
    with app.app_context(), acting_as(ManagerFactory()):
        new_dispatch(datetime(2026, 3, 29, 23, 30, tzinfo=UTC))  # 00:30 BST on 30 March
        f = analytics.AnalyticsFilters.from_args(MultiDict({"since": "2026-03-29", "until": "2026-03-30"}))
        assert f.window == MetricWindow(datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 30, 23, tzinfo=UTC))
        assert db.session.scalar(db.select(db.func.count(Dispatch.id)).where(
            analytics.local_day_of(Dispatch.created_date, f.days) == 1)) == 1


def test_the_figures_take_a_constant_number_of_queries(app, world):
    f = filters()
    with counting_queries() as first:
        analytics.assignments_page(f)
    # The first read sums the finished days for the cost breakdowns and keeps them: which are
    # kept, the records' sums, the day rows, their groups. Later reads find them kept.
    assert len(first) == 13, "\n".join(first)
    with counting_queries() as few:
        analytics.assignments_page(f)
    for hour in range(12):  # more of everything: dispatches, assignments, technicians
        technician = ms.technician(f"Extra {hour}", skills={"Hydraulics": 1})
        work = new_dispatch(t(10, hour), required_skill="Hydraulics", due_date=t(11, 0))
        assign(work, technician, t(10, hour, 10))
    with counting_queries() as many:
        analytics.assignments_page(f)
    assert len(few) == len(many) == 11, "\n".join(many)


def test_each_table_matches_its_figure(app, world):
    spec, rows = analytics.table("workload", filters())
    assert spec.header[:3] == ("technician", "technician id", "assigned")
    assert rows == [("Ben", world.ben.id, 2, 1, 1, 5.0), ("Ann", world.ann.id, 1, 1, 0, 2.0),
                    ("Cy", world.cy.id, 1, 0, 0, 0.0), ("nobody", None, 1, 0, 0, None)]
    _, skills = analytics.table("skills", filters())
    assert skills[0] == ("Hydraulics", 3, 3, 2, 66.67, 2)
    with clock_at(t(12, 12)):
        assert set(analytics.TABLES) == {"status", "priority", "skills", "workload", "cost-asset-type",
                                         "cost-location", "cost-priority", "sla-day", "sla-priority", "recent"}


def test_work_naming_no_skill_is_never_counted_as_a_technician_lacking_it(app, world):
    assign(world.d4, world.ann, t(11, 12, 30))  # d4 names no skill; now it has a technician
    from app.blueprints.dashboards.views import _assignment_charts

    none = next(row for row in analytics.skill_demand(filters()).rows if row.skill is None)
    assert (none.demand, none.assigned, none.matched, none.lacking, none.match_rate) == (1, 1, 0, 0, None)
    hydraulics = next(row for row in analytics.skill_demand(filters()).rows if row.skill == "Hydraulics")
    assert hydraulics.lacking == hydraulics.assigned - hydraulics.matched == 1
    _, rows = analytics.table("skills", filters())
    assert rows[-1] == ("no skill named", 1, 1, None, None, None)
    chart = _assignment_charts(analytics.assignments_page(filters()))["skills"]
    assert chart.series == ("technician holds it", "technician lacks it", "no technician yet",
                            "technician, no skill needed")
    bar = next(bar for bar in chart.bars if bar.label == "no skill named")
    assert [(segment.name, segment.value) for segment in bar.segments] == [("technician, no skill needed", 1.0)]
    lacking = next(bar for bar in chart.bars if bar.label == "Hydraulics")
    assert ("technician lacks it", 1.0) in [(segment.name, segment.value) for segment in lacking.segments]
