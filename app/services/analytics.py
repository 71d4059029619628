"""Assignment analytics for managers and admins: the figures of ``/dashboard/assignments``,
their CSV downloads and ``flask analyze``.

One function per figure; the page, its CSV downloads and the command all call the same
function, so a number means the same wherever it is read. Figures that already exist in
``app.services.metrics`` (routing speed, burnout, the fleet's SLA rate and cost) are called
from there; the rules shared with it (what "within SLA" means) come from there too.

Rules every figure follows:

- The range is whole local days in ``MOTORPOOL_TIMEZONE``: from local midnight of ``since``
  to local midnight after ``until`` (``AnalyticsFilters.window``).
- Dispatch figures (status, priority, skills, workload) count the dispatches **created** in
  the range, as they stand now — the set the work-order list shows for the same created-date
  range, so a bar's count is the list's count. SLA figures count dispatches **completed** in
  the range; cost and recent assignments read the ``dispatch_metrics`` records **made** in
  the range (one per assignment, reassignments included), as ``metrics`` does.
- SQL aggregates only, a fixed number of queries whatever the data (each function says how
  many); a rate with nothing to divide by is ``None`` ("no data"), never 0 % or an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    Dispatch,
    DispatchMetric,
    DispatchPriority,
    DispatchStatus,
    MajorLocation,
    Role,
    Skill,
    TechnicianProfile,
    TechnicianSkill,
    User,
    utcnow,
)
from app.plugins.contracts import MetricWindow
from app.services import daily_rollups, local_time, metrics
from app.services.errors import ValidationError
from app.services.numbers import parse_int
from app.services.queries import OPEN_STATUSES
from app.services.reports import parse_day

RANGES = {"today": "Today", "7d": "Last 7 days", "30d": "Last 30 days", "custom": "Custom dates"}
RANGE_DAYS = {"today": 1, "7d": 7, "30d": 30}
DEFAULT_RANGE = "30d"
#: A custom range covers at most this many days (a leap year).
MAX_DAYS = 366
STATUSES = tuple(s.value for s in DispatchStatus)
PRIORITIES = tuple(p.value for p in (DispatchPriority.CRITICAL, DispatchPriority.HIGH, DispatchPriority.NORMAL,
                                      DispatchPriority.LOW))
#: How many assignment records "recent assignments" lists (the count beside it is exact).
RECENT_LIMIT = 20
_OPEN = tuple(s.value for s in OPEN_STATUSES)


# --- The filters ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A record a filter names: its id (in the URL) and its name (on the page)."""

    id: int
    name: str


