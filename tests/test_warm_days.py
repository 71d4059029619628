"""Finished days kept ahead of their first reader: ``warm_days.warm``, the ``warm-days`` job
(its daily slot, its run at start-up, a failure recorded), ``flask rollups warm`` and
``flask seed-demo``.

New York (EDT, UTC−4); "now" is Wednesday 10 June 2026 12:00 UTC (08:00 local). The records:
7 June 23:59 local (999.00, High), 9 June 01:00 (100.00, High), 9 June 14:00 (40.50, Low),
9 June 23:30 (60.25, High, 10 June in UTC) and today 00:30 (10.00, Low, never kept).
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import DailyCostGroup, DailyRollup, DailyTrend, JobRun
from app.models.base import clock_at
from app.services import daily_rollups, local_time, metrics, scheduler, warm_days
from tests.factories import AssetFactory, AssetTypeFactory, DispatchFactory, DispatchMetricFactory, MajorLocationFactory

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
    truck = AssetTypeFactory(name="Truck")
    north = MajorLocationFactory(name="North")
    lorry = DispatchFactory(asset=AssetFactory(asset_type=truck), dispatch_location=north, priority="High")
    transit = DispatchFactory(asset=AssetFactory(asset_type=truck), dispatch_location=north, priority="Low")
    for at, dispatch, cost, routing in [
        (utc(8, 3, 59), lorry, 999.0, 30.0),
        (utc(9, 5), lorry, 100.0, 10.0),
        (utc(9, 18), transit, 40.5, 20.0),
        (utc(10, 3, 30), lorry, 60.25, 40.0),
        (utc(10, 4, 30), transit, 10.0, 50.0),
    ]:
        DispatchMetricFactory(created_at=at, dispatch=dispatch, operational_cost=cost, routing_speed_seconds=routing)
    db.session.commit()
    return {"lorry": lorry, "transit": transit}


def kept_days(model) -> dict[date, datetime]:
    db.session.expire_all()
    return dict(db.session.execute(select(model.day, model.computed_at)).all())


def cost_groups() -> dict[date, list[tuple]]:
    db.session.expire_all()
    found: dict[date, list[tuple]] = {}
    for row in db.session.execute(select(DailyCostGroup.day, DailyCostGroup.priority, DailyCostGroup.assignments,
                                         DailyCostGroup.total_cost).order_by(DailyCostGroup.day, DailyCostGroup.priority)):
        found.setdefault(row.day, []).append((row.priority, row.assignments, row.total_cost))
    return found


class Inserts:
    """The INSERT statements sent while active."""

    def __init__(self):
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT"):
            self.statements.append(statement)


JUNE = [date(2026, 6, d) for d in range(5, 10)]  # the five finished days before 10 June


def test_warm_keeps_the_missing_finished_days_and_a_second_run_writes_nothing(app, fleet):
    result = warm_days.warm(5)
    assert (result.first, result.last, result.trend_days_kept, result.cost_days_kept) == (JUNE[0], JUNE[-1], 5, 5)
    assert (result.trend_days_missing, result.cost_days_missing) == (0, 0)
    assert str(result) == "kept 5 trend days and 5 cost days of the 5 finished days 2026-06-05 to 2026-06-09"
    trends, costs = kept_days(DailyTrend), kept_days(DailyRollup)
    assert sorted(trends) == sorted(costs) == JUNE  # today (10 June) is not finished: not kept
    # 9 June local: 100.00 and 60.25 High (the second after midnight UTC), 40.50 Low; 7 June: 999.00.
    assert cost_groups() == {date(2026, 6, 7): [("High", 1, 999.0)],
                             date(2026, 6, 9): [("High", 2, 160.25), ("Low", 1, 40.5)]}
    with Inserts() as inserts:
        again = warm_days.warm(5)
    assert (again.trend_days_kept, again.cost_days_kept) == (0, 0)
    assert inserts.statements == []
    assert kept_days(DailyTrend) == trends and kept_days(DailyRollup) == costs


def test_warm_keeps_only_the_days_missing(app, fleet):
    zone = local_time.organisation_zone()
    metrics.daily_trends(2, end=local_time.start_of_day(date(2026, 6, 9), zone))  # keeps 8 June
    daily_rollups.cost_rows(date(2026, 6, 8), date(2026, 6, 9))  # keeps 8 and 9 June
    trends_before, costs_before = kept_days(DailyTrend), kept_days(DailyRollup)
    assert (sorted(trends_before), sorted(costs_before)) == ([date(2026, 6, 8)], JUNE[3:])
    with clock_at(NOW + timedelta(minutes=5)):
        result = warm_days.warm(5)
    assert (result.trend_days_kept, result.cost_days_kept) == (4, 3)
    trends, costs = kept_days(DailyTrend), kept_days(DailyRollup)
    assert sorted(trends) == sorted(costs) == JUNE
    # The days kept before are untouched; the others were written by this run.
    assert {day: trends[day] for day in trends_before} == trends_before
    assert {day: costs[day] for day in costs_before} == costs_before
    assert {trends[day] for day in trends if day not in trends_before} == {NOW + timedelta(minutes=5)}


def test_the_figures_read_after_warming_equal_the_direct_computation(app, fleet):
    warm_days.warm(5)
    zone = local_time.organisation_zone()
    spans = [(day, local_time.start_of_day(day, zone), local_time.start_of_day(day + timedelta(days=1), zone))
             for day in JUNE]
    direct = metrics._trend_days(spans)
    read = {trend.day: trend for trend in metrics.daily_trends(6)}
    assert [read[day] for day in JUNE] == [direct[day] for day in JUNE]
    assert read[date(2026, 6, 9)].assignments == 3 and read[date(2026, 6, 9)].routing_p50_seconds == 20.0
    summed = db.session.execute(daily_rollups._groups_query(spans[0][1], spans[-1][2])).all()
    assert sorted(tuple(row) for row in daily_rollups.cost_rows(JUNE[0], JUNE[-1])) == sorted(tuple(r) for r in summed)


def test_a_day_changed_after_warming_is_forgotten_and_kept_again_by_the_next_run(app, fleet):
    warm_days.warm(5)
    DispatchMetricFactory(created_at=utc(9, 6), dispatch=fleet["lorry"], operational_cost=1.0, routing_speed_seconds=5.0)
    db.session.commit()
    assert date(2026, 6, 9) not in kept_days(DailyTrend) and date(2026, 6, 9) not in kept_days(DailyRollup)
    with clock_at(NOW + timedelta(minutes=1)):
        result = warm_days.warm(5)
    assert (result.trend_days_kept, result.cost_days_kept) == (1, 1)
    assert cost_groups()[date(2026, 6, 9)] == [("High", 3, 161.25), ("Low", 1, 40.5)]
    assert kept_days(DailyTrend)[date(2026, 6, 9)] == NOW + timedelta(minutes=1)
    assert next(t for t in metrics.daily_trends(6) if t.day == date(2026, 6, 9)).assignments == 4


def test_the_job_runs_after_local_midnight_for_the_days_before_its_slot(app, fleet, system_actor):
    job = scheduler.jobs(app)["warm-days"]
    entry = scheduler.effective_schedule("warm-days")
    assert (entry.schedule.kind, f"{entry.schedule.at:%H:%M}") == ("daily", "00:05")
    slot = scheduler.latest_slot(entry.schedule, NOW, local_time.organisation_zone())
    assert slot == utc(10, 4, 5)  # 00:05 in New York
    result = scheduler.run_slot("warm-days", slot)
    assert result.outcome == "succeeded"
    assert result.message == "kept 400 trend days and 400 cost days of the 400 finished days 2025-05-06 to 2026-06-09"
    assert job.at_start and len(kept_days(DailyTrend)) == len(kept_days(DailyRollup)) == 400
    assert scheduler.run_now("warm-days").message.startswith("kept 0 trend days and 0 cost days of the 400")


def test_a_failed_warm_run_is_recorded_with_what_was_wrong_and_keeps_nothing(app, fleet, system_actor, monkeypatch):
    monkeypatch.setitem(app.config, "MOTORPOOL_WARM_DAYS", 0)
    result = scheduler.run_now("warm-days")
    assert result.outcome == "failed"
    assert "give the days to keep as a whole number from 1 to 3660, not 0" in result.run.error
    assert kept_days(DailyTrend) == {} and kept_days(DailyRollup) == {}


@pytest.mark.parametrize("value", [0, -3, 3661, "400"])
def test_a_bad_configured_number_of_days_stops_start_up_with_what_to_set(make_app, value):
    with pytest.raises(ValueError, match="MOTORPOOL_WARM_DAYS: give the days to keep"):
        make_app(MOTORPOOL_WARM_DAYS=value)


def test_at_start_the_scheduler_keeps_the_missing_days_even_when_todays_slot_ran(app, system_actor):
    for entry in scheduler.effective_schedules():
        if entry.name != "warm-days":
            scheduler.update_schedule(entry.name, enabled=False, interval="5", at="08:00", weekday="0")
    app.config["MOTORPOOL_WARM_DAYS"] = 3
    today = scheduler.latest_slot(scheduler.effective_schedule("warm-days").schedule, datetime.now(UTC), UTC)
    assert scheduler.run_slot("warm-days", today).outcome == "succeeded"
    db.session.execute(DailyTrend.__table__.delete())  # as if the days had been forgotten since
    db.session.commit()
    db.session.remove()
    process = scheduler.Scheduler(app)
    process.start()
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not startup_runs(app):
            time.sleep(0.05)
    finally:
        process.shutdown()
    runs = startup_runs(app)
    assert [(run.outcome, run.summary.split(" of ")[0]) for run in runs] == [
        ("succeeded", "kept 3 trend days and 0 cost days")]


def startup_runs(app) -> list[JobRun]:
    with app.app_context():
        try:
            return list(db.session.scalars(select(JobRun).where(JobRun.job == "warm-days", JobRun.trigger == "startup",
                                                               JobRun.outcome != "running")))
        finally:
            db.session.remove()


def test_flask_rollups_warm_keeps_the_days_and_refuses_a_bad_number(app, fleet):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["rollups", "warm", "--days", "0"])
    assert refused.exit_code == 2 and "--days" in refused.output and "0 is not in the range 1<=x<=3660" in refused.output
    assert kept_days(DailyRollup) == {}
    result = runner.invoke(args=["rollups", "warm", "--days", "5"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Kept 5 trend days and 5 cost days of the 5 finished days 2026-06-05 to 2026-06-09 in ")
    assert sorted(kept_days(DailyRollup)) == JUNE
    again = runner.invoke(args=["rollups", "warm", "--days", "5"])
    assert again.output.startswith("Kept 0 trend days and 0 cost days")
    assert db.session.scalar(select(func.count()).select_from(DailyTrend)) == 5
