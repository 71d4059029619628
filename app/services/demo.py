"""Demo data: a small fleet, its people, and as many dispatches as asked for.

Dispatches are created through the same creation rules as every other path (the flush
hook creates their checklist rows, events and history), in batches that each commit once.
"""

from __future__ import annotations

import functools
import math
import random
import time as _time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    Dispatch,
    DispatchPriority,
    MajorLocation,
    MakeModel,
    Role,
    Skill,
    TechnicianProfile,
    TechnicianSkill,
    User,
    clock_at,
    utcnow,
)
from app.services import assets as asset_service
from app.services import detail_sets, dispatches, local_time, matching, metrics, users
from app.services.dispatch_creation import DispatchSpec, bulk_create_dispatches
from app.services.transaction import transaction

DEMO_PASSWORD = "motorpool-demo"  # documented in the README; demo accounts only

LOCATIONS = [
    ("North Depot", "12 Foundry Road, Leeds", 53.8321, -1.5331),
    ("South Yard", "4 Canal Wharf, Leeds", 53.7865, -1.5450),
    ("East Hub", "88 York Road, Leeds", 53.8047, -1.4862),
    ("West Works", "1 Ring Road, Bramley", 53.8128, -1.6263),
    ("Airport Base", "Whitehouse Lane, Yeadon", 53.8659, -1.6606),
]

# (make, model, asset type, additional detail types beyond the type's own set)
MODELS = [
    ("Volvo", "FH16", "Truck", []),
    ("Scania", "R500", "Truck", ["vehicle_dispatch"]),
    ("DAF", "XF", "Truck", []),
    ("Ford", "Transit", "Vehicle", []),
    ("Mercedes-Benz", "Sprinter", "Vehicle", ["truck_checklist"]),
    ("Toyota", "Hilux", "Vehicle", []),
]

ASSET_TYPE_SETS = {"Truck": ["truck_checklist"], "Vehicle": ["vehicle_dispatch"]}
ASSET_TYPE_SKILLS = {"Truck": "HGV driving", "Vehicle": "Van driving"}

SKILLS = [
    ("HGV driving", "Driving"), ("Van driving", "Driving"), ("Forklift", "Driving"),
    ("Diesel engines", "Mechanical"), ("Brakes", "Mechanical"), ("Tyres", "Mechanical"),
    ("Auto electrics", "Electrical"), ("Diagnostics", "Electrical"), ("Refrigeration", "Refrigeration"),
]

# name -> (skills with levels, shift, max concurrent dispatches). Shifts are placed around the
# time the demo is loaded (``_shift``), so the fleet is mid-day whenever it is opened:
# ("on", h) — started h hours ago, 10 hours long; ("later", h) — starts in h hours; "off today" —
# not working today. Nobody works round the clock: a 24-hour shift would read as a quarter-booked
# technician in the utilisation figures.
TECHNICIAN_PROFILES = {
    "Amara Okafor": ({"HGV driving": 5, "Diesel engines": 3}, ("on", 2), 3),
    "Ben Hughes": ({"Van driving": 4, "Tyres": 4}, ("on", 1), 3),
    "Chen Wei": ({"Auto electrics": 5, "Diagnostics": 5, "Van driving": 2}, ("on", 5), 3),
    "Dana Kowalski": ({"HGV driving": 3, "Forklift": 4}, "off today", 3),
    "Elif Yilmaz": ({"Brakes": 5, "Diesel engines": 4, "HGV driving": 2}, ("on", 4), 4),
    "Finn O'Brien": ({"Van driving": 5, "Refrigeration": 3}, ("on", 3), 3),
    "Grace Mensah": ({"HGV driving": 4, "Van driving": 4}, ("on", 6), 3),
    "Hugo Martins": ({"Refrigeration": 5, "Auto electrics": 3}, ("later", 2), 3),
}
SHIFT_HOURS = 10