@dataclass(frozen=True)
class AnalyticsFilters:
    range: str = DEFAULT_RANGE
    since: date = field(default_factory=lambda: date.today())
    until: date = field(default_factory=lambda: date.today())
    location: Choice | None = None
    asset_type: Choice | None = None
    skill: Choice | None = None
    technician: Choice | None = None

    @classmethod
    def from_args(cls, args, *, today: date | None = None) -> AnalyticsFilters:
        """The filters of a query string; anything malformed or unknown is refused with a
        ``ValidationError`` naming the parameter and saying what to send instead (a 400).

        ``range`` is today | 7d | 30d (the default) | custom; custom needs ``since`` and
        ``until`` (YYYY-MM-DD, until on or after since, at most ``MAX_DAYS`` days). Dates
        given without a range mean a custom range. One query per id given.
        """
        today = today or local_time.to_local(utcnow(), local_time.organisation_zone()).date()
        since_text = (args.get("since") or "").strip()
        until_text = (args.get("until") or "").strip()
        range_ = (args.get("range") or "").strip() or ("custom" if since_text or until_text else DEFAULT_RANGE)
        if range_ not in RANGES:
            shown = range_ if len(range_) <= 30 else range_[:30] + "…"
            raise ValidationError(f"{shown!r} is not a range: choose today, 7d, 30d, or custom with since and "
                                  "until dates (YYYY-MM-DD).", field="range")
        if range_ == "custom":
            if not since_text or not until_text:
                missing = "since" if not since_text else "until"
                raise ValidationError(f"A custom range needs both dates: give {missing} as YYYY-MM-DD, such as "
                                      f"{today.isoformat()}.", field=missing)
            since = parse_day(since_text, field="since")
            until = parse_day(until_text, field="until")
            if until < since:
                raise ValidationError(f"until ({until.isoformat()}) is before since ({since.isoformat()}); choose an "
                                      "until on or after since.", field="until")
            days = (until - since).days + 1
            if days > MAX_DAYS:
                raise ValidationError(f"The range covers {days} days; choose at most {MAX_DAYS} days between since "
                                      "and until.", field="until")
            try:
                local_time.start_of_day(since)
                local_time.start_of_day(until + timedelta(days=1))
            except OverflowError:
                raise ValidationError("The dates are too far in the past or future; choose dates from 1900 on.",
                                      field="since") from None
        else:
            since, until = today - timedelta(days=RANGE_DAYS[range_] - 1), today
        return cls(
            range=range_, since=since, until=until,
            location=_choice(args, "location", "location", MajorLocation.id, MajorLocation.name),
            asset_type=_choice(args, "asset_type", "asset type", AssetType.id, AssetType.name),
            skill=_choice(args, "skill", "skill", Skill.id, Skill.name),
            technician=_choice(args, "technician", "technician", User.id, User.name,
                               User.role == Role.TECHNICIAN.value, User.is_system.is_(False)),
        )

    def args(self, **changes) -> dict[str, Any]:
        """URL parameters that give these filters back (the default range left out)."""
        values: dict[str, Any] = {
            "range": None if self.range == DEFAULT_RANGE else self.range,
            "since": self.since.isoformat() if self.range == "custom" else None,
            "until": self.until.isoformat() if self.range == "custom" else None,
            "location": self.location.id if self.location else None,
            "asset_type": self.asset_type.id if self.asset_type else None,
            "skill": self.skill.id if self.skill else None,
            "technician": self.technician.id if self.technician else None,
        }
        values.update(changes)
        return {key: value for key, value in values.items() if value not in (None, "")}

    @property
    def window(self) -> MetricWindow:
        """Local midnight of ``since`` to local midnight after ``until``, as UTC instants."""
        return MetricWindow(local_time.start_of_day(self.since), local_time.start_of_day(self.until + timedelta(days=1)))

    @property
    def metric_window(self) -> MetricWindow:
        """The window for ``metrics`` functions, ending now at the latest: their "open work
        past its SLA" and "waiting" figures are read at the window's end."""
        window = self.window
        return MetricWindow(window.start, min(window.end, max(window.start, utcnow())))

    @property
    def days(self) -> list[date]:
        return [self.since + timedelta(days=i) for i in range((self.until - self.since).days + 1)]

    @property
    def narrowed(self) -> bool:
        return any((self.location, self.asset_type, self.skill, self.technician))

    @property
    def metric_scope(self) -> metrics.Scope:
        """The filters as the ``metrics`` functions take them."""
        def key(choice):
            return choice.id if choice else None

        return metrics.Scope(location_id=key(self.location), asset_type_id=key(self.asset_type),
                             skill=self.skill.name if self.skill else None, technician_id=key(self.technician))

    @property
    def label(self) -> str:
        zone = local_time.zone_label(local_time.organisation_zone())
        days = "" if self.since == self.until else f"{self.since.isoformat()} to "
        return f"{days}{self.until.isoformat()} ({zone})"

    def dispatch_list_args(self, **extra) -> dict[str, Any]:
        """``/dispatches`` parameters that list the dispatches a dispatch figure counted:
        created in the range, narrowed like the figures; ``extra`` adds the bar's own filter."""
        values: dict[str, Any] = {
            "created_from": self.since.isoformat(), "created_to": self.until.isoformat(),
            "location": self.location.id if self.location else None,
            "asset_type": self.asset_type.id if self.asset_type else None,
            "skill": self.skill.name if self.skill else None,
            "technician": self.technician.id if self.technician else None,
        }
        values.update(extra)
        return {key: value for key, value in values.items() if value not in (None, "")}


