"""Scheduled jobs: what runs when, and the claim that makes each time slot run once.

APScheduler decides *when* a process wakes up; the database decides *who* runs. Each job
has a schedule (every N minutes, a local time each day, or a weekday and time) in the
organisation's zone (``MOTORPOOL_TIMEZONE``). Its time slots are computed from that
schedule alone, so every scheduler process agrees on them:

- an interval's slots are aligned to the clock: multiples of N minutes since
  1970-01-01 00:00 UTC (every 5 minutes is :00, :05, :10 … in every zone whose offset is
  whole quarter-hours);
- a daily or weekly slot is the wall-clock time in the zone on each (matching) local day.
  A time skipped when the clocks jump forward runs at the first instant after the jump,
  once; a time that happens twice when the clocks go back runs at its first occurrence,
  once.

Running a slot starts with ``claim``: one INSERT of a ``job_runs`` row, unique per (job,
slot). The scheduler that inserts it runs the job; any other gets a conflict and leaves
the slot alone — the same on SQLite and PostgreSQL, so two schedulers started by mistake
still run each slot once. At most one row per job may be ``running`` (a partial unique
index): when a slot comes while the previous run is still going, the slot is recorded as
``skipped`` with the running slot named, and not run later. After downtime only the
latest due slot runs (``run_due`` always takes the latest slot at or before now), never
one run per missed slot.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import signal
import socket
import threading
import time as clock
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import JobOutcome, JobRun, ScheduleSetting, utcnow
from app.models.job_run import ERROR_LIMIT, SUMMARY_LIMIT
from app.services.errors import ConcurrentUpdate, ValidationError
from app.services.local_time import organisation_zone
from app.services.transaction import require_own_transactions, transaction

logger = logging.getLogger(__name__)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# --- schedules --------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """Every ``minutes`` minutes, or at ``at`` (local) each day, or each ``weekday`` (0 = Monday)."""

    kind: str  # "interval", "daily" or "weekly"
    minutes: int | None = None
    at: time | None = None
    weekday: int | None = None

    def describe(self) -> str:
        if self.kind == "interval":
            return f"every {self.minutes} min" if self.minutes != 1 else "every minute"
        when = f"{self.at:%H:%M}"
        if self.kind == "weekly":
            return f"{WEEKDAY_NAMES[self.weekday]}s at {when}"
        return f"daily at {when}"


def parse_interval(value: Any) -> int:
    """Minutes between runs: a whole number from 1 to 1440."""
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= 1440:
        raise ValueError(f"give the minutes between runs as a whole number from 1 to 1440, not {value!r}")
    return int(text)


def parse_daily(value: Any) -> time:
    """A local time of day written HH:MM (24-hour), e.g. 08:00."""
    match = _TIME.match(str(value).strip())
    if not match:
        raise ValueError(f"give a time of day as HH:MM on the 24-hour clock, such as 08:00, not {value!r}")
    return time(int(match.group(1)), int(match.group(2)))


def parse_weekly(value: Any) -> tuple[int, time]:
    """A weekday and local time, e.g. "mon 09:00"."""
    parts = str(value).strip().lower().split()
    if len(parts) != 2 or parts[0][:3] not in WEEKDAYS or not WEEKDAY_NAMES[WEEKDAYS.index(parts[0][:3])].lower().startswith(parts[0]):
        raise ValueError(f"give a weekday and a time such as \"mon 09:00\" (mon, tue … sun), not {value!r}")
    return WEEKDAYS.index(parts[0][:3]), parse_daily(parts[1])


def _wall_instant(day: date, at: time, zone: tzinfo) -> datetime:
    """The UTC instant of wall time ``at`` on local ``day``: the first occurrence of a repeated
    time, the first instant after the jump for a skipped one."""
    wall = datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant
    # Skipped: the clocks jumped over it. The jump happened between the instant read with the
    # later offset (fold=1) and this one; the first instant whose local time is past ``at``
    # is the jump itself. Gaps are whole minutes in every zone of the database.
    probe = wall.replace(fold=1).astimezone(UTC)
    while probe.astimezone(zone).replace(tzinfo=None) < wall.replace(tzinfo=None):
        probe += timedelta(minutes=1)
    return probe


def _day_slot(schedule: Schedule, day: date, zone: tzinfo) -> datetime | None:
    if schedule.kind == "weekly" and day.weekday() != schedule.weekday:
        return None
    return _wall_instant(day, schedule.at, zone)


def latest_slot(schedule: Schedule, now: datetime, zone: tzinfo) -> datetime:
    """The latest slot at or before ``now`` (UTC)."""
    now = now.astimezone(UTC)
    if schedule.kind == "interval":
        step = schedule.minutes * 60
        seconds = int((now - _EPOCH).total_seconds())
        return _EPOCH + timedelta(seconds=seconds - seconds % step)
    day = now.astimezone(zone).date() + timedelta(days=1)
    for _ in range(10):
        slot = _day_slot(schedule, day, zone)
        if slot is not None and slot <= now:
            return slot
        day -= timedelta(days=1)
    raise AssertionError("a weekly schedule has a slot in every ten days")  # pragma: no cover


def next_slot(schedule: Schedule, after: datetime, zone: tzinfo) -> datetime:
    """The first slot strictly after ``after`` (UTC)."""
    after = after.astimezone(UTC)
    if schedule.kind == "interval":
        return latest_slot(schedule, after, zone) + timedelta(minutes=schedule.minutes)
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(10):
        slot = _day_slot(schedule, day, zone)
        if slot is not None and slot > after:
            return slot
        day += timedelta(days=1)
    raise AssertionError("a weekly schedule has a slot in every ten days")  # pragma: no cover


def slots_between(schedule: Schedule, start: datetime, end: datetime, zone: tzinfo) -> list[datetime]:
    """Every slot in ``[start, end)``."""
    found = []
    slot = next_slot(schedule, start - timedelta(microseconds=1), zone)
    while slot < end:
        found.append(slot)
        slot = next_slot(schedule, slot, zone)
    return found


# --- jobs -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunContext:
    """What a job is told about its run: the slot (UTC), the same in local time, the zone."""

    job: str
    slot: datetime
    zone: tzinfo
    trigger: str

    @property
    def local_slot(self) -> datetime:
        return self.slot.astimezone(self.zone)


def _call_with_slot(function: Callable, context: RunContext) -> Any:
    return function(context.slot)


@dataclass(frozen=True)
class Job:
    """A scheduled job: its name, the function it runs (``"module:function"``, imported when
    the job runs), the kind of schedule and the setting that holds its default."""

    name: str
    target: str
    kind: str  # "interval", "daily", "weekly"
    setting: str  # the config key of the default schedule
    description: str
    call: Callable[[Callable, RunContext], Any] = field(default=_call_with_slot)
    #: Also run once each time a scheduler starts, whatever ran before: for work that only
    #: fills in what is missing, so a run finding nothing to do costs little.
    at_start: bool = False

    def default_schedule(self, config: Any) -> Schedule:
        return schedule_from(self.kind, config[self.setting])


def schedule_from(kind: str, value: Any) -> Schedule:
    if kind == "interval":
        return Schedule("interval", minutes=parse_interval(value))
    if kind == "daily":
        return Schedule("daily", at=parse_daily(value))
    weekday, at = parse_weekly(value)
    return Schedule("weekly", at=at, weekday=weekday)


def previous_day(context: RunContext) -> date:
    """The local day before the slot's: 08:00's daily summary is for the whole of yesterday."""
    return context.local_slot.date() - timedelta(days=1)


def previous_week(context: RunContext) -> date:
    """The Monday that starts the week before the slot's: Monday's weekly summary covers last week."""
    local = context.local_slot.date()
    return local - timedelta(days=local.weekday() + 7)


BUILTIN_JOBS: tuple[Job, ...] = (
    Job("alert-check", "app.services.alerting:run_check", "interval", "MOTORPOOL_SCHEDULE_ALERT_CHECK_MINUTES",
        "Measure the metrics, raise and resolve alerts, escalate, send the quiet-hours digest.",
        call=lambda function, context: function(now=context.slot)),
    Job("assign-pending", "app.services.matching:assign_pending", "interval",
        "MOTORPOOL_SCHEDULE_ASSIGN_PENDING_MINUTES", "Assign the dispatches waiting for a technician.",
        call=lambda function, context: function()),
    Job("daily-summary", "app.services.reports:send_summary", "daily", "MOTORPOOL_SCHEDULE_DAILY_SUMMARY",
        "Send the summary of the previous local day.",
        call=lambda function, context: function("daily", previous_day(context))),
    Job("weekly-summary", "app.services.reports:send_summary", "weekly", "MOTORPOOL_SCHEDULE_WEEKLY_SUMMARY",
        "Send the summary of the previous week (Monday to Sunday).",
        call=lambda function, context: function("weekly", previous_week(context))),
    Job("retention", "app.services.retention:prune", "daily", "MOTORPOOL_SCHEDULE_RETENTION",
        "Delete ended sessions, old sign-in events and old job runs.",
        call=lambda function, context: function(now=context.slot)),
    Job("warm-days", "app.services.warm_days:warm", "daily", "MOTORPOOL_SCHEDULE_WARM_DAYS",
        "Keep the finished days missing from the day trends and cost sums (MOTORPOOL_WARM_DAYS).",
        call=lambda function, context: function(now=context.slot), at_start=True),
)

_REGISTRY_KEY = "motorpool.scheduler_jobs"


def jobs(app: Flask | None = None) -> dict[str, Job]:
    """Every job of ``app`` by name, the built-in ones first."""
    app = app or current_app
    return app.extensions.setdefault(_REGISTRY_KEY, {job.name: job for job in BUILTIN_JOBS})


def register_job(job: Job, app: Flask | None = None) -> None:
    """Add a job (or replace one of the same name) for this application."""
    jobs(app)[job.name] = job


def job_named(name: str) -> Job:
    try:
        return jobs()[name]
    except KeyError:
        raise ValidationError(f"There is no job {name!r}; the jobs are: {', '.join(jobs())}.", field="job") from None


def resolve(target: str) -> Callable:
    """The function ``"module:function"`` names; ``LookupError`` says plainly what is missing."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise LookupError(f"{target} cannot be imported: {error}; the feature that provides it is not installed") from None
    function = getattr(module, attribute, None)
    if not callable(function):
        raise LookupError(f"{target} cannot be imported: {module_name} has no function {attribute!r}")
    return function