TECHNICIANS = [
    "Amara Okafor", "Ben Hughes", "Chen Wei", "Dana Kowalski",
    "Elif Yilmaz", "Finn O'Brien", "Grace Mensah", "Hugo Martins",
]

TITLES = [
    "Deliver pallets to {site}", "Pre-trip inspection", "Collect spare parts from {site}",
    "Tyre replacement run", "Move vehicle to {site}", "Scheduled service trip",
    "Return hire equipment to {site}", "Emergency fuel delivery", "Driver training run",
    "Transfer load to {site}",
]

PRIORITY_WEIGHTS = {
    DispatchPriority.LOW: 20, DispatchPriority.NORMAL: 55,
    DispatchPriority.HIGH: 18, DispatchPriority.CRITICAL: 7,
}


@dataclass
class DemoLogin:
    role: str
    email: str
    name: str


def database_is_empty() -> bool:
    real_users = db.session.scalar(select(func.count()).select_from(User).where(User.is_system.is_(False)))
    return not real_users and not db.session.scalar(select(func.count()).select_from(Dispatch))


def _user(email: str, name: str, role: str) -> User:
    existing = db.session.scalar(select(User).where(User.email == email))
    return existing or users.create_user(email=email, name=name, role=role, password=DEMO_PASSWORD)


def seed_fleet(now: datetime | None = None) -> list[DemoLogin]:
    """Locations, asset types with their detail sets, models, assets and people.

    Technicians' shifts are placed around ``now`` (default: the real time) in the
    organisation's zone, so most of them are on shift when the demo is opened.
    """
    now = now or utcnow()
    with clock_at(now), transaction():
        locations = [asset_service.create_location(*row) for row in LOCATIONS]
        skills = {name: Skill(name=name, category=category) for name, category in SKILLS}
        db.session.add_all(skills.values())
        types: dict[str, AssetType] = {}
        for type_name, keys in ASSET_TYPE_SETS.items():
            types[type_name] = asset_service.create_asset_type(type_name)
            types[type_name].default_skill = ASSET_TYPE_SKILLS[type_name]
            for key in keys:
                detail_sets.add_type_to_asset_type(types[type_name], key)
        types["Trailer"] = asset_service.create_asset_type("Trailer", "Unpowered; no checklist configured")
        models: list[MakeModel] = []
        for make, model, type_name, extra in MODELS:
            make_model = asset_service.create_make_model(make, model, types[type_name])
            for key in extra:
                detail_sets.add_type_to_make_model(make_model, key)
            models.append(make_model)
        for number in range(1, 41):
            make_model = models[(number - 1) % len(models)]
            prefix = "TRK" if make_model.asset_type.name == "Truck" else "VEH"
            asset_service.create_asset(
                asset_tag=f"{prefix}-{number:04d}",
                name=f"{make_model.display_name} #{number}",
                asset_type=make_model.asset_type,
                make_model=make_model,
                location=locations[number % len(locations)],
                odometer=float(10_000 + number * 1_337),
            )
        logins = [("admin@motorpool.example", "Avery Admin", Role.ADMIN), ("manager@motorpool.example", "Morgan Manager", Role.MANAGER)]
        for index, name in enumerate(TECHNICIANS, start=1):
            logins.append((f"tech{index}@motorpool.example", name, Role.TECHNICIAN))
        local = now.astimezone(local_time.organisation_zone())
        for position, (email, name, role) in enumerate(logins):
            user = _user(email, name, role.value)
            if name in TECHNICIAN_PROFILES:
                levels, shift, limit = TECHNICIAN_PROFILES[name]
                _profile(user, locations[len(user.name) % len(locations)], skills, levels,
                         *_shift(shift, local, position), limit)
    return [DemoLogin(role=role.value, email=email, name=name) for email, name, role in logins]