def _choice(args, name: str, label: str, id_column, name_column, *conditions) -> Choice | None:
    text = str(args.get(name) or "").strip()
    if not text:
        return None
    record_id = parse_int(text, label=f"The {label} filter ({name})", field=name)
    row = db.session.execute(select(id_column, name_column).where(id_column == record_id, *conditions)).first()
    if row is None:
        raise ValidationError(f"There is no {label} #{record_id}: choose one from the list, or leave {name} empty "
                              f"for every {label}.", field=name)
    return Choice(row[0], row[1])


def _scope(filters: AnalyticsFilters, technician_column=Dispatch.assigned_user_id) -> list:
    """The optional filters as conditions on ``dispatches`` (the technician on ``technician_column``),
    the conditions the metrics take for the same filters (``metrics.scope_conditions``)."""
    return metrics.scope_conditions(filters.metric_scope, technician_column)


def _created_in(filters: AnalyticsFilters) -> list:
    window = filters.window
    return [Dispatch.created_date >= window.start, Dispatch.created_date < window.end, *_scope(filters)]


def _percent(part: float, whole: float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 2)


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- Dispatches by status and by priority -----------------------------------------------------


@dataclass(frozen=True)
class Counted:
    key: str
    count: int


@dataclass(frozen=True)
class Counts:
    """Dispatches created in the range, counted per key (every key present, 0 included)."""

    total: int
    rows: tuple[Counted, ...]

    def count(self, key: str) -> int:
        return next((row.count for row in self.rows if row.key == key), 0)


def _counts(column, keys: Sequence[str], filters: AnalyticsFilters) -> Counts:
    found = dict(db.session.execute(
        select(column, func.count(Dispatch.id)).where(*_created_in(filters)).group_by(column)).all())
    rows = tuple(Counted(key, int(found.get(key, 0))) for key in keys)
    return Counts(total=sum(found.values()), rows=rows)


def by_status(filters: AnalyticsFilters) -> Counts:
    """Dispatches created in the range, per status as they stand now. One query."""
    return _counts(Dispatch.status, STATUSES, filters)


def by_priority(filters: AnalyticsFilters) -> Counts:
    """Dispatches created in the range, per priority (Critical first). One query."""
    return _counts(Dispatch.priority, PRIORITIES, filters)


# --- Skills: demand against qualified technicians ----------------------------------------------


@dataclass(frozen=True)
class SkillRow:
    skill: str | None  # None: dispatches that name no skill
    demand: int  # dispatches created in the range needing the skill
    assigned: int  # of those, with a technician now
    matched: int  # of those, whose technician holds the skill
    qualified: int  # active technicians (with a profile) holding the skill

    @property
    def match_rate(self) -> float | None:
        """None for the dispatches that name no skill: there is nothing for their technician to hold."""
        return None if self.skill is None else _percent(self.matched, self.assigned)

    @property
    def lacking(self) -> int:
        """Of those with a technician, how many hold no such skill (0 when no skill is named)."""
        return 0 if self.skill is None else self.assigned - self.matched

    @property
    def demand_per_technician(self) -> float | None:
        return None if not self.qualified else round(self.demand / self.qualified, 2)


@dataclass(frozen=True)
class SkillDemand:
    rows: tuple[SkillRow, ...]  # most demanded first, then by name; the "no skill" row last

    @property
    def demand(self) -> int:
        return sum(row.demand for row in self.rows)

    @property
    def assigned(self) -> int:
        return sum(row.assigned for row in self.rows if row.skill is not None)

    @property
    def matched(self) -> int:
        return sum(row.matched for row in self.rows if row.skill is not None)

    @property
    def match_rate(self) -> float | None:
        """Of the assigned dispatches that need a skill, the share whose technician holds it."""
        return _percent(self.matched, self.assigned)


def _qualified_technicians():
    """Active, non-system technicians with a profile: who can be qualified for a skill."""
    return (select(TechnicianProfile.id).join(User, User.id == TechnicianProfile.user_id)
            .where(User.role == Role.TECHNICIAN.value, User.is_active_user.is_(True), User.is_system.is_(False)))