# --- effective schedules ----------------------------------------------------------------

@dataclass(frozen=True)
class JobSchedule:
    job: Job
    schedule: Schedule
    enabled: bool
    setting: ScheduleSetting | None  # None: the configured default

    @property
    def name(self) -> str:
        return self.job.name


def _schedule_of(job: Job, setting: ScheduleSetting | None) -> Schedule:
    if setting is None:
        return job.default_schedule(current_app.config)
    if job.kind == "interval":
        return Schedule("interval", minutes=setting.interval_minutes)
    at = parse_daily(setting.time_of_day)
    if job.kind == "weekly":
        return Schedule("weekly", at=at, weekday=setting.weekday)
    return Schedule("daily", at=at)


def effective_schedules() -> list[JobSchedule]:
    """Each job with the schedule it runs on now (an admin's change, else the default); one query."""
    settings = {s.job: s for s in db.session.scalars(
        select(ScheduleSetting).options(selectinload(ScheduleSetting.updated_by))
    )}
    found = []
    for job in jobs().values():
        setting = settings.get(job.name)
        found.append(JobSchedule(job, _schedule_of(job, setting), setting.enabled if setting else True, setting))
    return found


def effective_schedule(name: str) -> JobSchedule:
    return next(entry for entry in effective_schedules() if entry.name == name)