def _shift(kind, local: datetime, position: int) -> tuple[str, time, time]:
    """Shift days and hours (in the organisation's zone) placed around the local time ``local``.

    A shift that started yesterday evening runs past midnight, and belongs to the day it
    started: yesterday is always a working day of an "on" shift, and so is today.
    """
    today = local.isoweekday()
    every_day = "1234567"
    if kind == "off today":
        return "".join(d for d in every_day if int(d) != today), time(8, 0), time(16, 0)
    what, hours = kind
    if what == "later":
        start = (local.hour + hours) % 24
        return every_day, time(start, 0), time((start + 8) % 24, 0)
    # One day off a week, never today nor yesterday (1 to 5 days ahead).
    day_off = (today + position % 5) % 7 + 1
    start = (local.hour - hours) % 24
    return ("".join(d for d in every_day if int(d) != day_off), time(start, 0),
            time((start + SHIFT_HOURS) % 24, 0))


def _profile(user: User, base: MajorLocation, skills: dict[str, Skill], levels: dict[str, int],
             days: str, start: time, end: time, limit: int) -> None:
    """A technician profile based at a depot."""
    if db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == user.id)):
        return
    profile = TechnicianProfile(
        user=user, home_latitude=base.latitude, home_longitude=base.longitude,
        hourly_rate=38.0 + len(levels) * 4, overtime_multiplier=1.5, shift_days=days,
        shift_start=start, shift_end=end, max_concurrent_dispatches=limit, max_hours_per_week=45.0,
    )
    profile.skills = [TechnicianSkill(skill=skills[name], level=level) for name, level in levels.items()]
    db.session.add(profile)


# --- Work orders ----------------------------------------------------------------------------
#
# The demo tells a working day: finished work in the days before (assigned, started, checklists
# answered and signed off, completed, each at its own past time, through the real services;
# in the last 24 h a realistic share of each technician's shift hours, through the matching
# engine, so the alert check reads a healthy fleet),
# some work under way now, a few orders waiting, and a few things worth an alert — an overdue
# Critical, an overdue High, one technician near capacity, a queue for refrigeration.

#: (status, technician, priority, created hours ago, required skill or None for the type's own).
#: Technicians are named by position in TECHNICIANS. Overdue: SLA Critical 4 h, High 8 h.
#: The waiting ones were created moments ago: the scheduler's assign-pending takes work within
#: minutes, so a queue dated hours back would read as a routing-speed failure, not as a queue.
OPEN_WORK = [
    ("In Progress", "Elif Yilmaz", "Critical", 5.0, None),   # overdue: worth an alert
    ("Assigned", "Elif Yilmaz", "Normal", 1.0, None),
    ("Assigned", "Elif Yilmaz", "Low", 0.5, None),           # Elif: 3 of 4, near capacity
    ("Assigned", "Grace Mensah", "High", 9.0, None),          # overdue: worth an alert
    ("In Progress", "Amara Okafor", "Normal", 2.0, None),
    ("En Route", "Ben Hughes", "High", 1.0, None),
    ("In Progress", "Finn O'Brien", "Normal", 3.0, None),
    ("Assigned", "Chen Wei", "Normal", 0.3, None),
    ("Created", None, "Normal", 60 / 3600, "Refrigeration"),  # a queue for one skill
    ("Created", None, "Normal", 45 / 3600, "Refrigeration"),
    ("Created", None, "Low", 30 / 3600, "Refrigeration"),
    ("Created", None, "High", 20 / 3600, "Refrigeration"),
    ("Created", None, "Normal", 10 / 3600, None),
]
#: Minutes from creation to assignment of the open work (below the routing-speed warning, 2 min).
OPEN_ASSIGNED_AFTER_MINUTES = 1
#: Share of each technician's shift hours in the last 24 h that is booked: a busy, healthy
#: fleet (utilisation 50-90 % is normal); Elif Yilmaz, near capacity, is booked past 90 %.
BOOKED_SHARE = (0.62, 0.78)
BOOKED_SHARE_NEAR_CAPACITY = 0.925
NEAR_CAPACITY = "Elif Yilmaz"
#: Older history ends this long before the load: one quiet calendar day between it and the
#: last 24 h, so no one shows a long run of working days.
HISTORY_GAP = timedelta(hours=72)
#: Completions a technician makes in a week of history, at most: keeps weekly hours well
#: under the 45-hour limit whatever the number of demo work orders.
COMPLETIONS_PER_TECHNICIAN_WEEK = 12
CANCELLED_SHARE = 0.08