def skill_demand(filters: AnalyticsFilters) -> SkillDemand:
    """Per skill: the dispatches created in the range needing it, how many of those have a
    technician and how many of those the technician holds the skill of (the match rate), and
    the number of qualified technicians. Skills nobody needed in the range are listed when
    technicians hold them (demand 0). Two queries.

    ``dispatches.required_skill`` holds the skill's name as the skills table spells it
    (dispatch creation stores it so), so names are compared exactly.
    """
    d, p, ts = Dispatch, TechnicianProfile, TechnicianSkill
    holds = exists(
        select(ts.id).join(p, p.id == ts.technician_profile_id).join(Skill, Skill.id == ts.skill_id)
        .where(p.user_id == d.assigned_user_id, Skill.name == d.required_skill)
    ).correlate(d)
    demand = {
        skill: (int(count), int(assigned), int(matched or 0))
        for skill, count, assigned, matched in db.session.execute(
            select(d.required_skill, func.count(d.id), func.count(d.assigned_user_id),
                   func.sum(case((and_(d.assigned_user_id.is_not(None), holds), 1), else_=0)))
            .where(*_created_in(filters)).group_by(d.required_skill)
        )
    }
    people = [ts.technician_profile_id.in_(_qualified_technicians())]
    if filters.technician:
        people.append(ts.technician_profile_id.in_(select(p.id).where(p.user_id == filters.technician.id)))
    skills = [Skill.id == filters.skill.id] if filters.skill else []
    qualified = dict(db.session.execute(
        select(Skill.name, func.count(func.distinct(ts.technician_profile_id)))
        .join(ts, ts.skill_id == Skill.id).where(*people, *skills).group_by(Skill.name)
    ).all())
    names = set(demand) | set(qualified)
    rows = [SkillRow(name, *demand.get(name, (0, 0, 0)), int(qualified.get(name, 0)))
            for name in names if name is not None]
    rows.sort(key=lambda row: (-row.demand, row.skill.casefold()))
    if None in demand:
        rows.append(SkillRow(None, *demand[None], 0))
    return SkillDemand(rows=tuple(rows))


# --- Workload per technician ------------------------------------------------------------------


@dataclass(frozen=True)
class TechnicianLoad:
    technician_id: int | None  # None: the dispatches nobody holds
    name: str | None
    assigned: int  # dispatches created in the range that they hold now, any status
    completed: int  # of those, Completed
    open: int  # of those, still open (Assigned, En Route, In Progress)
    hours: float  # estimated hours of those not Cancelled


@dataclass(frozen=True)
class Workload:
    technicians: tuple[TechnicianLoad, ...]  # most assigned first, then by name
    unassigned: int  # dispatches created in the range nobody holds

    @property
    def assigned(self) -> int:
        return sum(t.assigned for t in self.technicians)


def workload(filters: AnalyticsFilters) -> Workload:
    """Per technician, the dispatches created in the range they hold now: how many, completed,
    open, and their estimated hours (``estimated_duration_hours``, Cancelled left out). One query."""
    d = Dispatch
    completed = func.sum(case((d.status == DispatchStatus.COMPLETED.value, 1), else_=0))
    open_ = func.sum(case((d.status.in_(_OPEN), 1), else_=0))
    hours = func.sum(case((d.status != DispatchStatus.CANCELLED.value, d.estimated_duration_hours), else_=0.0))
    rows = db.session.execute(
        select(d.assigned_user_id, User.name, func.count(d.id), completed, open_, hours)
        .outerjoin(User, User.id == d.assigned_user_id)
        .where(*_created_in(filters)).group_by(d.assigned_user_id, User.name)
    ).all()
    technicians = sorted(
        (TechnicianLoad(user_id, name, int(count), int(done or 0), int(still or 0), round(float(booked or 0), 2))
         for user_id, name, count, done, still, booked in rows if user_id is not None),
        key=lambda t: (-t.assigned, (t.name or "").casefold(), t.technician_id),
    )
    unassigned = next((int(count) for user_id, _, count, *_ in rows if user_id is None), 0)
    return Workload(technicians=tuple(technicians), unassigned=unassigned)