def update_schedule(name: str, *, enabled: bool, interval: str | None = None, at: str | None = None,
                    weekday: str | None = None) -> ScheduleSetting:
    """Store an admin's schedule for job ``name``; refused values change nothing and say why."""
    job = job_named(name)
    values: dict[str, Any] = {"enabled": enabled, "interval_minutes": None, "time_of_day": None, "weekday": None}
    if job.kind == "interval":
        try:
            values["interval_minutes"] = parse_interval(interval or "")
        except ValueError:
            raise ValidationError(
                f"Give the minutes between runs of {name} as a whole number from 1 to 1440, not {interval!r}.",
                field="interval",
            ) from None
    else:
        try:
            values["time_of_day"] = f"{parse_daily(at or ''):%H:%M}"
        except ValueError:
            raise ValidationError(
                f"Give the time of {name} as HH:MM on the 24-hour clock, such as 08:00, not {at!r}.", field="at"
            ) from None
        if job.kind == "weekly":
            text = str(weekday or "").strip()
            if not text.isdigit() or not 0 <= int(text) <= 6:
                raise ValidationError(f"Choose the weekday of {name} from Monday to Sunday.", field="weekday")
            values["weekday"] = int(text)
    with transaction():
        setting = db.session.scalar(select(ScheduleSetting).where(ScheduleSetting.job == name))
        if setting is None:
            setting = ScheduleSetting(job=name)
            db.session.add(setting)
        for key, value in values.items():
            setattr(setting, key, value)
    return setting


