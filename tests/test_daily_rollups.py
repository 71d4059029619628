"""The figures of a long range against hand-computed fixtures: the kept cost sums of finished
local days (``daily_rollups``), the percentiles read at their rank, the per-day CASE.

The organisation is in New York (EDT, UTC−4) and "now" is Wednesday 10 June 2026 12:00 UTC
(08:00 local): 8 and 9 June have ended, 10 June has not. 9 June runs from 04:00 UTC on the
9th to 04:00 UTC on the 10th.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, literal, select, update
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.models import DailyCostGroup, DailyRollup, Dispatch, DispatchMetric
from app.models.base import clock_at
from app.plugins.contracts import MetricWindow
from app.services import analytics, local_time, metrics
from tests.factories import (
    AssetFactory,
    AssetTypeFactory,
    DispatchFactory,
    DispatchMetricFactory,
    MajorLocationFactory,
)

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def new_york(app, monkeypatch):
    monkeypatch.setitem(app.config, "MOTORPOOL_TIMEZONE", "America/New_York")
    with clock_at(NOW):
        yield


@pytest.fixture
def fleet(new_york):
    """Two asset types, two locations; the records of three local days and of the day before."""
    truck, van = AssetTypeFactory(name="Truck"), AssetTypeFactory(name="Van")
    north, south = MajorLocationFactory(name="North"), MajorLocationFactory(name="South")
    lorry = DispatchFactory(asset=AssetFactory(asset_type=truck), dispatch_location=north, priority="High")
    transit = DispatchFactory(asset=AssetFactory(asset_type=van), dispatch_location=south, priority="Low")
    for at, dispatch, cost in [
        (utc(8, 3, 59), lorry, 999.0),  # 7 June 23:59 in New York: before the range
        (utc(9, 5), lorry, 100.0),  # 9 June 01:00
        (utc(9, 18), transit, 40.5),
        (utc(10, 3, 30), lorry, 60.25),  # 9 June 23:30 in New York (10 June in UTC)
        (utc(10, 4, 30), transit, 10.0),  # 10 June 00:30: today, read from the records
        (utc(9, 20), lorry, None),  # no estimate: not counted
    ]:
        DispatchMetricFactory(created_at=at, dispatch=dispatch, operational_cost=cost)
    db.session.commit()
    return {"truck": truck, "van": van, "north": north, "south": south, "lorry": lorry, "transit": transit}


def three_days(**args) -> analytics.AnalyticsFilters:
    return analytics.AnalyticsFilters.from_args(MultiDict({"since": "2026-06-08", "until": "2026-06-10", **args}))


def table(filters, by="asset_type") -> list[tuple]:
    return [(row.label, row.assignments, row.total, row.average) for row in analytics.cost_breakdowns(filters)[by].rows]


def from_records(filters, by="asset_type") -> list[tuple]:
    """The breakdown computed from the records alone, the way it was before any day was kept."""
    return [(row.label, row.assignments, row.total, row.average)
            for row in analytics.breakdowns_of(analytics._cost_rows_from_records(filters))[by].rows]


def kept() -> dict[date, list[tuple]]:
    db.session.expire_all()
    days = {day: [] for day in db.session.scalars(select(DailyRollup.day))}
    for row in db.session.execute(select(DailyCostGroup.day, DailyCostGroup.priority, DailyCostGroup.assignments,
                                         DailyCostGroup.total_cost).order_by(DailyCostGroup.priority)):
        days[row.day].append((row.priority, row.assignments, row.total_cost))
    return days


# --- The kept cost sums ------------------------------------------------------------------------


def test_the_breakdowns_are_the_records_sums_by_local_day(app, fleet):
    f = three_days()
    # Truck: 100 (9 June 01:00) + 60.25 (9 June 23:30 local); Van: 40.5 + 10 (today). The 999
    # of 7 June local time (8 June in UTC) is outside; the record without an estimate is not counted.
    expected = [("Truck", 2, 160.25, 80.12), ("Van", 2, 50.5, 25.25)]
    assert table(f) == expected == from_records(f)
    assert table(f, "location") == [("North", 2, 160.25, 80.12), ("South", 2, 50.5, 25.25)] == from_records(f, "location")
    assert table(f, "priority") == [("High", 2, 160.25, 80.12), ("Low", 2, 50.5, 25.25)] == from_records(f, "priority")


def test_finished_local_days_are_kept_and_today_is_not(app, fleet):
    table(three_days())
    assert kept() == {date(2026, 6, 8): [], date(2026, 6, 9): [("High", 2, 160.25), ("Low", 1, 40.5)]}
    ninth = db.session.get(DailyRollup, ("America/New_York", date(2026, 6, 9)))
    assert (ninth.starts_at, ninth.ends_at) == (utc(9, 4), utc(10, 4))
    # Read again, the kept days give the same figures.
    assert table(three_days()) == [("Truck", 2, 160.25, 80.12), ("Van", 2, 50.5, 25.25)]


def test_a_kept_day_is_read_not_summed_again(app, fleet):
    table(three_days())
    # Written behind the figures' back: the kept sum wins, which shows the figure comes from it.
    db.session.execute(update(DailyCostGroup).where(DailyCostGroup.priority == "High").values(total_cost=1.0))
    db.session.commit()
    assert table(three_days())[-1] == ("Truck", 2, 1.0, 0.5)


def test_the_location_and_asset_type_filters_read_the_kept_sums(app, fleet):
    table(three_days())
    for args in ({"location": str(fleet["north"].id)}, {"asset_type": str(fleet["van"].id)}):
        f = three_days(**args)
        assert table(f) == from_records(f)
    assert table(three_days(asset_type=str(fleet["van"].id))) == [("Van", 2, 50.5, 25.25)]
    assert table(three_days(location=str(fleet["north"].id)), "priority") == [("High", 2, 160.25, 80.12)]


def test_a_record_arriving_late_for_a_finished_day_is_counted(app, fleet):
    table(three_days())
    DispatchMetricFactory(created_at=utc(10, 3, 45), dispatch=fleet["transit"], operational_cost=9.5)
    db.session.commit()
    assert date(2026, 6, 9) not in kept() and date(2026, 6, 8) in kept()
    assert table(three_days()) == [("Truck", 2, 160.25, 80.12), ("Van", 3, 60.0, 20.0)] == from_records(three_days())
    assert kept()[date(2026, 6, 9)] == [("High", 2, 160.25), ("Low", 2, 50.0)]


def test_an_edited_or_deleted_record_forgets_its_day(app, fleet):
    table(three_days())
    record = db.session.scalars(select(DispatchMetric).where(DispatchMetric.operational_cost == 100.0)).one()
    record.operational_cost = 20.0
    db.session.commit()
    assert date(2026, 6, 9) not in kept()
    assert table(three_days()) == [("Truck", 2, 80.25, 40.12), ("Van", 2, 50.5, 25.25)] == from_records(three_days())
    db.session.delete(db.session.get(DispatchMetric, record.id))
    db.session.commit()
    assert date(2026, 6, 9) not in kept()
    assert table(three_days()) == [("Truck", 1, 60.25, 60.25), ("Van", 2, 50.5, 25.25)] == from_records(three_days())


def test_a_dispatch_given_another_priority_location_or_asset_moves_its_records(app, fleet):
    table(three_days())
    fleet["lorry"].priority = "Low"
    db.session.commit()
    # The lorry's records run from 7 June (local) to 9 June: every kept day between is summed again.
    assert kept() == {}
    assert table(three_days(), "priority") == [("Low", 4, 210.75, 52.69)] == from_records(three_days(), "priority")
    table(three_days())
    fleet["lorry"].dispatch_location = fleet["south"]
    db.session.commit()
    assert table(three_days(), "location") == [("South", 4, 210.75, 52.69)] == from_records(three_days(), "location")
    table(three_days())
    fleet["lorry"].asset = AssetFactory(asset_type=fleet["van"])
    db.session.commit()
    assert table(three_days()) == [("Van", 4, 210.75, 52.69)] == from_records(three_days())


def test_an_asset_given_another_type_forgets_every_kept_day(app, fleet):
    table(three_days())
    fleet["lorry"].asset.asset_type = fleet["van"]
    db.session.commit()
    assert kept() == {}
    assert table(three_days()) == [("Van", 4, 210.75, 52.69)] == from_records(three_days())


@pytest.mark.parametrize("model", [DispatchMetric, Dispatch])
def test_a_bulk_statement_forgets_every_kept_day(app, fleet, model):
    table(three_days())
    if model is DispatchMetric:
        db.session.execute(update(DispatchMetric).where(DispatchMetric.operational_cost.is_not(None))
                           .values(operational_cost=1.0))
        expected = [("Truck", 2, 2.0, 1.0), ("Van", 2, 2.0, 1.0)]
    else:
        db.session.execute(update(Dispatch).values(priority="Critical"))
        expected = [("Critical", 4, 210.75, 52.69)]
    db.session.commit()
    assert kept() == {}
    by = "asset_type" if model is DispatchMetric else "priority"
    assert table(three_days(), by) == expected == from_records(three_days(), by)


def test_a_refused_change_forgets_nothing(app, fleet):
    """A flush that fails rolls back the forgetting with it: the kept days stay as they were."""
    table(three_days())
    before = kept()
    fleet["lorry"].priority = "Someday"  # not a priority: the database refuses it
    with pytest.raises(Exception, match="priority"):
        db.session.commit()
    db.session.rollback()
    assert kept() == before


def test_each_zone_keeps_its_own_days(app, fleet, monkeypatch):
    table(three_days())
    monkeypatch.setitem(app.config, "MOTORPOOL_TIMEZONE", "UTC")
    # UTC days: the 999 of 03:59 UTC on the 8th is inside; 03:30 UTC on the 10th is 10 June.
    f = three_days()
    assert table(f) == [("Truck", 3, 1159.25, 386.42), ("Van", 2, 50.5, 25.25)] == from_records(f)
    assert db.session.scalar(select(func.count()).select_from(DailyRollup).where(DailyRollup.zone == "UTC")) == 2


def test_the_skill_and_technician_filters_read_the_records(app, fleet):
    f = three_days()
    table(f)
    db.session.execute(update(DailyCostGroup).values(total_cost=0.0))  # kept sums made wrong on purpose
    db.session.commit()
    technician = db.session.scalars(select(DispatchMetric.technician_id)
                                    .where(DispatchMetric.operational_cost == 100.0)).one()
    narrowed = analytics.AnalyticsFilters.from_args(
        MultiDict({"since": "2026-06-08", "until": "2026-06-10", "technician": str(technician)}))
    assert table(narrowed) == from_records(narrowed) and all(total > 0 for _, _, total, _ in table(narrowed))


# --- Percentiles and distributions read at their rank --------------------------------------------


def test_routing_percentiles_are_nearest_rank_with_ties_and_equal_the_numbered_computation(app, new_york):
    speeds = [20.0, 5.0, 90.0, 20.0, 5.0, 10.0, 20.0]
    for i, speed in enumerate(speeds):
        DispatchMetricFactory(created_at=utc(9, 5 + i), routing_speed_seconds=speed)
    DispatchMetricFactory(created_at=utc(9, 5, 30), routing_speed_seconds=None)
    DispatchMetricFactory(created_at=utc(8, 5), routing_speed_seconds=1.0)  # outside the window
    db.session.commit()
    window = MetricWindow(utc(9, 0), utc(10, 0))
    speed = metrics.routing_speed(window)
    # Sorted: 5 5 10 20 20 20 90. p50 rank ⌈3.5⌉ = 4 → 20; p95 rank ⌈6.65⌉ = 7 → 90.
    assert (speed.assignments, speed.p50_seconds, speed.p95_seconds, speed.worst_seconds) == (7, 20.0, 90.0, 90.0)
    m = DispatchMetric
    numbered = metrics._percentiles_by(m.routing_speed_seconds, None, m.created_at >= window.start,
                                       m.created_at < window.end)[0]
    assert numbered == (7, 20.0, 90.0, 90.0)
    # One value: every percentile is it. None: no data.
    one = metrics.routing_speed(MetricWindow(utc(8, 0), utc(9, 0)))
    assert (one.assignments, one.p50_seconds, one.p95_seconds, one.worst_seconds) == (1, 1.0, 1.0, 1.0)
    empty = metrics.routing_speed(MetricWindow(utc(1, 0), utc(2, 0)))
    assert (empty.assignments, empty.p50_seconds, empty.p95_seconds, empty.worst_seconds) == (0, None, None, None)


def test_the_cost_distribution_counts_totals_and_names_the_highest_above_the_limit(app, new_york):
    costs = [400.0, 120.0, 350.0, 351.5, 900.0, 351.5]
    records = [DispatchMetricFactory(created_at=utc(9, 5 + i), operational_cost=cost) for i, cost in enumerate(costs)]
    DispatchMetricFactory(created_at=utc(9, 4), operational_cost=None)
    db.session.commit()
    cost = metrics.operational_cost(MetricWindow(utc(9, 0), utc(10, 0)), limit_cost=350.0, limit=3)
    assert (cost.assignments, cost.total, cost.worst, cost.above) == (6, 2473.0, 900.0, 4)
    assert cost.average == pytest.approx(2473.0 / 6)
    # The three highest of the four above the limit (350 is not above it), ties by id.
    numbers = [r.dispatch.dispatch_number for r in records]
    assert [(f.number, f.value) for f in cost.offenders] == [(numbers[4], 900.0), (numbers[0], 400.0),
                                                             (numbers[3], 351.5)]


# --- The local day of each completion -------------------------------------------------------------


def test_the_day_of_a_completion_is_its_local_day_across_a_year_and_its_clock_changes(app, new_york):
    zone = local_time.organisation_zone()
    days = [date(2025, 6, 11) + timedelta(days=i) for i in range(365)]
    edges = [local_time.start_of_day(day + timedelta(days=1), zone) for day in days]
    # Around each clock change and at the ends: a microsecond before and at each local midnight.
    chosen = [local_time.start_of_day(date(2025, 11, 2), zone), local_time.start_of_day(date(2025, 11, 3), zone),
              local_time.start_of_day(date(2026, 3, 8), zone), local_time.start_of_day(date(2026, 3, 9), zone),
              local_time.start_of_day(days[0], zone), edges[-1] - timedelta(microseconds=1), edges[200]]
    instants = sorted({moment + delta for moment in chosen for delta in (timedelta(0), timedelta(microseconds=-1))})
    for moment in instants:
        value = literal(moment, type_=Dispatch.created_date.type)
        index = db.session.scalar(select(analytics.local_day_of(value, days)))
        assert index == bisect.bisect_right(edges, moment), moment  # the first local midnight after it
        if local_time.start_of_day(days[0], zone) <= moment < edges[-1]:
            assert days[index] == local_time.to_local(moment, zone).date()
    assert db.session.scalar(select(analytics.local_day_of(literal(None, type_=Dispatch.created_date.type), days))) == 365


def test_a_record_moved_to_another_dispatch_forgets_its_day(app, fleet):
    table(three_days())
    record = db.session.scalars(select(DispatchMetric).where(DispatchMetric.operational_cost == 40.5)).one()
    record.dispatch = fleet["lorry"]  # from the van's dispatch to the truck's
    db.session.commit()
    assert date(2026, 6, 9) not in kept()
    assert table(three_days()) == [("Truck", 3, 200.75, 66.92), ("Van", 1, 10.0, 10.0)] == from_records(three_days())


# --- The cost parts: labour, overtime, travel, not split -------------------------------------------


def split_table(filters, by="priority") -> list[tuple]:
    return [(row.label, row.total, row.labour, row.overtime, row.travel, row.not_split)
            for row in analytics.cost_breakdowns(filters)[by].rows]


def split_from_records(filters, by="priority") -> list[tuple]:
    return [(row.label, row.total, row.labour, row.overtime, row.travel, row.not_split)
            for row in analytics.breakdowns_of(analytics._cost_rows_from_records(filters))[by].rows]


@pytest.fixture
def split(fleet):
    """Records with parts beside the fleet's, which have none (written before the parts were stored)."""
    for at, dispatch, parts in [
        (utc(9, 6), fleet["lorry"], (30.0, 12.5, 7.5)),  # 9 June 02:00 local: kept
        (utc(9, 19), fleet["transit"], (10.0, 0.0, 2.25)),
        (utc(10, 5), fleet["transit"], (4.0, 1.0, 0.5)),  # 10 June 01:00: today
    ]:
        DispatchMetricFactory(created_at=at, dispatch=dispatch, operational_cost=round(sum(parts), 2),
                              labour_cost=parts[0], overtime_cost=parts[1], travel_cost=parts[2])
    db.session.commit()
    return fleet