# --- Operational cost -------------------------------------------------------------------------

#: The breakdowns of cost and what each groups by.
COST_GROUPS = {"asset_type": "Asset type", "location": "Location", "priority": "Priority"}
#: The parts of a cost total (``CostRow`` fields, ``daily_rollups.COST_PARTS``) and their names on
#: the page, in the CSVs and in ``flask analyze``.
COST_PARTS = {"labour": "labour", "overtime": "overtime", "travel": "travel", "not_split": "not split"}
COST_PART_HEADERS = tuple(COST_PARTS.values())


@dataclass(frozen=True)
class CostRow:
    key: str | None  # the group's id (asset type, location) or priority name; None: none recorded
    label: str
    assignments: int  # assignment records with a cost estimate
    total: float
    average: float | None
    # The total's parts (they add up to it, to the cent): labour within the shift, overtime
    # past it, travel, and the cost of records written before the parts were stored.
    labour: float
    overtime: float
    travel: float
    not_split: float


@dataclass(frozen=True)
class CostBreakdown:
    """The estimated operational cost of the assignments made in the range, per group.

    ``dispatch_metrics.operational_cost`` is the matching engine's estimate per assignment,
    stored with its parts: labour at the technician's rate within their shift, overtime past
    it at the overtime multiplier, and travel at ``MOTORPOOL_TRAVEL_COST_PER_KM``. Records
    written before the parts were stored count whole as "not split", so each row's four parts
    add up to its total.
    """

    by: str
    rows: tuple[CostRow, ...]  # highest total first

    @property
    def assignments(self) -> int:
        return sum(row.assignments for row in self.rows)

    @property
    def total(self) -> float:
        return round(sum(row.total for row in self.rows), 2)

    def part(self, name: str) -> float:
        """The sum of one part (``daily_rollups.COST_PARTS``) over the rows."""
        return round(math.fsum(getattr(row, name) for row in self.rows), 2)


def cost_breakdown(filters: AnalyticsFilters, by: str) -> CostBreakdown:
    """Cost estimates of the assignment records made in the range, per asset type, location
    or priority of their dispatch; the technician filter reads the record's technician. One query."""
    if by not in COST_GROUPS:
        raise ValidationError(f"{by!r} is not a cost breakdown; choose one of {', '.join(COST_GROUPS)}.", field="by")
    return cost_breakdowns(filters)[by]


def cost_breakdowns(filters: AnalyticsFilters) -> dict[str, CostBreakdown]:
    """Every breakdown of ``COST_GROUPS`` from the range's cost groups (asset type, location and
    priority together), each breakdown adding its groups up.

    Unfiltered, or narrowed by location or asset type, the groups of the finished days are the
    kept sums of ``daily_rollups`` (one query, and today's records in one more); narrowed by
    skill or technician, which the sums are not kept by, the records themselves (one query)."""
    if filters.skill or filters.technician:
        rows = _cost_rows_from_records(filters)
    else:
        # The kept sums of the finished days, and today's records (docs/dashboards.md).
        rows = daily_rollups.cost_rows(filters.since, filters.until,
                                       location_id=filters.location.id if filters.location else None,
                                       asset_type_id=filters.asset_type.id if filters.asset_type else None)
    return breakdowns_of(rows)