# --- claims and runs --------------------------------------------------------------------

@dataclass(frozen=True)
class RunResult:
    """What happened to a slot: ``taken`` (another scheduler has it), ``busy`` (the database
    could not be written), ``skipped``, ``succeeded`` or ``failed``; ``run`` is this
    process's row when it wrote one."""

    job: str
    slot: datetime
    outcome: str
    run: JobRun | None = None
    message: str = ""


def _host() -> str:
    return socket.gethostname()[:255]


def _stale_limit() -> timedelta:
    return timedelta(minutes=current_app.config["MOTORPOOL_SCHEDULE_STALE_MINUTES"])


def close_abandoned(name: str | None = None) -> int:
    """Mark runs still ``running`` long after they started as failed: their process died.

    Without this a scheduler killed mid-run would keep its job from ever running again.
    """
    now = utcnow()
    condition = [JobRun.outcome == JobOutcome.RUNNING.value, JobRun.started_at < now - _stale_limit()]
    if name is not None:
        condition.append(JobRun.job == name)
    with transaction():
        result = db.session.execute(
            update(JobRun).where(*condition).values(
                outcome=JobOutcome.FAILED.value, finished_at=now, updated_at=now,
                error=f"abandoned: still running after {current_app.config['MOTORPOOL_SCHEDULE_STALE_MINUTES']} "
                      "minutes, its process had stopped (MOTORPOOL_SCHEDULE_STALE_MINUTES)",
            ).execution_options(synchronize_session=False)
        )
    return result.rowcount


def _insert(run: JobRun) -> bool:
    """Insert ``run`` in its own transaction; ``False`` when a unique index refuses it."""
    try:
        with transaction():
            db.session.add(run)
    except (IntegrityError, ConcurrentUpdate):
        db.session.rollback()
        return False
    return True


def claim(name: str, slot: datetime, *, trigger: str = "schedule") -> RunResult | JobRun:
    """Claim ``slot`` of job ``name``: the ``running`` row when this process won it, else
    a ``RunResult`` saying why not (another scheduler took the slot, or the job is still
    running a previous slot — then the slot is recorded as skipped)."""
    require_own_transactions("claim")
    close_abandoned(name)
    now = utcnow()
    run = JobRun(job=name, slot_start=slot, started_at=now, outcome=JobOutcome.RUNNING.value, host=_host(),
                 pid=os.getpid(), trigger=trigger)
    if _insert(run):
        return run
    if db.session.scalar(select(JobRun.id).where(JobRun.job == name, JobRun.slot_start == slot)) is not None:
        return RunResult(name, slot, "taken", message="another scheduler has claimed this slot")
    running = db.session.scalar(
        select(JobRun).where(JobRun.job == name, JobRun.outcome == JobOutcome.RUNNING.value)
    )
    if running is None:
        # Neither index refused it: the database was busy (SQLite's lock timeout). Nothing is
        # written; the next wake-up claims the latest slot again.
        return RunResult(name, slot, "busy", message="the database was busy; the slot was not claimed")
    note = (f"the run for {running.slot_start:%Y-%m-%d %H:%M} UTC (started {running.started_at:%H:%M:%S} UTC "
            f"on {running.host} pid {running.pid}) was still running")
    skipped = JobRun(job=name, slot_start=slot, started_at=now, finished_at=now, duration_ms=0,
                     outcome=JobOutcome.SKIPPED.value, host=_host(), pid=os.getpid(), trigger=trigger, summary=note)
    if not _insert(skipped):
        return RunResult(name, slot, "taken", message="another scheduler has claimed this slot")
    return RunResult(name, slot, JobOutcome.SKIPPED.value, skipped, note)