@dataclass
class SeedReport:
    created: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    notifications_held: int = 0
    seconds: float = 0.0


def seed_dispatches(count: int, *, seed: int = 2026, batch_size: int = 2000, advance: int = 2000,
                    progress: Callable[[int], None] | None = None, now: datetime | None = None) -> SeedReport:
    """Create ``count`` dispatches for the demo fleet, as a fleet looks at ``now``.

    The first few are the open work of the day (``OPEN_WORK``, as far as capacity allows);
    up to ``advance`` more are history: completed (or a few cancelled) in the past days, each
    step at its own time through the status and checklist services. Past ``advance`` (load
    tests with many thousands) the rest are only created, spread over past months. No
    notification is sent: none of this is news to anyone.
    """
    from app.services import notifications

    started = _time.perf_counter()
    rng = random.Random(seed)
    now = (now or utcnow()).astimezone(UTC)
    fleet = db.session.scalars(
        select(Asset).options(
            selectinload(Asset.asset_type), selectinload(Asset.make_model), selectinload(Asset.major_location)
        ).order_by(Asset.id)
    ).all()
    technicians = db.session.scalars(
        select(User).where(User.role == Role.TECHNICIAN.value, User.is_active_user.is_(True)).order_by(User.id)
    ).all()
    if not fleet:
        raise RuntimeError("There are no assets to dispatch; seed the fleet first.")
    report = SeedReport()
    session = db.session()
    # The fleet and technicians are reused by every batch: keep them loaded across commits.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        with notifications.held() as held:
            opening = min(count, len(OPEN_WORK)) if technicians else 0
            history = min(count - opening, max(0, advance - opening)) if technicians else 0
            plan = OPEN_WORK[:opening]
            hours = [rng.choice([1.0, 1.5, 2.0, 2.5]) for _ in plan]
            recent = _plan_recent_work(technicians, plan, hours, rng, now)[:history]
            if history > len(recent):
                _seed_history(history - len(recent), fleet, technicians, rng, now, batch_size, progress)
            if recent:
                _seed_recent_work(recent, fleet, rng, now)
                if progress:
                    progress(len(recent))
            if opening:
                _seed_open_work(plan, hours, fleet, technicians, rng, now)
                if progress:
                    progress(opening)
            rest = count - opening - history
            while rest > 0:
                size = min(batch_size, rest)
                _create_waiting(size, fleet, rng, now)
                rest -= size
                if progress:
                    progress(size)
        report.notifications_held = held.total
    finally:
        session.expire_on_commit = expire_on_commit
    report.created = count
    report.by_status = dict(db.session.execute(select(Dispatch.status, func.count()).group_by(Dispatch.status)).all())
    report.seconds = _time.perf_counter() - started
    return report


def _spec(asset: Asset, rng: random.Random, created: datetime, priority: str, skill: str | None = None,
          due: datetime | None = None, duration: float | None = None) -> DispatchSpec:
    site = asset.major_location.name if asset.major_location else "site"
    return DispatchSpec(title=rng.choice(TITLES).format(site=site), priority=priority, asset=asset,
                        created_date=created, due_date=due, required_skill=skill,
                        estimated_duration_hours=duration or rng.choice([1.0, 1.5, 2.0, 2.5]))


