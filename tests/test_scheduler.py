"""The scheduler: slots from schedules (DST included), one claim per slot, no overlap,
failures recorded, one catch-up run after downtime, the APScheduler wiring, the commands
and refused schedule edits. Jobs here are test functions of this module, named by path
exactly like the built-in ones."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import JobRun, ScheduleSetting, clock_at
from app.models.job_run import ERROR_LIMIT
from app.services import scheduler
from app.services.errors import ValidationError
from app.services.scheduler import Job, RunContext, Schedule, latest_slot, next_slot, slots_between
from tests.factories import AdminFactory

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- the test jobs ------------------------------------------------------------------------

CALLS: list[datetime] = []
_LOCK = threading.Lock()
GATE = threading.Event()
ENTERED = threading.Event()


def record(slot: datetime) -> str:
    with _LOCK:
        CALLS.append(slot)
    return f"recorded {slot:%H:%M}"


def slow(slot: datetime) -> str:
    ENTERED.set()
    assert GATE.wait(20), "the test never let the slow job finish"
    return "slow done"


def explode(slot: datetime) -> None:
    raise RuntimeError("the depot feed answered 503")


def explode_long(slot: datetime) -> None:
    raise RuntimeError("x" * (ERROR_LIMIT * 3))


@pytest.fixture
def jobs(app):
    CALLS.clear()
    GATE.clear()
    ENTERED.clear()
    app.config.update(TEST_DAILY_MINUTES=1440, TEST_FIVE_MINUTES=5)
    for name, target in (("test-record", "record"), ("test-slow", "slow"), ("test-explode", "explode"),
                         ("test-explode-long", "explode_long"), ("test-missing", "nowhere")):
        scheduler.register_job(Job(name, f"tests.test_scheduler:{target}", "interval", "TEST_DAILY_MINUTES",
                                   "a test job"), app)
    scheduler.register_job(Job("test-five", "tests.test_scheduler:record", "interval", "TEST_FIVE_MINUTES",
                               "every five minutes"), app)
    scheduler.register_job(Job("test-absent-module", "tests.no_such_module:record", "interval",
                               "TEST_DAILY_MINUTES", "a job whose module is missing"), app)
    yield app
    GATE.set()


def runs(job: str | None = None) -> list[JobRun]:
    db.session.expire_all()
    query = select(JobRun).order_by(JobRun.slot_start, JobRun.id)
    if job:
        query = query.where(JobRun.job == job)
    return list(db.session.scalars(query))


# --- slots ------------------------------------------------------------------------------------

def test_interval_slots_are_aligned_to_the_clock():
    every5 = Schedule("interval", minutes=5)
    assert latest_slot(every5, utc(2026, 12, 2, 10, 7, 30), UTC) == utc(2026, 12, 2, 10, 5)
    assert latest_slot(every5, utc(2026, 12, 2, 10, 5), UTC) == utc(2026, 12, 2, 10, 5)
    assert next_slot(every5, utc(2026, 12, 2, 10, 5), UTC) == utc(2026, 12, 2, 10, 10)
    assert slots_between(every5, utc(2026, 12, 2, 10, 0), utc(2026, 12, 2, 10, 20), UTC) == [
        utc(2026, 12, 2, 10, m) for m in (0, 5, 10, 15)
    ]
    # The same instants in any zone with whole-hour offsets.
    assert latest_slot(every5, utc(2026, 12, 2, 10, 7), BERLIN) == utc(2026, 12, 2, 10, 5)


def test_daily_and_weekly_slots_are_local_wall_clock_times():
    daily = Schedule("daily", at=datetime(2000, 1, 1, 8, 0).time())
    # 08:00 in Berlin is 07:00 UTC in winter, 06:00 UTC in summer.
    assert next_slot(daily, utc(2026, 12, 2, 3, 0), BERLIN) == utc(2026, 12, 2, 7, 0)
    assert next_slot(daily, utc(2026, 7, 2, 3, 0), BERLIN) == utc(2026, 7, 2, 6, 0)
    assert latest_slot(daily, utc(2026, 12, 2, 6, 59), BERLIN) == utc(2026, 12, 1, 7, 0)
    weekly = Schedule("weekly", at=datetime(2000, 1, 1, 9, 0).time(), weekday=0)
    # Wednesday 2 December 2026: the next Monday is the 7th, the last was 30 November.
    assert next_slot(weekly, utc(2026, 12, 2, 12, 0), NEW_YORK) == utc(2026, 12, 7, 14, 0)
    assert latest_slot(weekly, utc(2026, 12, 2, 12, 0), NEW_YORK) == utc(2026, 11, 30, 14, 0)


def test_a_time_skipped_by_the_clocks_jumping_forward_runs_once_at_the_jump():
    # Berlin, 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 never happens.
    daily = Schedule("daily", at=datetime(2000, 1, 1, 2, 30).time())
    slots = slots_between(daily, utc(2026, 3, 28, 0, 0), utc(2026, 3, 31, 0, 0), BERLIN)
    assert slots == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    assert slots[1].astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_a_time_repeated_by_the_clocks_going_back_runs_once_at_its_first_occurrence():
    # Berlin, 25 October 2026: 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
    daily = Schedule("daily", at=datetime(2000, 1, 1, 2, 30).time())
    slots = slots_between(daily, utc(2026, 10, 24, 0, 0), utc(2026, 10, 27, 0, 0), BERLIN)
    assert slots == [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    # Asked between the two occurrences, the slot of the day is behind, not ahead.
    assert next_slot(daily, utc(2026, 10, 25, 1, 0), BERLIN) == utc(2026, 10, 26, 1, 30)


def test_the_summaries_cover_the_day_and_week_before_their_slot():
    daily = RunContext("daily-summary", utc(2026, 12, 2, 7, 0), BERLIN, "schedule")  # 08:00 Berlin
    assert scheduler.previous_day(daily) == date(2026, 12, 1)
    # 00:30 Berlin on the 2nd is still the 1st in UTC: the local day counts.
    late = RunContext("daily-summary", utc(2026, 12, 1, 23, 30), BERLIN, "schedule")
    assert scheduler.previous_day(late) == date(2026, 12, 1)
    weekly = RunContext("weekly-summary", utc(2026, 12, 7, 8, 0), BERLIN, "schedule")  # Monday 09:00
    assert scheduler.previous_week(weekly) == date(2026, 11, 30)


@pytest.mark.parametrize("kind, value", [
    ("interval", "0"), ("interval", "1441"), ("interval", "five"), ("interval", True),
    ("daily", "8:60"), ("daily", "24:00"), ("daily", "eight"), ("weekly", "09:00"), ("weekly", "xyz 09:00"),
    ("weekly", "monday"),
])
def test_bad_configured_schedules_stop_start_up_with_what_to_set(make_app, kind, value):
    key = {"interval": "MOTORPOOL_SCHEDULE_ALERT_CHECK_MINUTES", "daily": "MOTORPOOL_SCHEDULE_DAILY_SUMMARY",
           "weekly": "MOTORPOOL_SCHEDULE_WEEKLY_SUMMARY"}[kind]
    with pytest.raises(ValueError, match=key):
        make_app(**{key: value})


# --- claims ---------------------------------------------------------------------------------

def test_a_slot_runs_once_when_two_schedulers_claim_it_at_the_same_moment(jobs):
    slot = utc(2026, 12, 2, 0, 0)
    barrier = threading.Barrier(2)
    results = []

    def scheduler_process():
        with jobs.app_context():
            barrier.wait()
            results.append(scheduler.run_slot("test-record", slot).outcome)
            db.session.remove()

    threads = [threading.Thread(target=scheduler_process) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["succeeded", "taken"]
    assert CALLS == [slot]
    [run] = runs("test-record")
    assert (run.outcome, run.slot_start, run.summary) == ("succeeded", slot, "recorded 00:00")
    assert run.finished_at >= run.started_at and run.duration_ms >= 0 and run.pid and run.host


def test_a_job_never_overlaps_itself_the_slot_that_comes_meanwhile_is_skipped(jobs):
    first, second = utc(2026, 12, 2, 0, 0), utc(2026, 12, 3, 0, 0)
    outcome = []

    def long_run():
        with jobs.app_context():
            outcome.append(scheduler.run_slot("test-slow", first).outcome)
            db.session.remove()

    thread = threading.Thread(target=long_run)
    thread.start()
    assert ENTERED.wait(20)
    result = scheduler.run_slot("test-slow", second)
    GATE.set()
    thread.join(30)
    assert result.outcome == "skipped"
    assert "2026-12-02 00:00 UTC" in result.message and "still running" in result.message
    assert outcome == ["succeeded"]
    assert [(r.slot_start, r.outcome) for r in runs("test-slow")] == [(first, "succeeded"), (second, "skipped")]
    # The skipped slot is not run later either: it is claimed.
    assert scheduler.run_slot("test-slow", second).outcome == "taken"


def test_a_run_left_running_by_a_dead_process_is_closed_and_the_job_runs_again(jobs):
    with clock_at(utc(2026, 12, 2, 0, 0)):
        db.session.add(JobRun(job="test-record", slot_start=utc(2026, 12, 2, 0, 0), started_at=utc(2026, 12, 2, 0, 0),
                              outcome="running", host="gone", pid=1))
        db.session.commit()
    with clock_at(utc(2026, 12, 2, 3, 0)):  # past MOTORPOOL_SCHEDULE_STALE_MINUTES (120)
        result = scheduler.run_slot("test-record", utc(2026, 12, 3, 0, 0))
    assert result.outcome == "succeeded"
    abandoned, fresh = runs("test-record")
    assert abandoned.outcome == "failed" and abandoned.error.startswith("abandoned")
    assert fresh.outcome == "succeeded"


def test_a_failed_run_is_recorded_with_its_error_and_the_next_slot_still_runs(jobs):
    result = scheduler.run_slot("test-explode", utc(2026, 12, 2, 0, 0))
    assert result.outcome == "failed"
    [run] = runs("test-explode")
    assert run.outcome == "failed" and run.finished_at is not None and run.duration_ms is not None
    assert run.error.startswith("RuntimeError: the depot feed answered 503")
    assert "test_scheduler.py" in run.error and "explode" in run.error  # where it failed
    assert scheduler.run_slot("test-explode", utc(2026, 12, 3, 0, 0)).outcome == "failed"
    assert len(runs("test-explode")) == 2


def test_a_huge_error_is_capped(jobs):
    scheduler.run_slot("test-explode-long", utc(2026, 12, 2, 0, 0))
    [run] = runs("test-explode-long")
    assert len(run.error) == ERROR_LIMIT and run.error.endswith("…")


@pytest.mark.parametrize("job, says", [
    ("test-missing", "tests.test_scheduler:nowhere cannot be imported: tests.test_scheduler has no function 'nowhere'"),
    ("test-absent-module", "tests.no_such_module:record cannot be imported: No module named 'tests.no_such_module'"),
])
def test_a_job_whose_function_is_missing_is_a_failed_run_that_says_so(jobs, job, says):
    result = scheduler.run_slot(job, utc(2026, 12, 2, 0, 0))
    assert result.outcome == "failed"
    [run] = runs(job)
    assert run.error.startswith(says)


def test_after_downtime_the_missed_slots_run_once_not_once_each(jobs):
    with clock_at(utc(2026, 12, 2, 10, 0, 5)):
        assert scheduler.run_due("test-five").slot == utc(2026, 12, 2, 10, 0)
    # Down from 10:01 to 10:37: six slots were missed.
    with clock_at(utc(2026, 12, 2, 10, 37)):
        assert scheduler.run_due("test-five").outcome == "succeeded"
        assert scheduler.run_due("test-five").outcome == "taken"  # a second scheduler waking late
    assert [r.slot_start for r in runs("test-five")] == [utc(2026, 12, 2, 10, 0), utc(2026, 12, 2, 10, 35)]
    assert CALLS == [utc(2026, 12, 2, 10, 0), utc(2026, 12, 2, 10, 35)]


def test_a_disabled_job_is_not_run_by_the_schedule_but_can_be_run_by_hand(jobs, system_actor):
    scheduler.update_schedule("test-five", enabled=False, interval="5")
    assert scheduler.run_due("test-five") is None
    assert scheduler.run_now("test-five").outcome == "succeeded"
    assert [r.trigger for r in runs("test-five")] == ["manual"]


def test_the_builtin_jobs_pass_the_slot_where_it_matters(app):
    table = scheduler.jobs(app)
    assert list(table) == ["alert-check", "assign-pending", "daily-summary", "weekly-summary", "retention", "warm-days"]
    seen = []
    context = RunContext("x", utc(2026, 12, 7, 8, 0), UTC, "schedule")  # Monday 08:00 UTC
    table["alert-check"].call(lambda **kw: seen.append(kw), context)
    table["daily-summary"].call(lambda *a: seen.append(a), context)
    table["weekly-summary"].call(lambda *a: seen.append(a), context)
    assert seen == [{"now": context.slot}, ("daily", date(2026, 12, 6)), ("weekly", date(2026, 11, 30))]
    assert scheduler.resolve(table["assign-pending"].target).__name__ == "assign_pending"


def test_assign_pending_runs_as_a_scheduled_job(app):
    result = scheduler.run_now("assign-pending")
    assert result.outcome == "succeeded", result.message
    [run] = runs("assign-pending")
    assert run.trigger == "manual" and run.summary == "nothing was waiting"


def test_the_alert_check_run_is_summed_up_in_one_readable_line(app):
    # The admin's job runs list shows this line: not the report's repr, kilobytes of dataclasses.
    result = scheduler.run_now("alert-check")
    assert result.outcome == "succeeded", result.message
    [run] = runs("alert-check")
    assert run.summary.startswith("8 readings (") and "CheckReport(" not in run.summary
    assert run.summary.endswith("nothing raised or resolved") and "\n" not in run.summary


# --- schedule edits -----------------------------------------------------------------------------

@pytest.mark.parametrize("job, values, says", [
    ("alert-check", {"interval": "0"}, "whole number from 1 to 1440, not '0'"),
    ("alert-check", {"interval": "5 minutes"}, "whole number from 1 to 1440"),
    ("alert-check", {"interval": ""}, "whole number from 1 to 1440"),
    ("daily-summary", {"at": "25:00"}, "HH:MM on the 24-hour clock"),
    ("daily-summary", {"at": "8 am"}, "HH:MM on the 24-hour clock"),
    ("weekly-summary", {"at": "09:00", "weekday": "7"}, "weekday of weekly-summary from Monday to Sunday"),
    ("weekly-summary", {"at": "09:00", "weekday": "mon"}, "from Monday to Sunday"),
    ("no-such-job", {"interval": "5"}, "There is no job 'no-such-job'"),
])
def test_refused_schedule_edits_say_why_and_change_nothing(app, system_actor, job, values, says):
    scheduler.update_schedule("alert-check", enabled=True, interval="7")
    before = [(s.job, s.interval_minutes, s.time_of_day, s.weekday) for s in db.session.scalars(select(ScheduleSetting))]
    with pytest.raises(ValidationError, match=says.replace("(", r"\(")):
        scheduler.update_schedule(job, enabled=False, **values)
    db.session.rollback()
    after = [(s.job, s.interval_minutes, s.time_of_day, s.weekday) for s in db.session.scalars(select(ScheduleSetting))]
    assert after == before
    assert scheduler.effective_schedule("alert-check").enabled is True


def test_an_accepted_edit_is_stored_with_who_and_when_and_used(app):
    from app.services.actors import acting_as

    admin = AdminFactory()
    with acting_as(admin), clock_at(utc(2026, 12, 2, 9, 0)):
        scheduler.update_schedule("weekly-summary", enabled=True, at="7:30", weekday="4")
    setting = db.session.scalar(select(ScheduleSetting).where(ScheduleSetting.job == "weekly-summary"))
    assert (setting.time_of_day, setting.weekday, setting.updated_by_id) == ("07:30", 4, admin.id)
    assert setting.updated_at == utc(2026, 12, 2, 9, 0)
    entry = scheduler.effective_schedule("weekly-summary")
    assert entry.schedule.describe() == "Fridays at 07:30"
    assert next_slot(entry.schedule, utc(2026, 12, 2, 9, 0), UTC) == utc(2026, 12, 4, 7, 30)


# --- the scheduler process ----------------------------------------------------------------------

def wait_for(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the scheduler did not run the job in time")


def count_runs(app, job: str) -> int:
    with app.app_context():
        try:
            return db.session.scalar(select(func.count(JobRun.id)).where(JobRun.job == job))
        finally:
            db.session.remove()


def test_apscheduler_wakes_the_job_at_its_slot_and_two_schedulers_run_it_once(jobs, make_app):
    other = make_app()
    other.config.update(TEST_DAILY_MINUTES=1440)
    scheduler.register_job(scheduler.jobs(jobs)["test-record"], other)
    processes = [scheduler.Scheduler(jobs, catch_up=False), scheduler.Scheduler(other, catch_up=False)]
    for process in processes:
        process.start()
    try:
        apjob = processes[0].apscheduler.get_job("test-record")
        assert apjob.next_run_time == next_slot(Schedule("interval", minutes=1440), datetime.now(UTC), UTC)
        for process in processes:
            process.fire("test-record")
        wait_for(lambda: count_runs(jobs, "test-record") == 1 and CALLS)
        time.sleep(0.3)  # the other scheduler had its chance too
    finally:
        for process in processes:
            process.shutdown()
    assert len(CALLS) == 1
    assert count_runs(jobs, "test-record") == 1


def test_at_start_the_scheduler_runs_the_latest_missed_slot_of_each_job_once(jobs, system_actor):
    for entry in scheduler.effective_schedules():
        if entry.name != "test-five":
            scheduler.update_schedule(entry.name, enabled=False, interval="5", at="08:00", weekday="0")
    before = datetime.now(UTC)
    process = scheduler.Scheduler(jobs)
    process.start()
    try:
        wait_for(lambda: count_runs(jobs, "test-five") == 1)
        time.sleep(0.3)
    finally:
        process.shutdown()
    every5 = Schedule("interval", minutes=5)
    assert len(CALLS) == 1
    assert CALLS[0] in {latest_slot(every5, before, UTC), latest_slot(every5, datetime.now(UTC), UTC)}
    assert {r.job for r in runs()} == {"test-five"}  # disabled jobs did not run


def test_at_first_start_a_daily_job_that_never_ran_waits_for_its_time_and_after_downtime_catches_up(
    jobs, system_actor
):
    jobs.config.update(TEST_MORNING="08:00")
    scheduler.register_job(Job("test-morning", "tests.test_scheduler:record", "daily", "TEST_MORNING",
                               "a morning job"), jobs)
    for entry in scheduler.effective_schedules():
        if entry.name not in {"test-five", "test-morning"}:
            scheduler.update_schedule(entry.name, enabled=False, interval="5", at="08:00", weekday="0")

    def start_once() -> None:
        process = scheduler.Scheduler(jobs)
        process.start()
        try:
            wait_for(lambda: count_runs(jobs, "test-five") >= 1)
            time.sleep(0.3)
        finally:
            process.shutdown()

    start_once()  # a new installation: the interval job catches up, the morning job waits
    assert count_runs(jobs, "test-morning") == 0
    with clock_at(datetime.now(UTC) - timedelta(days=3)):
        assert scheduler.run_due("test-morning").outcome == "succeeded"  # it ran, days ago
    start_once()  # back after downtime: its latest missed morning runs once
    assert count_runs(jobs, "test-morning") == 2


def test_an_admins_change_reaches_a_running_scheduler(jobs, system_actor):
    process = scheduler.Scheduler(jobs, catch_up=False)
    process.start()
    try:
        scheduler.update_schedule("test-five", enabled=False, interval="5")
        process.refresh()
        assert process.apscheduler.get_job("test-five") is None
        scheduler.update_schedule("test-five", enabled=True, interval="30")
        process.refresh()
        assert str(process.apscheduler.get_job("test-five").trigger) == "every 30 min"
    finally:
        process.shutdown()


def test_run_forever_stops_cleanly_when_asked(jobs):
    stop = threading.Event()
    process = scheduler.Scheduler(jobs, catch_up=False)
    thread = threading.Thread(target=process.run_forever, args=(stop,))
    thread.start()
    wait_for(lambda: process.apscheduler.running)
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and process.stopped.is_set() and not process.apscheduler.running


# --- commands -------------------------------------------------------------------------------------

def test_flask_scheduler_jobs_lists_schedule_next_run_and_last_outcome(jobs, make_app):
    scheduler.run_slot("test-explode", utc(2026, 12, 2, 0, 0))
    app = make_app(MOTORPOOL_TIMEZONE="Europe/Berlin")
    scheduler.register_job(scheduler.jobs(jobs)["test-explode"], app)
    app.config.update(TEST_DAILY_MINUTES=1440)
    with app.app_context(), clock_at(utc(2026, 12, 2, 6, 0)):
        result = app.test_cli_runner().invoke(args=["scheduler", "jobs"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert "every 5 min" in lines["alert-check"] and "next 2026-12-02 07:05 CET" in lines["alert-check"]
    assert "daily at 08:00 Europe/Berlin" in lines["daily-summary"] and "next 2026-12-02 08:00 CET" in lines["daily-summary"]
    assert "Mondays at 09:00 Europe/Berlin" in lines["weekly-summary"] and "2026-12-07 09:00 CET" in lines["weekly-summary"]
    assert "last never run" in lines["alert-check"]
    assert "last failed" in lines["test-explode"]


def test_flask_scheduler_run_job_runs_now_and_reports(jobs):
    runner = jobs.test_cli_runner()
    ok = runner.invoke(args=["scheduler", "run-job", "test-record"])
    assert ok.exit_code == 0 and "test-record succeeded" in ok.output and "recorded" in ok.output
    failed = runner.invoke(args=["scheduler", "run-job", "test-explode"])
    assert failed.exit_code == 1 and "RuntimeError: the depot feed answered 503" in failed.output
    unknown = runner.invoke(args=["scheduler", "run-job", "nightly"])
    assert unknown.exit_code == 1 and "There is no job 'nightly'; the jobs are: alert-check" in unknown.output
    assert [(r.job, r.trigger) for r in runs()] == [("test-record", "manual"), ("test-explode", "manual")]


def test_flask_scheduler_run_stops_cleanly_on_sigterm(app, database_url, tmp_path):
    # `app`: its tables are emptied afterwards, should a slot fall within the few seconds.
    import os
    import signal
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "wsgi.py", "SECRET_KEY": "test-secret-key",
           "MOTORPOOL_NOTIFICATION_LOG": str(tmp_path / "notifications.log"), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "scheduler", "run", "--no-catch-up"],
                               cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output = []
        for line in process.stdout:
            output.append(line)
            if "Scheduler started" in line:
                break
        assert any("alert-check" in line and "every 5 min" in line for line in output), output
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "Scheduler stopped." in rest
