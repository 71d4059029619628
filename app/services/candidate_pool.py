"""The candidate pool: every technician who could take work, as arrays, loaded from the database.

The matching service (``app.services.matching``) ranks from a ``LoadedPool``. Loading it is
a constant number of queries whatever the number of technicians, and most of what it reads
changes seldom, so each process keeps that part in memory:

- **kept** (``_StaticPart``): who is in the pool (active technicians with a profile), names,
  time zones, home base and manual current position, rates, shifts, limits, availability
  (with when an unavailability ends, compared with the time at each ranking), skills and the
  skill catalogue. It is checked before each ranking against ``pool_version``, a counter
  that every transaction changing one of those raises (``bump_version``, called by the
  session hooks for ORM writes of users, profiles, technician skills and skills, and by
  ORM bulk statements on them). One narrow query per ranking; on a mismatch the part is read
  again (three queries). It is also read again every ``STATIC_REFRESH_S`` seconds, which
  bounds how long a write made in raw SQL, which no hook sees, can go unnoticed.
- **kept, brought up to date at each ranking**: capacity in use and completion counters
  (they change with every assignment and completion; one indexed query reads the profiles
  stamped since the previous read: "Capacity and completion counters").
- **read every time**: urgent work in hand, pending skill demand, fresh
  device positions (``technician_positions`` within ``MOTORPOOL_POSITION_MAX_AGE_MINUTES``),
  and the recent completions (kept too, brought up to date in one query: "Recent work").

A position shared by the technician's device and still fresh is where distance and travel
time are measured from; otherwise the profile's current position, otherwise the home base.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    POOL_VERSION_ID,
    Availability,
    Dispatch,
    DispatchPriority,
    DispatchStatus,
    PoolVersion,
    Role,
    Skill,
    TechnicianPosition,
    TechnicianProfile,
    TechnicianSkill,
    User,
    utcnow,
)
from app.services import local_time
from app.services.technicians import POSITION_CLOCK_SKEW

OPEN = (DispatchStatus.ASSIGNED, DispatchStatus.EN_ROUTE, DispatchStatus.IN_PROGRESS)
URGENT = (DispatchPriority.HIGH, DispatchPriority.CRITICAL)
POOL_CACHE_KEY = "motorpool.candidate_pool"
STATIC_REFRESH_S = 600.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NEVER_US = np.iinfo(np.int64).max
_MICROSECOND = timedelta(microseconds=1)


def _us(value: datetime) -> int:
    """Microseconds since the epoch: exact integer arithmetic on instants."""
    return (value - _EPOCH) // _MICROSECOND


@dataclass
class TechnicianInfo:
    id: int
    name: str
    email: str
    # The shift as stored, for saying when an off-shift technician is back (``shift_text``).
    shift_days: str = ""
    shift_start: object = None
    shift_end: object = None
    time_zone: str | None = None  # theirs; None = the organisation's


@dataclass
class LoadedPool:
    pool: object  # app.matching.CandidatePool
    technicians: dict[int, TechnicianInfo]
    loaded_at: datetime
    #: Technician id -> when their device took the fresh position the pool measures from.
    positions: dict[int, datetime] = field(default_factory=dict)


# --- Shifts --------------------------------------------------------------------------------


def _minutes(value) -> int:
    return value.hour * 60 + value.minute


def _rows_by_zone(names: tuple | None, n: int) -> list[tuple[str | None, np.ndarray]]:
    """Row indices per distinct zone name (None: the organisation's); one group when all agree."""
    distinct = set(names) if names is not None else {None}
    if len(distinct) == 1:
        return [(distinct.pop(), np.arange(n))]
    codes: dict[str | None, int] = {}
    code_of = np.array([codes.setdefault(name, len(codes)) for name in names], dtype=np.intp)
    order = np.argsort(code_of, kind="stable")
    bounds = np.searchsorted(code_of[order], np.arange(len(codes) + 1))
    return [(name, order[bounds[code]:bounds[code + 1]]) for name, code in codes.items()]


@dataclass
class _ShiftPlan:
    """The shifts as arrays: what does not depend on the time (kept with the static part)."""

    start: np.ndarray  # minutes after local midnight
    end: np.ndarray
    works_on: np.ndarray  # n × 7: works on ISO weekday d + 1
    zones: list[tuple[str | None, np.ndarray]]


def _shift_plan(columns: dict[str, tuple]) -> _ShiftPlan:
    n = len(columns["shift_days"])
    start = np.array([_minutes(value) for value in columns["shift_start"]], dtype=np.float64)
    end = np.array([_minutes(value) for value in columns["shift_end"]], dtype=np.float64)
    # Which ISO weekdays each row works: one row of the table per distinct shift_days text.
    patterns: dict[str, int] = {}
    pattern_of = np.array([patterns.setdefault(text, len(patterns)) for text in columns["shift_days"]], dtype=np.intp)
    works_on = np.array([[str(day) in text for day in range(1, 8)] for text in patterns], dtype=bool).reshape(-1, 7)
    return _ShiftPlan(start, end, works_on[pattern_of], _rows_by_zone(columns.get("time_zone"), n))


def _shift_state(columns: dict[str, tuple], now: datetime) -> tuple[np.ndarray, np.ndarray]:
    """On shift now, and real hours left in the current shift, for every profile.

    Shift days and times are the technician's wall clock in their zone (``time_zone``
    column: theirs, else the organisation's). Rows are grouped by zone, so the work is a
    few numpy passes per distinct zone whatever the pool's size. Hours left are elapsed
    hours: on the day the clocks change, a shift ending at 17:00 local is an hour nearer
    or farther than the wall clocks' difference says.
    """
    return _shift_state_of(_shift_plan(columns), now)


def _shift_state_of(plan: _ShiftPlan, now: datetime) -> tuple[np.ndarray, np.ndarray]:
    n = plan.start.shape[0]
    start, end, works_on = plan.start, plan.end, plan.works_on
    on_shift = np.zeros(n, dtype=bool)
    minutes_left = np.zeros(n, dtype=np.float64)
    for name, rows in plan.zones:
        zone = local_time.zone_named(name)
        local = now.astimezone(zone)
        today, yesterday = local.isoweekday(), (local - timedelta(days=1)).isoweekday()
        now_minutes = local.hour * 60 + local.minute + local.second / 60
        s, e = start[rows], end[rows]
        works_today, worked_yesterday = works_on[rows, today - 1], works_on[rows, yesterday - 1]
        # An overnight shift (and one whose start and end are equal: 24 hours) belongs to the
        # day it starts: after midnight it is yesterday's shift.
        on_shift[rows] = np.where(
            e <= s,
            (works_today & (now_minutes >= s)) | (worked_yesterday & (now_minutes < e)),
            works_today & (now_minutes >= s) & (now_minutes < e),
        )
        ends_tomorrow = now_minutes >= e
        wall_left = np.where(ends_tomorrow, e + 1440 - now_minutes, e - now_minutes)
        # The zone's offset when the shift ends, for each distinct (end, day) — a handful.
        keys, key_of = np.unique(e * 2 + ends_tomorrow, return_inverse=True)
        shift_by = np.array([
            local_time.offset_change_minutes(local, int(key // 2), tomorrow=bool(key % 2)) for key in keys
        ], dtype=np.float64)
        minutes_left[rows] = wall_left - shift_by[key_of]
    return on_shift, np.where(on_shift, np.maximum(minutes_left, 0.0) / 60.0, 0.0)


# --- The version of the kept part ----------------------------------------------------------

#: Attributes whose change makes the kept part stale; any new or deleted row of these models
#: does too. ``skills`` is the collection: a skill dropped from it is deleted as an orphan
#: only during the flush, after the hook has looked.
STATIC_COLUMNS: dict[type, frozenset[str]] = {
    User: frozenset({"email", "name", "role", "is_active_user", "is_system", "time_zone"}),
    TechnicianProfile: frozenset({
        "user_id", "home_latitude", "home_longitude", "current_latitude", "current_longitude", "hourly_rate",
        "overtime_multiplier", "shift_days", "shift_start", "shift_end", "max_concurrent_dispatches",
        "max_hours_per_week", "availability", "unavailable_until", "skills",
    }),
    TechnicianSkill: frozenset({"technician_profile_id", "skill_id", "level"}),
    Skill: frozenset({"name", "category"}),
}


def bump_version(session: Session) -> None:
    """Raise the pool's version in the current transaction (one upsert; it commits with the change).

    On PostgreSQL the row stays locked until the transaction ends, so two transactions that
    change technicians take turns on it; they are rare next to rankings, which only read it.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = PoolVersion.__table__
    session.execute(
        insert(table).values(id=POOL_VERSION_ID, version=1)
        .on_conflict_do_update(index_elements=[table.c.id], set_={"version": table.c.version + 1})
    )


def current_version() -> int | None:
    return db.session.scalar(select(PoolVersion.version).where(PoolVersion.id == POOL_VERSION_ID))


# --- Loading the candidate pool (a constant number of queries) ---------------------------


@dataclass
class _StaticPart:
    version: int | None
    read_at: float  # time.monotonic()
    technician_ids: np.ndarray  # ascending
    user_row: dict[int, int]
    technicians: dict[int, TechnicianInfo]
    skills: list[str]
    skill_by_name: dict[str, int]
    skill_levels: np.ndarray
    skill_relatedness: np.ndarray
    latitude: np.ndarray  # the profile's current position, else the home base
    longitude: np.ndarray
    hourly_rate: np.ndarray
    overtime_multiplier: np.ndarray
    max_concurrent: np.ndarray
    max_hours_per_week: np.ndarray
    shifts: _ShiftPlan
    marked_available: np.ndarray  # availability is Available
    back_at_us: np.ndarray  # when a marked unavailability ends (µs since the epoch), else NEVER_US

    def available_at(self, now: datetime) -> np.ndarray:
        """Available now: marked so, or an unavailability whose end has passed (as ``capacity`` claims)."""
        return self.marked_available | (self.back_at_us <= _us(now))


def _frozen(array: np.ndarray) -> np.ndarray:
    """Kept arrays are shared by every pool built from them: make a stray write fail loudly."""
    array.flags.writeable = False
    return array


def _read_static(version: int | None) -> _StaticPart:
    session = db.session
    profile = TechnicianProfile
    rows = session.execute(
        select(
            profile.id, profile.user_id, User.name, User.email,
            profile.home_latitude, profile.home_longitude, profile.current_latitude, profile.current_longitude,
            profile.hourly_rate, profile.overtime_multiplier, profile.shift_days, profile.shift_start,
            profile.shift_end, profile.max_concurrent_dispatches, profile.max_hours_per_week, User.time_zone,
            profile.availability, profile.unavailable_until,
        )
        .join(User, User.id == profile.user_id)
        .where(User.role == Role.TECHNICIAN.value, User.is_active_user.is_(True), User.is_system.is_(False))
        .order_by(profile.user_id)
    ).all()
    skills = session.execute(select(Skill.id, Skill.name, Skill.category).order_by(Skill.id)).all()
    n, k = len(rows), len(skills)
    # Column-wise conversion: one pass per column instead of an attribute lookup per cell.
    columns = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True)) if n else {}
    user_ids = columns.get("user_id", ())
    user_row = {user_id: i for i, user_id in enumerate(user_ids)}

    levels = np.zeros((n, k), dtype=np.float32)
    if n and k:
        result = session.execute(
            select(TechnicianSkill.technician_profile_id, TechnicianSkill.skill_id, TechnicianSkill.level)
        )
        # Plain tuples: numpy reads them far faster than result rows.
        held = np.array(list(map(tuple, result)), dtype=np.int64).reshape(-1, 3)
        profile_ids = np.array(columns["id"], dtype=np.int64)
        by_profile = np.argsort(profile_ids)
        skill_ids = np.array([skill.id for skill in skills], dtype=np.int64)  # ascending (ORDER BY id)
        at = np.searchsorted(profile_ids, held[:, 0], sorter=by_profile).clip(0, n - 1)
        known = profile_ids[by_profile[at]] == held[:, 0]  # skills of inactive technicians are left out
        rows_of = by_profile[at[known]]
        cols_of = np.searchsorted(skill_ids, held[known, 1])
        levels[rows_of, cols_of] = held[known, 2]
    categories = np.array([skill.category for skill in skills], dtype=object)
    relatedness = np.where(categories[:, None] == categories[None, :], 0.5, 0.0).astype(np.float32) if k else \
        np.zeros((0, 0), dtype=np.float32)
    np.fill_diagonal(relatedness, 1.0)

    def column(name, dtype=np.float64):
        # None becomes NaN for floats; integer columns are NOT NULL.
        return np.array(columns.get(name, ()), dtype=dtype)

    current_lat, current_lon = column("current_latitude"), column("current_longitude")
    time_zones = columns.get("time_zone") or (None,) * n
    technicians = {
        user_id: TechnicianInfo(user_id, name, email, days, start, end, zone)
        for user_id, name, email, days, start, end, zone in zip(
            user_ids, columns.get("name", ()), columns.get("email", ()), columns.get("shift_days", ()),
            columns.get("shift_start", ()), columns.get("shift_end", ()), time_zones, strict=True)
    }
    marked = np.array([value == Availability.AVAILABLE.value for value in columns.get("availability", ())], dtype=bool)
    back_at = np.array([NEVER_US if value is None else _us(value) for value in columns.get("unavailable_until", ())],
                       dtype=np.int64)
    shifts = _shift_plan(columns) if n else _ShiftPlan(np.zeros(0), np.zeros(0), np.zeros((0, 7), bool), [])
    return _StaticPart(
        version=version,
        read_at=time.monotonic(),
        technician_ids=_frozen(np.array(user_ids, dtype=np.int64)),
        user_row=user_row,
        technicians=technicians,
        skills=[skill.name for skill in skills],
        skill_by_name={skill.name: j for j, skill in enumerate(skills)},
        skill_levels=_frozen(levels),
        skill_relatedness=_frozen(relatedness),
        latitude=_frozen(np.where(np.isnan(current_lat), column("home_latitude"), current_lat)),
        longitude=_frozen(np.where(np.isnan(current_lon), column("home_longitude"), current_lon)),
        hourly_rate=_frozen(column("hourly_rate")),
        overtime_multiplier=_frozen(column("overtime_multiplier")),
        max_concurrent=_frozen(column("max_concurrent_dispatches", np.int32)),
        max_hours_per_week=_frozen(column("max_hours_per_week")),
        shifts=shifts,
        marked_available=_frozen(marked),
        back_at_us=_frozen(back_at),
    )


def _static_part() -> _StaticPart:
    """The kept part, read again when the version moved (or it is older than ``STATIC_REFRESH_S``)."""
    cache = current_app.extensions.setdefault(POOL_CACHE_KEY, {})
    # Read the version first: a change committed while the part is being read leaves it
    # tagged with the older version, so the next ranking reads it again.
    version = current_version()
    cached: _StaticPart | None = cache.get("static")
    if (cached is not None and version is not None and cached.version == version
            and time.monotonic() - cached.read_at < STATIC_REFRESH_S):
        return cached
    fresh = _read_static(version)
    cache["static"] = fresh
    return fresh


def forget() -> None:
    """Drop this process's kept part and counters (the next ranking reads them again)."""
    cache = current_app.extensions.get(POOL_CACHE_KEY, {})
    cache.pop("static", None)
    cache.pop("counters", None)


def _fresh_positions(static: _StaticPart, now: datetime) -> dict[int, tuple[float, float, datetime]]:
    """Each technician's latest position taken within the configured age, by technician id."""
    max_age = timedelta(minutes=float(current_app.config["MOTORPOOL_POSITION_MAX_AGE_MINUTES"]))
    position = TechnicianPosition
    latest: dict[int, tuple[float, float, datetime]] = {}
    for technician_id, latitude, longitude, reported_at in db.session.execute(
        select(position.technician_id, position.latitude, position.longitude, position.reported_at)
        .where(position.reported_at >= now - max_age, position.reported_at <= now + POSITION_CLOCK_SKEW)
        .order_by(position.technician_id, position.reported_at, position.id)
    ):
        if technician_id in static.user_row:
            latest[technician_id] = (latitude, longitude, reported_at)  # the last one per technician wins
    return latest


_COUNTER_COLUMNS = (TechnicianProfile.user_id, TechnicianProfile.active_dispatch_count,
                    TechnicianProfile.completed_count, TechnicianProfile.on_time_count,
                    TechnicianProfile.first_time_fix_count)

# --- Capacity and completion counters: kept, brought up to date from what changed -----------
#
# They change with every assignment and completion, so they cannot sit behind the kept
# part's version (every create would empty every process's cache), and reading all of them
# on every ranking cost about 9 ms at 10,000 technicians. Every statement that changes them
# (app/services/capacity.py: claims, releases, completions, and the technician services'
# ORM writes) also stamps the profile's ``updated_at`` (its ``onupdate``), so each ranking
# reads only the profiles stamped since its previous read, through
# ``ix_technician_profiles_updated_at``, and overwrites their rows.
#
# A stamp is taken when the statement runs, before its transaction commits, so the next read
# starts ``COUNTERS_OVERLAP`` before the previous one began: a transaction shorter than that
# (and clocks of two hosts closer than that) is never missed. Everything is read again
# every ``COUNTERS_REFRESH_S`` seconds and whenever the kept part is read again (new or
# removed technicians), which bounds what a longer transaction or a write in raw SQL can
# leave unseen. Capacity itself never depends on these figures: the claim's conditional
# UPDATE refuses a technician at capacity whatever a ranking believed.

COUNTERS_OVERLAP = timedelta(seconds=60)
COUNTERS_REFRESH_S = 300.0


@dataclass
class _Counters:
    static: _StaticPart  # the kept part the rows are aligned with
    read_at: float  # time.monotonic() of the last full read
    since: datetime  # the next read takes the profiles stamped from here on
    values: np.ndarray  # n × 4: active, completed, on time, first-time fix (read-only)


def _counter_rows(where=None) -> np.ndarray:
    """Profiles' user id, capacity in use and completion counters: an m × 5 integer array.

    Executed as a Core statement (statement events still see it) and fetched from the DBAPI
    cursor: numpy reads the driver's plain tuples directly, where result rows cost a Python
    object each.
    """
    statement = select(*_COUNTER_COLUMNS)
    if where is not None:
        statement = statement.where(where)
    result = db.session.connection().execute(statement)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    return np.array(rows, dtype=np.int64).reshape(-1, len(_COUNTER_COLUMNS))


def _place(static: _StaticPart, rows: np.ndarray, values: np.ndarray) -> None:
    n = len(static.technician_ids)
    at = np.searchsorted(static.technician_ids, rows[:, 0]).clip(0, n - 1)
    known = static.technician_ids[at] == rows[:, 0]  # profiles outside the pool are left out
    values[at[known]] = rows[known, 1:]


def _counters(static: _StaticPart) -> np.ndarray:
    """Every pool row's counters (n × 4), kept and brought up to date in one indexed query."""
    cache = current_app.extensions.setdefault(POOL_CACHE_KEY, {})
    cached: _Counters | None = cache.get("counters")
    # The process's real clock, not a ranking's ``now``: the stamps are real times.
    started = utcnow()
    n = len(static.technician_ids)
    if (cached is None or cached.static is not static
            or time.monotonic() - cached.read_at > COUNTERS_REFRESH_S):
        values = np.zeros((n, 4), dtype=np.int32)
        if n:
            _place(static, _counter_rows(), values)
        cached = _Counters(static, time.monotonic(), started - COUNTERS_OVERLAP, _frozen(values))
    else:
        changed = _counter_rows(TechnicianProfile.updated_at >= cached.since)
        values = cached.values
        if len(changed):
            # A copy: pools built before share the old array.
            values = values.copy()
            _place(static, changed, values)
            _frozen(values)
        cached = _Counters(static, cached.read_at, started - COUNTERS_OVERLAP, values)
    cache["counters"] = cached
    return cached.values


def load_pool(now: datetime | None = None) -> LoadedPool:
    """Every active technician with a profile, as arrays, in a constant number of queries.

    Six queries when the kept part is current (its version, the changed profiles' counters, urgent
    work, recent completions, skill demand, fresh positions); three more when it is not.
    """
    from app.matching import CandidatePool

    now = now or utcnow()
    session = db.session
    static = _static_part()
    n, k = len(static.technician_ids), len(static.skills)
    user_row = static.user_row

    # What changes with every assignment and completion, read for every technician.
    available = static.available_at(now)
    counters = _counters(static)
    active, completed, on_time, first_time = counters[:, 0], counters[:, 1], counters[:, 2], counters[:, 3]

    # Grouped by an expression, not the bare column: with the column SQLite walks the whole
    # assigned_user_id index for its order (~0.5 s at 100,000 dispatches) instead of reading
    # the few open urgent rows through ix_dispatches_status_priority (~1 ms).
    urgent = np.zeros(n, dtype=np.int32)
    assignee = (Dispatch.assigned_user_id + 0).label("assignee")
    for user_id, count in session.execute(
        select(assignee, func.count())
        .where(Dispatch.status.in_(OPEN), Dispatch.priority.in_(URGENT), Dispatch.assigned_user_id.is_not(None))
        .group_by(assignee)
    ):
        if user_id in user_row:
            urgent[user_row[user_id]] = count

    hours, streak = _recent_work(now, user_row)

    demand = np.zeros(k, dtype=np.float32)
    # Grouped by the bare column: ix_dispatches_status_required_skill holds the waiting rows in
    # skill order, so SQLite counts them from the index alone, in order (0.8 ms at 15,000
    # waiting dispatches; an expression of the column needed a temporary B-tree, 3.2 ms, and
    # before that index existed every waiting row was read from the table, 13 ms).
    for name, count in session.execute(
        select(Dispatch.required_skill, func.count())
        .where(Dispatch.status == DispatchStatus.CREATED.value, Dispatch.required_skill.is_not(None))
        .group_by(Dispatch.required_skill)
    ):
        if name in static.skill_by_name:
            demand[static.skill_by_name[name]] = count

    latitude, longitude = static.latitude, static.longitude
    fresh = _fresh_positions(static, now)
    if fresh:
        latitude, longitude = latitude.copy(), longitude.copy()
        for technician_id, (lat, lon, _at) in fresh.items():
            latitude[user_row[technician_id]], longitude[user_row[technician_id]] = lat, lon
    on_shift, hours_left = _shift_state_of(static.shifts, now)

    pool = CandidatePool(
        technician_ids=static.technician_ids,
        skills=static.skills,
        skill_levels=static.skill_levels,
        skill_relatedness=static.skill_relatedness,
        latitude=latitude,
        longitude=longitude,
        hourly_rate=static.hourly_rate,
        overtime_multiplier=static.overtime_multiplier,
        shift_hours_left=hours_left,
        on_shift=on_shift,
        available=available,
        active_count=active,
        max_concurrent=static.max_concurrent,
        active_urgent_count=urgent,
        hours_last_7_days=hours,
        max_hours_per_week=static.max_hours_per_week,
        consecutive_work_days=streak,
        completed_count=completed,
        on_time_count=on_time,
        first_time_fix_count=first_time,
        pending_skill_demand=demand,
    )
    return LoadedPool(pool=pool, technicians=static.technicians, loaded_at=now,
                      positions={technician_id: at for technician_id, (_lat, _lon, at) in fresh.items()})


# --- Recent work: hours in the last 7 days and consecutive working days ----------------------
#
# Both come from the dispatches completed in the last 14 days: on a busy fleet that is
# thousands of rows (about 15,000 for 1,000 technicians), and reading and converting them
# on every ranking cost more than everything else on the dispatch page. The rows change
# little between two rankings, so each process keeps them, as arrays, and every load reads
# only what may have changed, in the same single query:
#
# - the completions of the last few minutes again (``RECENT_OVERLAP``), which covers new
#   completions, transactions that committed late and fresh corrections;
# - the number of dispatches completed since the cached horizon, as a check: if it differs
#   from what the cache holds (a deletion, a completion dated further back), everything is
#   read again at once.
#
# Everything is read again anyway every ``RECENT_REFRESH_S`` seconds. The figures are the
# same as from a fresh read: hours are summed from integer microseconds exactly as
# ``timedelta`` does.

RECENT_DAYS = 14  # completions looked at for the streak (the weekly hours use the last 7 days)
RECENT_HORIZON = timedelta(days=RECENT_DAYS + 1)  # what a cache holds: it serves for a day
RECENT_OVERLAP = timedelta(minutes=2)
RECENT_REFRESH_S = 300.0
RECENT_WORK_KEY = "motorpool.recent_work"
_DAY_US = 86_400_000_000


@dataclass
class _RecentRows:
    """Completed dispatches since ``horizon`` (every status, so the count check can compare)."""

    horizon: datetime
    read_at: float  # time.monotonic()
    rows: dict[int, tuple]  # dispatch id -> (status, user id, started, completed, estimated hours)
    since: datetime | None = None  # where the next update starts reading
    tail: frozenset = frozenset()  # ids of the rows completed since then
    # Arrays over the completed rows with a technician, for the computation.
    user: np.ndarray = field(default=None, repr=False)
    completed_us: np.ndarray = field(default=None, repr=False)
    started_us: np.ndarray = field(default=None, repr=False)
    has_started: np.ndarray = field(default=None, repr=False)
    fixed_hours: np.ndarray = field(default=None, repr=False)  # span for rows without a start
    day: np.ndarray = field(default=None, repr=False)  # completion date, as an ordinal

    def __post_init__(self) -> None:
        done = [row for row in self.rows.values() if row[0] == DispatchStatus.COMPLETED.value and row[1] is not None]
        latest = max((row[3] for row in self.rows.values()), default=None)
        self.since = max(self.horizon, (latest or self.horizon) - RECENT_OVERLAP)
        self.tail = frozenset(key for key, row in self.rows.items() if row[3] >= self.since)
        self.user = np.array([row[1] for row in done], dtype=np.int64)
        self.completed_us = np.array([_us(row[3]) for row in done], dtype=np.int64)
        self.has_started = np.array([row[2] is not None for row in done], dtype=bool)
        self.started_us = np.array([_us(row[2]) if row[2] is not None else 0 for row in done], dtype=np.int64)
        self.fixed_hours = np.array(
            [0.0 if row[2] is not None else timedelta(hours=row[4]).total_seconds() / 3600 for row in done],
            dtype=np.float64,
        )
        self.day = np.array([row[3].toordinal() for row in done], dtype=np.int64)


_RECENT_COLUMNS = (Dispatch.id, Dispatch.status, Dispatch.assigned_user_id, Dispatch.started_date,
                   Dispatch.completed_date, Dispatch.estimated_duration_hours)


def _row(values) -> tuple:
    return (values.status, values.assigned_user_id, values.started_date, values.completed_date,
            float(values.estimated_duration_hours))


def _read_recent(now: datetime) -> _RecentRows:
    horizon = now - RECENT_HORIZON
    result = db.session.execute(select(*_RECENT_COLUMNS).where(Dispatch.completed_date >= horizon))
    return _RecentRows(horizon, time.monotonic(), {values.id: _row(values) for values in result})


def _recent_rows(now: datetime) -> _RecentRows:
    """The cached completions, brought up to date in one query (two when the check fails)."""
    cache = current_app.extensions.setdefault(RECENT_WORK_KEY, {})
    cached: _RecentRows | None = cache.get("rows")
    if (cached is None or now - timedelta(days=RECENT_DAYS) < cached.horizon
            or time.monotonic() - cached.read_at > RECENT_REFRESH_S):
        fresh = _read_recent(now)
        cache["rows"] = fresh
        return fresh
    since = cached.since
    total = (select(func.count().label("total")).select_from(Dispatch)
             .where(Dispatch.completed_date >= cached.horizon).subquery())
    result = db.session.execute(
        select(total.c.total, *_RECENT_COLUMNS)
        .select_from(total.outerjoin(Dispatch.__table__, Dispatch.completed_date >= since))
    ).all()
    delta = {values.id: _row(values) for values in result if values.id is not None}
    changed = {key: row for key, row in delta.items() if cached.rows.get(key) != row}
    gone = cached.tail - delta.keys()  # completed in the overlap before, no longer (or re-dated)
    added = sum(1 for key in changed if key not in cached.rows)
    if len(cached.rows) + added - len(gone) != result[0].total:
        fresh = _read_recent(now)
        cache["rows"] = fresh
        return fresh
    if changed or gone:
        rows = {key: row for key, row in cached.rows.items() if key not in gone} if gone else dict(cached.rows)
        rows.update(changed)
        cached = _RecentRows(cached.horizon, cached.read_at, rows)
        cache["rows"] = cached
    return cached


def _recent_work(now: datetime, user_row: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hours worked in the last 7 days and consecutive working days, from recent completions."""
    n = len(user_row)
    recent = _recent_rows(now)
    hours = np.zeros(n, dtype=np.float64)
    streak = np.zeros(n, dtype=np.int32)
    if not n or not recent.user.size:
        return hours, streak
    keys = np.fromiter(user_row.keys(), dtype=np.int64, count=n)
    positions = np.fromiter(user_row.values(), dtype=np.int64, count=n)
    by_key = np.argsort(keys)
    keys, positions = keys[by_key], positions[by_key]
    at = np.searchsorted(keys, recent.user).clip(0, n - 1)
    known = keys[at] == recent.user  # technicians outside the pool are left out
    row = positions[at]
    now_us = _us(now)
    week_ago = now_us - 7 * _DAY_US
    in_window = known & (recent.completed_us >= now_us - RECENT_DAYS * _DAY_US)

    weekly = in_window & (recent.completed_us >= week_ago)
    start = np.maximum(recent.started_us, week_ago)
    spans = np.where(recent.has_started, (recent.completed_us - start) / 1e6 / 3600, recent.fixed_hours)
    spans = np.maximum(0.0, spans)
    hours = np.bincount(row[weekly], weights=spans[weekly], minlength=n).astype(np.float64)

    # Worked on day d before today (d = 0 is today); the streak ends today, or yesterday
    # when nothing was completed yet today.
    offset = now.date().toordinal() - recent.day
    counted = in_window & (offset >= 0) & (offset <= RECENT_DAYS + 1)
    worked = np.zeros((n, RECENT_DAYS + 2), dtype=bool)
    worked[row[counted], offset[counted]] = True
    run = np.where(worked[:, :1], worked[:, :-1], worked[:, 1:])
    streak = np.cumprod(run, axis=1).sum(axis=1).astype(np.int32)
    return hours, streak