def breakdowns_of(rows) -> dict[str, CostBreakdown]:
    """Each breakdown of ``COST_GROUPS`` from cost group rows (``daily_rollups.CostRow``),
    rows of the same group added up: the one computation of the cost figures and their parts
    behind the page, its CSVs, ``flask analyze`` and ``GET /reports/analytics``."""
    keys = {"asset_type": lambda r: (r[0], r[1]), "location": lambda r: (r[2], r[3]),
            "priority": lambda r: (r[4], r[4])}
    result = {}
    for by, key_of in keys.items():
        groups: dict[tuple, list] = {}
        for row in rows:
            group = groups.setdefault(key_of(row), [0, [], [], [], [], []])
            group[0] += int(row[5])
            for sums, value in zip(group[1:], row[6:11], strict=True):
                sums.append(float(value or 0))
        found = []
        for (group, name), (count, totals, *parts) in groups.items():
            total = round(math.fsum(totals), 2)
            labour, overtime, travel, not_split = (round(math.fsum(part), 2) for part in parts)
            found.append(CostRow(None if group is None else str(group), name or "none recorded", count, total,
                                 round(math.fsum(totals) / count, 2) if count else None,
                                 labour, overtime, travel, not_split))
        if by == "priority":
            order = {name: i for i, name in enumerate(PRIORITIES)}
            found.sort(key=lambda row: order.get(row.key, len(order)))
        else:
            found.sort(key=lambda row: (-row.total, row.label.casefold()))
        result[by] = CostBreakdown(by=by, rows=tuple(found))
    return result


# --- SLA compliance ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SlaRow:
    key: str  # the local day (YYYY-MM-DD) or the priority
    completed: int  # dispatches completed then (or of that priority) in the range
    within_sla: int  # of those, within their SLA (metrics.sla_met_condition)

    @property
    def rate(self) -> float | None:
        return _percent(self.within_sla, self.completed)


@dataclass(frozen=True)
class SlaFigure:
    rows: tuple[SlaRow, ...]

    @property
    def completed(self) -> int:
        return sum(row.completed for row in self.rows)

    @property
    def within_sla(self) -> int:
        return sum(row.within_sla for row in self.rows)

    @property
    def rate(self) -> float | None:
        return _percent(self.within_sla, self.completed)


def _cost_rows_from_records(filters: AnalyticsFilters) -> list:
    """The range's cost groups read from its records: ``daily_rollups.cost_rows``'s rows, for the
    filters the kept sums do not have (skill, technician). One query."""
    m, d = DispatchMetric, Dispatch
    window = filters.window
    return db.session.execute(
        select(AssetType.id, AssetType.name, MajorLocation.id, MajorLocation.name, d.priority,
               *daily_rollups.cost_sums(m))
        .select_from(m).join(d, d.id == m.dispatch_id)
        .outerjoin(Asset, Asset.id == d.asset_id).outerjoin(AssetType, AssetType.id == Asset.asset_type_id)
        .outerjoin(MajorLocation, MajorLocation.id == d.dispatch_location_id)
        .where(m.operational_cost.is_not(None), m.created_at >= window.start, m.created_at < window.end,
               *_scope(filters, technician_column=m.technician_id))
        .group_by(AssetType.id, AssetType.name, MajorLocation.id, MajorLocation.name, d.priority)
    ).all()


def _completed_in(filters: AnalyticsFilters) -> list:
    window = filters.window
    d = Dispatch
    return [d.status == DispatchStatus.COMPLETED.value, d.completed_date >= window.start,
            d.completed_date < window.end, *_scope(filters)]


def _sla_groups(column, filters: AnalyticsFilters) -> dict:
    within = func.sum(case((metrics.sla_met_condition(), 1), else_=0))
    return {key: (int(count), int(hits or 0)) for key, count, hits in db.session.execute(
        select(column.label("k"), func.count(Dispatch.id), within).where(*_completed_in(filters)).group_by("k"))}


def local_day_of(column, days: Sequence[date]):
    """SQL: the index in ``days`` of the local day (organisation zone) ``column`` falls on.

    CASEs over the days' local midnights (UTC instants, so clock changes are right), the
    same on SQLite and PostgreSQL, where neither database knows the zone rules, nested as a
    binary search (``daily_rollups.index_before``): one CASE of 365 branches took a second
    per year of completions. A value past the last midnight, or NULL, is ``len(days)``."""
    edges = [local_time.start_of_day(day + timedelta(days=1)) for day in days]
    return daily_rollups.index_before(column, edges)