def _skilled_assets(fleet: list[Asset], name: str) -> list[Asset]:
    return [a for a in fleet if a.asset_type and a.asset_type.default_skill in _profile_skills(name)] or fleet


def _priority(rng: random.Random) -> str:
    return rng.choices(list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values()))[0].value


@functools.cache
def _profile_skills(name: str) -> frozenset[str]:
    return frozenset(TECHNICIAN_PROFILES.get(name, ({}, None, 0))[0])


def _seed_history(total: int, fleet: list[Asset], technicians: list[User], rng: random.Random, now: datetime,
                  batch_size: int, progress: Callable[[int], None] | None) -> None:
    """Completed and cancelled work in the past days, each step at its own past time."""
    cancelled = round(total * CANCELLED_SHARE)
    completed = total - cancelled
    per_week = COMPLETIONS_PER_TECHNICIAN_WEEK * len(technicians)
    span_days = max(14, math.ceil(7 * completed / per_week))
    plans = []
    for index in range(total):
        asset = rng.choice(fleet)
        priority = _priority(rng)
        # Finished before the last days (the recent work fills those), within the history's span.
        done = now - HISTORY_GAP - timedelta(minutes=rng.randint(0, span_days * 24 * 60))
        work = timedelta(minutes=rng.randint(30, 150))
        created = done - work - timedelta(minutes=rng.randint(20, 180))
        plans.append((index < cancelled, asset, priority, created, done, work))
    plans.sort(key=lambda plan: plan[3])  # in the order it happened
    jobs: dict[int, int] = {}
    for first in range(0, total, batch_size):
        batch = plans[first:first + batch_size]
        with clock_at(now), transaction():
            ids = bulk_create_dispatches(db.session, [_spec(p[1], rng, p[3], p[2]) for p in batch])
            rows = {d.id: d for d in db.session.scalars(select(Dispatch).where(Dispatch.id.in_(ids)))}
            for dispatch_id, (is_cancelled, asset, _priority_, created, done, work) in zip(ids, batch, strict=True):
                dispatch = rows[dispatch_id]
                if is_cancelled:
                    with clock_at(created + timedelta(minutes=rng.randint(5, 90))):
                        dispatches.change_status(dispatch, "Cancelled", "Demo: no longer needed")
                    continue
                technician = _worker(technicians, asset, done, rng, jobs)
                assigned_at = created + timedelta(minutes=rng.randint(2, 15))
                started_at = max(assigned_at + timedelta(minutes=5), done - work)
                with clock_at(assigned_at):
                    dispatches.assign(dispatch, technician, "Demo assignment")
                with clock_at(started_at):
                    dispatches.change_status(dispatch, "In Progress")
                with clock_at(done - timedelta(minutes=2)):
                    _complete_checklists(dispatch, technician)
                with clock_at(done):
                    dispatches.change_status(dispatch, "Completed")
        if progress:
            progress(len(batch))


@dataclass(frozen=True)
class _RecentJob:
    technician: User
    created: datetime
    assigned: datetime
    started: datetime
    done: datetime
    hours: float