def _summary(result: Any) -> str | None:
    if result is None:
        return None
    return str(result)[:SUMMARY_LIMIT]


def error_text(error: BaseException) -> str:
    """The exception and the innermost frames, short enough to keep."""
    lines = traceback.format_exception_only(type(error), error)
    frames = traceback.extract_tb(error.__traceback__)[-5:]
    text = "".join(lines).strip()
    if frames:
        text += "\n" + "".join(traceback.format_list(frames)).rstrip()
    if len(text) > ERROR_LIMIT:
        text = text[: ERROR_LIMIT - 1] + "…"
    return text


def _finish(run_id: int, outcome: str, *, started: float, summary: str | None = None, error: str | None = None) -> JobRun:
    with transaction():
        run = db.session.get(JobRun, run_id)
        run.outcome = outcome
        run.finished_at = utcnow()
        run.duration_ms = int((clock.perf_counter() - started) * 1000)
        run.summary = summary
        run.error = error
    return run


def run_slot(name: str, slot: datetime, *, trigger: str = "schedule") -> RunResult:
    """Claim ``slot`` of ``name`` and, when this process has it, run the job and record how it went.

    Work is recorded as done by whoever asked (an admin's "run now"), else the system user.
    """
    from app.services.actors import acting_as, current_actor_id, system_user

    job = job_named(name)
    if current_actor_id() is None:
        try:
            with transaction():
                user = system_user()
        except IntegrityError:
            # Another scheduler created the system user at the same moment; it is there now.
            db.session.rollback()
            user = system_user()
        with acting_as(user):
            return _run_slot(job, slot, trigger)
    return _run_slot(job, slot, trigger)


def _run_slot(job: Job, slot: datetime, trigger: str) -> RunResult:
    name = job.name
    claimed = claim(name, slot, trigger=trigger)
    if isinstance(claimed, RunResult):
        logger.info("job %s slot %s: %s", name, slot.isoformat(), claimed.message)
        return claimed
    run_id = claimed.id
    started = clock.perf_counter()
    context = RunContext(name, slot, organisation_zone(), trigger)
    try:
        function = resolve(job.target)
        result = job.call(function, context)
    except Exception as error:  # the run is recorded as failed; the scheduler goes on
        db.session.rollback()
        text = error_text(error) if not isinstance(error, LookupError) else str(error)
        logger.error("job %s slot %s failed: %s", name, slot.isoformat(), text.splitlines()[0] if text else error)
        run = _finish(run_id, JobOutcome.FAILED.value, started=started, error=text)
        return RunResult(name, slot, JobOutcome.FAILED.value, run, text.splitlines()[0] if text else "")
    db.session.rollback()  # nothing a job left uncommitted is kept
    run = _finish(run_id, JobOutcome.SUCCEEDED.value, started=started, summary=_summary(result))
    return RunResult(name, slot, JobOutcome.SUCCEEDED.value, run, run.summary or "")