def test_the_parts_are_kept_with_the_sums_and_records_without_parts_are_not_split(app, split):
    f = three_days()
    # High: 100 + 60.25 without parts, and 30 + 12.5 + 7.5; Low: 40.5 and 10 without parts,
    # 10 + 0 + 2.25 (kept) and 4 + 1 + 0.5 (today).
    expected = [("High", 210.25, 30.0, 12.5, 7.5, 160.25), ("Low", 68.25, 14.0, 1.0, 2.75, 50.5)]
    assert split_table(f) == expected == split_from_records(f)
    for row in analytics.cost_breakdowns(f)["priority"].rows:
        assert round(row.labour + row.overtime + row.travel + row.not_split, 2) == row.total
    groups = db.session.execute(
        select(DailyCostGroup.priority, DailyCostGroup.total_cost, DailyCostGroup.labour_cost,
               DailyCostGroup.overtime_cost, DailyCostGroup.travel_cost, DailyCostGroup.unsplit_cost)
        .where(DailyCostGroup.day == date(2026, 6, 9)).order_by(DailyCostGroup.priority)).all()
    assert [tuple(g) for g in groups] == [("High", 210.25, 30.0, 12.5, 7.5, 160.25),
                                          ("Low", 52.75, 10.0, 0.0, 2.25, 40.5)]
    # Read again from the kept days: the same parts.
    assert split_table(three_days()) == expected
    assert analytics.cost_breakdowns(f)["asset_type"].part("not_split") == 210.75


def test_a_record_given_its_parts_forgets_its_day(app, split):
    split_table(three_days())
    record = db.session.scalars(select(DispatchMetric).where(DispatchMetric.operational_cost == 100.0)).one()
    record.labour_cost, record.overtime_cost, record.travel_cost = 80.0, 15.0, 5.0
    db.session.commit()
    assert date(2026, 6, 9) not in kept()
    assert split_table(three_days())[0] == ("High", 210.25, 110.0, 27.5, 12.5, 60.25) == split_from_records(
        three_days())[0]


def test_the_parts_follow_the_skill_and_technician_filters_read_from_the_records(app, split):
    record = db.session.scalars(select(DispatchMetric).where(DispatchMetric.labour_cost == 30.0)).one()
    f = three_days(technician=str(record.technician_id))
    assert split_table(f) == [("High", 50.0, 30.0, 12.5, 7.5, 0.0)]