def _plan_recent_work(technicians: list[User], plan: list[tuple], hours: list[float], rng: random.Random,
                      now: datetime) -> list[_RecentJob]:
    """Finished work inside each technician's shifts of the last 24 h, booking a realistic share of them.

    The utilisation check reads the last 24 h: each technician's booked hours there (this
    work plus today's open work, ``plan``) come to ``BOOKED_SHARE`` of their shift hours in
    it, ``BOOKED_SHARE_NEAR_CAPACITY`` for the one near capacity. Each job is assigned a
    minute or so after it was created, as the engine does, and finished an hour ago at latest.
    """
    window = metrics.window_ending(now, 24)
    latest_done = now - timedelta(minutes=60)
    booked_open: dict[str, float] = {}
    for (status, name, *_), duration in zip(plan, hours, strict=True):
        if name is not None and status != "Created":
            booked_open[name] = booked_open.get(name, 0.0) + duration
    profiles = {p.user_id: p for p in db.session.scalars(select(TechnicianProfile))}
    zone = local_time.zone_label(local_time.organisation_zone())
    jobs: list[_RecentJob] = []
    for technician in technicians:
        profile = profiles.get(technician.id)
        if profile is None:
            continue
        intervals = _shift_intervals(window.start, window.end, profile.shift_days, profile.shift_start,
                                     profile.shift_end, technician.time_zone or zone)
        shift = sum((e - b).total_seconds() for b, e in intervals) / 3600
        share = BOOKED_SHARE_NEAR_CAPACITY if technician.name == NEAR_CAPACITY else rng.uniform(*BOOKED_SHARE)
        remaining = share * shift - booked_open.get(technician.name, 0.0)
        for begins, ends in intervals:
            cursor = begins + timedelta(minutes=rng.randint(5, 20))
            while remaining >= 0.25:
                assigned = cursor + timedelta(seconds=rng.randint(20, 90))
                started = assigned + timedelta(minutes=5)
                room = (min(ends, latest_done) - started).total_seconds() / 3600
                # Quarter hours, no longer than a job runs nor than what is left to book.
                job = math.floor(min(2.5, remaining, room) * 4) / 4
                if job < 0.25:
                    break
                done = started + timedelta(hours=job)
                jobs.append(_RecentJob(technician, cursor, assigned, started, done, job))
                remaining -= job
                cursor = done + timedelta(minutes=rng.randint(5, 15))
    jobs.sort(key=lambda job: job.created)
    return jobs


def _shift_intervals(start: datetime, end: datetime, days: str, shift_start: time, shift_end: time,
                     zone_name: str) -> list[tuple[datetime, datetime]]:
    """The parts of a weekly shift pattern inside [start, end), as ``metrics.shift_hours_in`` counts them."""
    zone = local_time.zone_named(zone_name)
    day = local_time.to_local(start, zone).date() - timedelta(days=1)
    last = local_time.to_local(end, zone).date()
    out = []
    while day <= last:
        if str(day.isoweekday()) in (days or ""):
            begins = datetime.combine(day, shift_start, tzinfo=zone).astimezone(UTC)
            ends_day = day if shift_end > shift_start else day + timedelta(days=1)
            ends = datetime.combine(ends_day, shift_end, tzinfo=zone).astimezone(UTC)
            if min(ends, end) > max(begins, start):
                out.append((max(begins, start), min(ends, end)))
        day += timedelta(days=1)
    return out


def _seed_recent_work(jobs: list[_RecentJob], fleet: list[Asset], rng: random.Random, now: datetime) -> None:
    """The planned recent work, each step at its own time; assigned through the matching engine,
    so each assignment leaves its ``dispatch_metrics`` record (routing speed, cost, burnout)."""
    with clock_at(now), transaction():
        specs = [_spec(rng.choice(_skilled_assets(fleet, job.technician.name)), rng, job.created, _priority(rng),
                       duration=job.hours) for job in jobs]
        ids = bulk_create_dispatches(db.session, specs)
        rows = {d.id: d for d in db.session.scalars(select(Dispatch).where(Dispatch.id.in_(ids)))}
        for dispatch_id, job in zip(ids, jobs, strict=True):
            dispatch = rows[dispatch_id]
            with clock_at(job.assigned):
                matching.assign_to(dispatch, job.technician.id, mode="auto", reason="Demo assignment")
            with clock_at(job.started):
                dispatches.change_status(dispatch, "In Progress")
            with clock_at(job.done - timedelta(minutes=2)):
                _complete_checklists(dispatch, job.technician)
            with clock_at(job.done):
                dispatches.change_status(dispatch, "Completed")