def run_due(name: str, now: datetime | None = None) -> RunResult | None:
    """Run the latest slot of ``name`` at or before ``now`` unless it is claimed already.

    After downtime this is the one catch-up run: the missed slots before it are not run.
    A disabled job runs nothing (``None``).
    """
    entry = effective_schedule(name)
    if not entry.enabled:
        return None
    slot = latest_slot(entry.schedule, now or utcnow(), organisation_zone())
    return run_slot(name, slot)


def run_now(name: str) -> RunResult:
    """Run ``name`` at once (the admin page, ``flask scheduler run-job``), claimed like any slot.

    Its slot is the current second: a second click in the same second is the same slot.
    """
    job_named(name)
    return run_slot(name, utcnow().replace(microsecond=0), trigger="manual")


# --- what the pages and commands show ---------------------------------------------------

@dataclass(frozen=True)
class JobStatus:
    entry: JobSchedule
    next_run: datetime | None
    last_run: JobRun | None


def statuses(now: datetime | None = None) -> list[JobStatus]:
    """Each job with its next slot and its latest run, in two queries."""
    now = now or utcnow()
    zone = organisation_zone()
    entries = effective_schedules()
    newest = (
        select(JobRun.job, func.max(JobRun.started_at).label("started_at")).group_by(JobRun.job).subquery()
    )
    last = {
        run.job: run for run in db.session.scalars(
            select(JobRun).join(newest, (JobRun.job == newest.c.job) & (JobRun.started_at == newest.c.started_at))
            .order_by(JobRun.id)
        )
    }
    return [
        JobStatus(entry, next_slot(entry.schedule, now, zone) if entry.enabled else None, last.get(entry.name))
        for entry in entries
    ]