def sla_by_day(filters: AnalyticsFilters) -> SlaFigure:
    """Completed within SLA ÷ completed, per local day of the range (every day present; a
    day without completions has no rate). Within SLA is ``metrics.sla_met_condition``, the
    rule of ``metrics.sla_compliance``. One query."""
    days = filters.days
    found = _sla_groups(local_day_of(Dispatch.completed_date, days), filters)
    return SlaFigure(rows=tuple(SlaRow(day.isoformat(), *found.get(i, (0, 0))) for i, day in enumerate(days)))


def sla_by_priority(filters: AnalyticsFilters) -> SlaFigure:
    """Completed within SLA ÷ completed in the range, per priority (Critical first). One query."""
    found = _sla_groups(Dispatch.priority, filters)
    return SlaFigure(rows=tuple(SlaRow(priority, *found.get(priority, (0, 0))) for priority in PRIORITIES))


# --- Recent assignments -----------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    at: datetime
    dispatch_id: int
    dispatch_number: str
    priority: str
    technician_id: int
    technician: str
    mode: str  # auto, manual, batch, fallback
    score: float | None
    estimated_completion_hours: float | None
    operational_cost: float | None
    sla_expected: bool | None  # the engine's forecast at assignment (dispatch_metrics.sla_met)


@dataclass(frozen=True)
class RecentAssignments:
    total: int  # assignment records made in the range (exact)
    rows: tuple[Assignment, ...]  # the latest ``RECENT_LIMIT``, newest first


def recent_assignments(filters: AnalyticsFilters, *, limit: int = RECENT_LIMIT) -> RecentAssignments:
    """The latest assignment records made in the range, with who, how (mode), the engine's
    score, completion estimate, cost and SLA expectation; the exact count beside. Two queries.

    The count is a query of its own: a ``count() over ()`` beside the rows makes the database
    number every record of the range before it keeps twenty (seconds over a year of records),
    where the rows alone walk the ``created_at`` index backwards and stop."""
    m, d = DispatchMetric, Dispatch
    window = filters.window
    scope = _scope(filters, technician_column=m.technician_id)
    counted = select(func.count(m.id)).where(m.created_at >= window.start, m.created_at < window.end)
    if scope:  # the dispatch's filters need the dispatch; unfiltered, the index alone answers
        counted = counted.join(d, d.id == m.dispatch_id).where(*scope)
    total = db.session.scalar(counted) or 0
    rows = db.session.execute(
        select(m.created_at, d.id, d.dispatch_number, d.priority, m.technician_id, User.name, m.mode, m.score,
               m.estimated_completion_hours, m.operational_cost, m.sla_met)
        .join(d, d.id == m.dispatch_id).join(User, User.id == m.technician_id)
        .where(m.created_at >= window.start, m.created_at < window.end, *scope)
        .order_by(m.created_at.desc(), m.id.desc()).limit(limit)
    ).all()
    return RecentAssignments(
        total=int(total),
        rows=tuple(Assignment(at, dispatch_id, number, priority, user_id, name, mode, _float(score), _float(hours),
                              _float(cost), sla)
                   for at, dispatch_id, number, priority, user_id, name, mode, score, hours, cost, sla in rows),
    )


# --- Tables: one per figure, for the page's tables, the CSV downloads and the command ---------


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: Callable[[Any], Iterable[Sequence[object]]]
    compute: Callable[[AnalyticsFilters], Any]


def _cost_table(by: str) -> Table:
    return Table(
        f"Operational cost by {COST_GROUPS[by].lower()}",
        (COST_GROUPS[by].lower(), "assignments", "total cost", "average cost", *COST_PART_HEADERS),
        lambda figure: ((row.label, row.assignments, row.total, row.average, row.labour, row.overtime, row.travel,
                         row.not_split) for row in figure.rows),
        lambda filters: cost_breakdown(filters, by),
    )