def _worker(technicians: list[User], asset: Asset, done: datetime, rng: random.Random,
            jobs: dict[int, int]) -> User:
    """Who did a past job: the least busy of those at work that day, preferring the asset type's skill.

    Each technician rests one day in five (by the calendar), so no one shows a long run of
    working days, and the work is shared out, so no one nears the weekly hours: burnout
    alerts stay for real cases.
    """
    skill = asset.asset_type.default_skill if asset.asset_type else None
    day = done.date().toordinal()
    working = [t for position, t in enumerate(technicians) if (day + position) % 5 != 0] or technicians
    chosen = min(working, key=lambda t: (jobs.get(t.id, 0) - (2 if skill in _profile_skills(t.name) else 0),
                                         rng.random()))
    jobs[chosen.id] = jobs.get(chosen.id, 0) + 1
    return chosen


def _seed_open_work(plan: list[tuple], hours: list[float], fleet: list[Asset], technicians: list[User],
                    rng: random.Random, now: datetime) -> None:
    """Today's open work: under way, assigned and waiting, within each technician's capacity."""
    by_name = {t.name: t for t in technicians}
    free = {
        user_id: limit - active
        for user_id, limit, active in db.session.execute(
            select(TechnicianProfile.user_id, TechnicianProfile.max_concurrent_dispatches,
                   TechnicianProfile.active_dispatch_count)
        )
    }
    vehicles = [a for a in fleet if a.asset_type and a.asset_type.name == "Vehicle"] or fleet
    with clock_at(now), transaction():
        specs = []
        for (status, name, priority, hours_ago, skill), duration in zip(plan, hours, strict=True):
            technician = by_name.get(name)
            pool = fleet
            if technician is not None:
                pool = _skilled_assets(fleet, name)
            elif skill == "Refrigeration":
                pool = vehicles
            specs.append(_spec(rng.choice(pool), rng, now - timedelta(hours=hours_ago), priority, skill,
                               duration=duration))
        ids = bulk_create_dispatches(db.session, specs)
        rows = {d.id: d for d in db.session.scalars(select(Dispatch).where(Dispatch.id.in_(ids)))}
        for dispatch_id, (status, name, _priority_, hours_ago, _skill) in zip(ids, plan, strict=True):
            technician = by_name.get(name)
            if status == "Created" or technician is None or free.get(technician.id, 0) <= 0:
                continue  # waiting for a technician (or a second demo load: no room left)
            dispatch = rows[dispatch_id]
            created = now - timedelta(hours=hours_ago)
            free[technician.id] -= 1
            with clock_at(created + timedelta(minutes=OPEN_ASSIGNED_AFTER_MINUTES)):
                matching.assign_to(dispatch, technician.id, mode="auto", reason="Demo assignment")
            if status == "Assigned":
                continue
            with clock_at(created + (now - created) / 2):
                dispatches.change_status(dispatch, status)


def _create_waiting(size: int, fleet: list[Asset], rng: random.Random, now: datetime) -> None:
    """Work orders that were only created, over the past months (load tests with many rows)."""
    specs = []
    for _ in range(size):
        created = now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        due = created + timedelta(hours=rng.choice([4, 8, 24, 72])) if rng.random() < 0.7 else None
        specs.append(_spec(rng.choice(fleet), rng, created, _priority(rng), due=due))
    with clock_at(now), transaction():
        bulk_create_dispatches(db.session, specs)


def _complete_checklists(dispatch: Dispatch, technician: User) -> None:
    """Answer every required item of the dispatch's checklists as fine, and sign them off."""
    from app.services import checklists

    for checklist in checklists.checklists_for(dispatch):
        if not checklist.loaded:
            continue  # cannot be answered without its plugin; completion then refuses, as it should
        with transaction():
            for item in checklist.items.values():
                if not item.field.required or item.answered:
                    continue
                value = item.field.fine_value()
                setattr(checklist.detail, item.field.name, value)
                item.value = value
            db.session.flush()
        checklists.sign_off(checklist, technician)