def recent_runs(page: int = 1, per_page: int = 25):
    """One page of runs, newest first (``app.services.queries.Page``): two queries whatever the page."""
    from app.services.queries import Page

    total = db.session.scalar(select(func.count(JobRun.id))) or 0
    page = min(max(1, page), max(1, -(-total // per_page)))
    runs = list(db.session.scalars(
        select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ))
    return Page(items=runs, page=page, per_page=per_page, total=total)


# --- the scheduler process --------------------------------------------------------------

class SlotTrigger:
    """An APScheduler trigger that fires at the job's slots (the same computation as claims).

    It reads the schedule it was built with; ``Scheduler.refresh`` replaces it when an
    admin changes the schedule.
    """

    def __init__(self, schedule: Schedule, zone: tzinfo) -> None:
        self.schedule = schedule
        self.zone = zone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        after = previous_fire_time if previous_fire_time is not None else now - timedelta(microseconds=1)
        return next_slot(self.schedule, after, self.zone)

    def __str__(self) -> str:
        return self.schedule.describe()


def _trigger_class():
    from apscheduler.triggers.base import BaseTrigger

    # Built lazily so that importing this module does not import APScheduler.
    return type("SlotTrigger", (SlotTrigger, BaseTrigger), {})


class Scheduler:
    """``flask scheduler run``: APScheduler wakes each job at its slots, ``run_due`` claims them.

    Every minute the schedules are read again, so an admin's change takes effect without
    a restart. At start every enabled job's latest due slot is run when nobody ran it: the
    one catch-up after downtime.
    """

    REFRESH_SECONDS = 60

    def __init__(self, app: Flask, *, catch_up: bool = True) -> None:
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.app = app
        self.catch_up = catch_up
        self.stopped = threading.Event()
        self._schedules: dict[str, tuple[Schedule, bool]] = {}
        self.apscheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=max(4, len(jobs(app)) + 1))},
            job_defaults={
                # Several missed fire times are one run; never two of one job in this process;
                # a late wake-up still runs (run_due takes the latest slot, the claim keeps it once).
                "coalesce": True, "max_instances": 1, "misfire_grace_time": None,
            },
            timezone=UTC,
        )

    def _run(self, name: str, at_start: bool = False) -> None:
        with self.app.app_context():
            try:
                if at_start:
                    run_slot(name, utcnow().replace(microsecond=0), trigger="startup")
                else:
                    run_due(name)
            except Exception:  # a broken database must not stop the scheduler thread
                logger.exception("job %s could not be run", name)
            finally:
                db.session.remove()

    def refresh(self) -> None:
        """Add, change or remove APScheduler jobs to match the stored schedules."""
        with self.app.app_context():
            try:
                entries = effective_schedules()
                zone = organisation_zone()
            except Exception:
                logger.exception("the schedules could not be read; the previous ones stay")
                return
            finally:
                db.session.remove()
        trigger_class = _trigger_class()
        for entry in entries:
            wanted = (entry.schedule, entry.enabled)
            if self._schedules.get(entry.name) == wanted:
                continue
            self._schedules[entry.name] = wanted
            if self.apscheduler.get_job(entry.name):
                self.apscheduler.remove_job(entry.name)
            if entry.enabled:
                self.apscheduler.add_job(self._run, trigger_class(entry.schedule, zone), args=[entry.name],
                                         id=entry.name, name=entry.name)
                logger.info("scheduled %s: %s", entry.name, entry.schedule.describe())

    def start(self) -> None:
        self.refresh()
        self.apscheduler.add_job(self.refresh, "interval", seconds=self.REFRESH_SECONDS, id="_refresh")
        self.apscheduler.start()
        if self.catch_up:
            with self.app.app_context():
                try:
                    new = self._never_run_clock_jobs()
                finally:
                    db.session.remove()
            # Through APScheduler's own pool; the claim keeps each job from overlapping itself.
            table = jobs(self.app)
            for job in self.apscheduler.get_jobs():
                if job.id == "_refresh":
                    continue
                if table[job.id].at_start:
                    # Its own slot (this second): it runs even when today's slot ran already.
                    self.apscheduler.add_job(self._run, args=[job.id, True], id=f"_start-{job.id}",
                                             name=job.id)
                elif job.id not in new:
                    job.modify(next_run_time=datetime.now(UTC))

    def _never_run_clock_jobs(self) -> set[str]:
        """Daily and weekly jobs that have never run: a new installation has no downtime to
        make up, so its first start sends no summary of days before it existed."""
        clock_jobs = {name for name, (schedule, _enabled) in self._schedules.items() if schedule.kind != "interval"}
        if not clock_jobs:
            return set()
        ran = set(db.session.scalars(select(JobRun.job).where(JobRun.job.in_(clock_jobs)).distinct()))
        return clock_jobs - ran

    def fire(self, name: str) -> None:
        """Wake job ``name`` now, as its trigger would."""
        self.apscheduler.get_job(name).modify(next_run_time=datetime.now(UTC))

    def shutdown(self) -> None:
        """Stop waking jobs and wait for the running ones to finish and record their outcome."""
        if self.apscheduler.running:
            self.apscheduler.shutdown(wait=True)
        self.stopped.set()

    def run_forever(self, stop: threading.Event | None = None, *, started: Callable[[], None] | None = None) -> None:
        """Run until SIGTERM, SIGINT (Ctrl+C) or ``stop`` is set; then shut down cleanly.

        ``started`` is called once the signals are handled and the jobs scheduled.
        """
        stop = stop or threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGTERM, signal.SIGINT):
                previous[number] = signal.signal(number, lambda *_: stop.set())
        self.start()
        if started is not None:
            started()
        try:
            while not stop.wait(1):
                pass
        finally:
            self.shutdown()
            for number, handler in previous.items():
                signal.signal(number, handler)


def schedule_lines(now: datetime | None = None) -> Iterator[str]:
    """One line per job: name, schedule (local), next run (local), last outcome."""
    from app.services.local_time import format_local, zone_label

    zone = organisation_zone()
    for status in statuses(now):
        entry = status.entry
        schedule = entry.schedule.describe()
        if entry.schedule.kind != "interval":
            schedule += f" {zone_label(zone)}"
        upcoming = format_local(status.next_run, "datetime", zone=zone) if status.next_run else "disabled"
        if status.last_run is None:
            last = "never run"
        else:
            last = f"{status.last_run.outcome} {format_local(status.last_run.started_at, 'datetime', zone=zone)}"
        yield f"{entry.name:<15} {schedule:<28} next {upcoming:<24} last {last}"