#: Every figure by the name its CSV is downloaded as (``/dashboard/assignments/<name>.csv``).
TABLES: dict[str, Table] = {
    "status": Table("Dispatches by status", ("status", "dispatches"),
                    lambda f: ((row.key, row.count) for row in f.rows), by_status),
    "priority": Table("Dispatches by priority", ("priority", "dispatches"),
                      lambda f: ((row.key, row.count) for row in f.rows), by_priority),
    "skills": Table("Skill demand", ("skill", "dispatches needing it", "with a technician",
                                     "technician holds the skill", "match rate %", "qualified technicians"),
                    lambda f: ((row.skill or "no skill named", row.demand, row.assigned,
                                row.matched if row.skill else None, _rate(row.match_rate),
                                row.qualified if row.skill else None) for row in f.rows), skill_demand),
    "workload": Table("Workload per technician", ("technician", "technician id", "assigned", "completed", "open",
                                                  "estimated hours"),
                      lambda f: [(t.name, t.technician_id, t.assigned, t.completed, t.open, t.hours)
                                 for t in f.technicians] + ([("nobody", None, f.unassigned, 0, 0, None)]
                                                            if f.unassigned else []), workload),
    "cost-asset-type": _cost_table("asset_type"),
    "cost-location": _cost_table("location"),
    "cost-priority": _cost_table("priority"),
    "sla-day": Table("SLA compliance per day", ("day", "completed", "within SLA", "rate %"),
                     lambda f: ((row.key, row.completed, row.within_sla, _rate(row.rate)) for row in f.rows),
                     sla_by_day),
    "sla-priority": Table("SLA compliance per priority", ("priority", "completed", "within SLA", "rate %"),
                          lambda f: ((row.key, row.completed, row.within_sla, _rate(row.rate)) for row in f.rows),
                          sla_by_priority),
    "recent": Table("Recent assignments", ("assigned at (UTC)", "dispatch", "priority", "technician", "mode", "score",
                                          "estimated hours", "cost", "SLA expected"),
                    lambda f: ((row.at.isoformat(), row.dispatch_number, row.priority, row.technician, row.mode,
                                row.score, row.estimated_completion_hours, row.operational_cost,
                                None if row.sla_expected is None else ("yes" if row.sla_expected else "no"))
                               for row in f.rows), recent_assignments),
}


def table(name: str, filters: AnalyticsFilters) -> tuple[Table, list[Sequence[object]]]:
    """The figure called ``name`` as a header and rows (computed now, so a CSV response can be
    built only once the data is known to be good)."""
    spec = TABLES[name]
    return spec, list(spec.rows(spec.compute(filters)))


# --- The whole page -------------------------------------------------------------------------


@dataclass(frozen=True)
class Analytics:
    filters: AnalyticsFilters
    status: Counts
    priority: Counts
    skills: SkillDemand
    workload: Workload
    cost: dict[str, CostBreakdown]
    sla_day: SlaFigure
    sla_priority: SlaFigure
    recent: RecentAssignments

    @property
    def empty(self) -> bool:
        return not (self.status.total or self.recent.total or self.sla_day.completed)


def assignments_page(filters: AnalyticsFilters) -> Analytics:
    """Every figure of the page (ten queries whatever the data)."""
    return Analytics(
        filters=filters, status=by_status(filters), priority=by_priority(filters), skills=skill_demand(filters),
        workload=workload(filters), cost=cost_breakdowns(filters),
        sla_day=sla_by_day(filters), sla_priority=sla_by_priority(filters), recent=recent_assignments(filters),
    )


def filter_choices() -> dict[str, list]:
    """Options of the page's filter form: locations, asset types, skills (three queries);
    technicians come from ``queries.technician_choices`` (capped, the chosen one kept)."""
    return {
        "locations": db.session.execute(select(MajorLocation.id, MajorLocation.name).order_by(MajorLocation.name)).all(),
        "asset_types": db.session.execute(select(AssetType.id, AssetType.name).order_by(AssetType.name)).all(),
        "skills": db.session.execute(select(Skill.id, Skill.name).order_by(Skill.name)).all(),
    }


def with_range(filters: AnalyticsFilters, since: date, until: date) -> AnalyticsFilters:
    return replace(filters, range="custom", since=since, until=until)

