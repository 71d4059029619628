"""The business metrics Motorpool watches, each over a window of time (``MetricWindow``).

One function per metric, each returning a frozen dataclass of figures. The alert check
(``app.plugins.builtin.alert_checks``), the daily and weekly summaries (``app.services.reports``)
and the command line all call these, so a figure means the same everywhere. Formulas are
written out in docs/alerting.md; keep the two in step.

Rules every function follows:

- SQL aggregates only: a fixed number of queries whatever the number of rows (each function
  says how many), never a loop over dispatches in Python. Lists ("which dispatches") are
  capped at ``LIST_LIMIT`` and come with the exact count beside them.
- A window is ``start`` inclusive, ``end`` exclusive, both UTC.
- A rate with nothing to divide by is ``None`` ("no data"), never 0 % and never an error.
- Figures about work still open (past its SLA, waiting for a technician) describe the
  dispatches as they stand now; the window's end only leaves out work created after it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, is_dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from collections.abc import Collection
from typing import Any

from flask import current_app
from sqlalchemy import and_, case, func, literal, literal_column, select

from app.extensions import db
from app.models import (
    Asset,
    DailyTrend,
    Dispatch,
    DispatchMetric,
    DispatchStatus,
    DispatchStatusHistory,
    Role,
    TechnicianProfile,
    User,
    utcnow,
)
from app.plugins.contracts import MetricWindow
from app.services import local_time
from app.services.errors import ValidationError
from app.services.queries import OPEN_STATUSES

#: How many dispatches (or technicians) a list names at most; the count beside it is exact.
LIST_LIMIT = 10

#: The limits the per-dispatch figures are counted against unless the caller gives its own:
#: the alert check's default warning thresholds (docs/alerting.md).
DEFAULT_ROUTING_LIMIT_SECONDS = 120.0
DEFAULT_COMPLETION_LIMIT_HOURS = 6.0
DEFAULT_COST_LIMIT = 350.0

_STATUS = DispatchStatus


# --- The window ----------------------------------------------------------------------------


def window_hours() -> float:
    return float(current_app.config["MOTORPOOL_METRIC_WINDOW_HOURS"])


def window_ending(end: datetime | None = None, hours: float | None = None) -> MetricWindow:
    """The ``hours`` (default ``MOTORPOOL_METRIC_WINDOW_HOURS``) before ``end`` (default now)."""
    end = end or utcnow()
    if end.tzinfo is None:
        raise ValueError("window_ending needs a timezone-aware end")
    hours = window_hours() if hours is None else float(hours)
    if not hours > 0:
        raise ValueError(f"a metric window must last more than 0 hours, not {hours!r}")
    return MetricWindow(start=end - timedelta(hours=hours), end=end)


def window_text(window: MetricWindow) -> str:
    """How messages name a window: "in the last 24 h" reads well for the alert check's windows."""
    hours = (window.end - window.start).total_seconds() / 3600
    return f"in the last {hours:g} h"


def _within(column, window: MetricWindow):
    return and_(column >= window.start, column < window.end)


# --- The scope: the whole fleet, or part of it --------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What part of the fleet a figure covers; every field None is the whole fleet (what the
    alert checks and the summaries read, with the very queries they always ran).

    Location, asset type and skill narrow a figure to the dispatches at that location, for an
    asset of that type, needing that skill; the technician to that technician's work. Figures
    about technicians rather than dispatches (burnout, utilisation, states) take only the
    technician (``not_narrowable``)."""

    location_id: int | None = None
    asset_type_id: int | None = None
    skill: str | None = None  # the skill's name, as dispatches.required_skill holds it
    technician_id: int | None = None

    @property
    def by_dispatch(self) -> list[str]:
        """The filters given that describe a dispatch (location, asset type, skill), by name."""
        return [name for name, value in (("location", self.location_id), ("asset_type", self.asset_type_id),
                                         ("skill", self.skill)) if value is not None]


FLEET = Scope()


def scope_conditions(scope: Scope | None, technician_column=Dispatch.assigned_user_id) -> list:
    """The scope as conditions on ``dispatches`` (the technician on ``technician_column``); none
    for the whole fleet. The asset type is matched through the asset, as the work-order list does."""
    if scope is None:
        return []
    d = Dispatch
    conditions = []
    if scope.location_id is not None:
        conditions.append(d.dispatch_location_id == scope.location_id)
    if scope.asset_type_id is not None:
        conditions.append(d.asset_id.in_(select(Asset.id).where(Asset.asset_type_id == scope.asset_type_id)))
    if scope.skill is not None:
        conditions.append(d.required_skill == scope.skill)
    if scope.technician_id is not None:
        conditions.append(technician_column == scope.technician_id)
    return conditions


def _records_in(scope: Scope | None) -> list:
    """The scope as conditions on ``dispatch_metrics``: the record's technician, its dispatch's
    location, asset type and skill (a semi-join, so the fleet's queries stay as they were)."""
    if scope is None:
        return []
    m = DispatchMetric
    conditions = [m.technician_id == scope.technician_id] if scope.technician_id is not None else []
    if scope.by_dispatch:
        narrowed = replace(scope, technician_id=None)
        conditions.append(m.dispatch_id.in_(select(Dispatch.id).where(*scope_conditions(narrowed))))
    return conditions


#: Figures of technicians, not of dispatches: a location, asset type or skill means nothing to them.
_TECHNICIAN_FIGURES = {
    "burnout": "Burnout risk is a technician's state over all their work",
    "utilisation": "Utilisation is a technician's booked hours against their whole shift",
    "technician_states": "A technician's state now covers all their work",
}


def not_narrowable(figure: str, scope: Scope | None) -> str | None:
    """Why ``figure`` cannot take the scope's filters, or None when it can."""
    given = scope.by_dispatch if scope is not None else []
    if figure not in _TECHNICIAN_FIGURES or not given:
        return None
    names = ", ".join(name.replace("_", " ") for name in given)
    return (f"{_TECHNICIAN_FIGURES[figure]}: it cannot be narrowed by {names}. Only the technician filter "
            f"applies to it; leave out {names} to see it.")


def _refuse_dispatch_filters(figure: str, scope: Scope | None) -> None:
    reason = not_narrowable(figure, scope)
    if reason is not None:
        raise ValidationError(reason, field=scope.by_dispatch[0])


def _technician(scope: Scope | None) -> int | None:
    return None if scope is None else scope.technician_id


# --- What the functions return --------------------------------------------------------------


@dataclass(frozen=True)
class DispatchFigure:
    """One dispatch a metric names, with its figure (hours late, seconds waiting, cost…)."""

    number: str
    value: float | None


@dataclass(frozen=True)
class SlaCompliance:
    completed: int  # dispatches completed in the window
    within_sla: int  # of those, completed no later than their SLA due time
    open_past_sla: int  # open dispatches whose SLA due time is before the window's end
    past_sla: tuple[DispatchFigure, ...]  # the longest overdue first; value = hours past due

    @property
    def rate(self) -> float | None:
        """Percent of completed work done within SLA; None when nothing was completed."""
        return _percent(self.within_sla, self.completed)


@dataclass(frozen=True)
class RoutingSpeed:
    assignments: int  # assignment records (dispatch_metrics) made in the window, with a speed
    p50_seconds: float | None
    p95_seconds: float | None
    worst_seconds: float | None
    waiting_threshold_seconds: float  # the p95, or the limit when nothing was assigned
    waiting_over: int  # unassigned dispatches waiting longer than that threshold
    waiting: tuple[DispatchFigure, ...]  # the longest waiting first; value = seconds waiting


@dataclass(frozen=True)
class Distribution:
    """A per-assignment figure (estimated hours, cost) over the window's assignment records."""

    assignments: int  # assignment records in the window with the figure
    total: float | None
    average: float | None
    worst: float | None
    limit: float
    above: int  # records whose figure is above ``limit``
    offenders: tuple[DispatchFigure, ...]  # those records' dispatches, highest first


@dataclass(frozen=True)
class CompletionEstimates(Distribution):
    """``dispatch_metrics.estimated_completion_hours`` of the window's assignments."""


@dataclass(frozen=True)
class OperationalCost(Distribution):
    """``dispatch_metrics.operational_cost`` of the window's assignments."""


@dataclass(frozen=True)
class PendingQueue:
    waiting: int  # Created, no technician, created before the window's end
    by_priority: dict[str, int]
    oldest_created: datetime | None
    items: tuple[DispatchFigure, ...]  # oldest first; value = seconds waiting at the window's end


@dataclass(frozen=True)
class TechnicianRate:
    technician_id: int
    name: str
    count: int  # the sample: completed dispatches
    hits: int  # of those, fixed the first time
    rate: float | None  # percent; None below the minimum sample


@dataclass(frozen=True)
class FirstTimeFix:
    completed: int
    fixed_first_time: int
    min_sample: int
    technicians: tuple[TechnicianRate, ...]  # every technician with a completion, by name

    @property
    def rate(self) -> float | None:
        return _percent(self.fixed_first_time, self.completed)


@dataclass(frozen=True)
class TechnicianRisk:
    technician_id: int
    name: str
    risk: float | None  # burnout_risk of their latest assignment record in the window
    dispatch_number: str


@dataclass(frozen=True)
class Burnout:
    assessed: int  # technicians with an assignment record in the window
    at_risk: int  # of those, whose latest record raised the burnout alert
    technicians: tuple[TechnicianRisk, ...]  # highest risk first, capped at BURNOUT_LIST_LIMIT


@dataclass(frozen=True)
class TechnicianUtilisation:
    technician_id: int
    name: str
    booked_hours: float
    shift_hours: float
    min_shift_hours: float = field(default=0.0, compare=False)  # the setting, not a figure

    @property
    def rate(self) -> float | None:
        """Percent of shift hours booked; None when the window held less of their shift than
        ``min_shift_hours`` (half an hour of shift with nothing booked yet is not 0 % worth an alert)."""
        if self.shift_hours <= 0 or self.shift_hours < self.min_shift_hours:
            return None
        return _percent(self.booked_hours, self.shift_hours)


@dataclass(frozen=True)
class Utilisation:
    booked_hours: float
    shift_hours: float
    technicians: tuple[TechnicianUtilisation, ...] = field(default_factory=tuple)  # by name

    @property
    def rate(self) -> float | None:
        return _percent(self.booked_hours, self.shift_hours)


@dataclass(frozen=True)
class DispatchCounts:
    created: int
    completed: int
    cancelled: int


def jsonable(value: Any) -> Any:
    """Figures as JSON-ready values: dataclasses as dicts, moments as ISO 8601 text (notifications store them)."""
    if is_dataclass(value) and not isinstance(value, type):
        return jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def duration_text(seconds: float | None) -> str:
    """A duration as people read it: "45 s", "12 min", "3.5 h"; None is "no data"."""
    if seconds is None:
        return "no data"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _percent(part: float, whole: float) -> float | None:
    return None if not whole else 100.0 * part / whole


# --- 1. SLA compliance ----------------------------------------------------------------------


def sla_met_condition():
    """The SQL condition "this completed dispatch met its SLA": completed no later than its SLA
    due time, or it had none. The one rule every SLA figure counts by (analytics included)."""
    return Dispatch.sla_due_at.is_(None) | (Dispatch.completed_date <= Dispatch.sla_due_at)



def sla_compliance(window: MetricWindow, *, limit: int = LIST_LIMIT, scope: Scope | None = None) -> SlaCompliance:
    """Completed within SLA ÷ completed in the window; and open work already past its SLA.

    Within SLA means ``completed_date <= sla_due_at`` on the dispatch (the outcome, not the
    engine's forecast in ``dispatch_metrics.sla_met``); a dispatch without an SLA due time
    counts as within it, as the technicians' on-time counters do. ``scope`` narrows both to
    its dispatches (the technician: the one who holds it). Three queries.
    """
    d = Dispatch
    narrowed = scope_conditions(scope)
    completed, within = db.session.execute(
        select(func.count(d.id), func.coalesce(func.sum(case((sla_met_condition(), 1), else_=0)), 0))
        .where(d.status == _STATUS.COMPLETED.value, _within(d.completed_date, window), *narrowed)
    ).one()
    overdue = [d.status.in_(OPEN_STATUSES), d.sla_due_at < window.end, d.created_date < window.end, *narrowed]
    # The count reads ix_dispatches_status_sla_due_at alone; the list picks its ids on the same
    # narrow index rows before reading the dispatches (a count beside the rows would read each one).
    count = db.session.scalar(select(func.count()).select_from(d).where(*overdue))
    first = select(d.id).where(*overdue).order_by(d.sla_due_at, d.id).limit(limit).subquery()
    rows = db.session.execute(
        select(d.dispatch_number, d.sla_due_at).join(first, first.c.id == d.id).order_by(d.sla_due_at, d.id)
    ).all()
    past = tuple(DispatchFigure(number, round((window.end - due).total_seconds() / 3600, 2)) for number, due in rows)
    return SlaCompliance(completed=completed, within_sla=int(within), open_past_sla=count, past_sla=past)


# --- 2. Routing speed -----------------------------------------------------------------------


def _percentiles(column, *conditions) -> tuple[int, float | None, float | None, float | None]:
    """Count, p50, p95 and maximum of ``column`` in two queries, on SQLite and PostgreSQL alike.

    Nearest-rank percentiles (the smallest value with at least p % of the values at or below
    it: rank ⌈p·n⌉). The count and maximum come first; each percentile is then the value at
    its rank, read by an ordered scan that stops there (``OFFSET rank - 1``). On
    ``ix_dispatch_metrics_routing_speed_seconds_created_at`` that scan is already in order and
    filters the window inside the index: a year of a million records in tens of milliseconds,
    where numbering every sorted value took seconds. Exact, whatever the range.
    """
    present = [column.is_not(None), *conditions]
    count, worst = db.session.execute(select(func.count(column), func.max(column)).where(*present)).one()
    if not count:
        return 0, None, None, None

    def at(rank: int):
        return select(column).where(*present).order_by(column).offset(rank - 1).limit(1).scalar_subquery()

    p50, p95 = db.session.execute(select(at((count * 50 + 99) // 100), at((count * 95 + 99) // 100))).one()
    return count, p50, p95, worst


def _percentiles_by(column, group, *conditions) -> dict[Any, tuple[int, float | None, float | None, float | None]]:
    """``_percentiles`` for each value of ``group`` (an expression), in one query: ``{group:
    (count, p50, p95, max)}``, groups without a value left out; ``group`` None: one group, 0."""
    if group is None:  # one group: no partition, numbered 0
        group, partition = literal_column("0"), None
    else:
        partition = group
    ranked = (
        select(column.label("v"), group.label("g"),
               func.row_number().over(partition_by=partition, order_by=column).label("rn"),
               func.count().over(partition_by=partition).label("n"))
        .where(column.is_not(None), *conditions)
        .subquery()
    )
    n = ranked.c.n
    rows = db.session.execute(
        select(ranked.c.g, func.coalesce(func.max(n), 0),
               func.max(case((ranked.c.rn == (n * 50 + 99) // 100, ranked.c.v))),
               func.max(case((ranked.c.rn == (n * 95 + 99) // 100, ranked.c.v))),
               func.max(ranked.c.v))
        .group_by(ranked.c.g)
    ).all()
    return {g: (count, p50, p95, worst) for g, count, p50, p95, worst in rows}


def routing_speed(window: MetricWindow, *, limit_seconds: float = DEFAULT_ROUTING_LIMIT_SECONDS,
                  limit: int = LIST_LIMIT, scope: Scope | None = None) -> RoutingSpeed:
    """Seconds from creation to assignment of the window's assignments: p50, p95, worst.

    From ``dispatch_metrics.routing_speed_seconds`` of the records made in the window (one
    per assignment, reassignments included). Beside it, the unassigned dispatches that have
    waited longer than the p95 at the window's end — longer than ``limit_seconds`` when
    nothing was assigned in the window. ``scope`` narrows both to its dispatches; the
    technician filter keeps that technician's assignments, and no waiting dispatch is anyone's.
    Three queries.
    """
    m = DispatchMetric
    count, p50, p95, worst = _percentiles(m.routing_speed_seconds, _within(m.created_at, window), *_records_in(scope))
    threshold = float(p95) if p95 is not None else float(limit_seconds)
    d = Dispatch
    rows = db.session.execute(
        select(d.dispatch_number, d.created_date, func.count().over())
        .where(d.status == _STATUS.CREATED.value, d.assigned_user_id.is_(None),
               d.created_date < window.end - timedelta(seconds=threshold), *scope_conditions(scope))
        .order_by(d.created_date, d.id).limit(limit)
    ).all()
    waiting = tuple(DispatchFigure(number, round((window.end - created).total_seconds(), 1))
                    for number, created, _ in rows)
    return RoutingSpeed(
        assignments=count, p50_seconds=_float(p50), p95_seconds=_float(p95), worst_seconds=_float(worst),
        waiting_threshold_seconds=threshold, waiting_over=rows[0][2] if rows else 0, waiting=waiting,
    )


def _float(value) -> float | None:
    return None if value is None else float(value)


# --- 3 and 4. Estimated completion and operational cost ---------------------------------------


def _distribution(column, window: MetricWindow, above: float, limit: int, scope: Scope | None = None) -> dict:
    """Count, total, average and maximum of a per-assignment figure, and the records above ``above``.

    Two queries: the aggregates (from ``ix_dispatch_metrics_created_at_figures`` alone for the
    cost), then the ``limit`` highest records, which include every record over the limit that
    the list names. Aggregates riding along as window functions on those records made the
    database number and sort every record of the range (seconds over a year).
    """
    m, d = DispatchMetric, Dispatch
    present = [column.is_not(None), _within(m.created_at, window), *_records_in(scope)]
    count, total, average, worst, over = db.session.execute(
        select(func.count(column), func.sum(column), func.avg(column), func.max(column),
               func.coalesce(func.sum(case((column > above, 1), else_=0)), 0))
        .where(*present)
    ).one()
    if not count:
        return {"assignments": 0, "total": None, "average": None, "worst": None, "limit": float(above),
                "above": 0, "offenders": ()}
    top = select(m.id, column.label("v")).where(*present).order_by(column.desc(), m.id).limit(limit).subquery()
    # The records first, then their dispatches: joined in one step, SQLite would walk every
    # dispatch and look its records up instead of reading the window's records once.
    rows = db.session.execute(
        select(d.dispatch_number, top.c.v)
        .select_from(top).join(m, m.id == top.c.id).join(d, d.id == m.dispatch_id)
        .order_by(top.c.v.desc(), top.c.id)
    ).all()
    return {
        "assignments": count, "total": _float(total), "average": _float(average), "worst": _float(worst),
        "limit": float(above), "above": int(over),
        "offenders": tuple(DispatchFigure(number, float(value)) for number, value in rows if value > above),
    }


def completion_estimates(window: MetricWindow, *, limit_hours: float = DEFAULT_COMPLETION_LIMIT_HOURS,
                         limit: int = LIST_LIMIT, scope: Scope | None = None) -> CompletionEstimates:
    """Estimated hours to completion of the window's assignments; how many and which are above the limit.

    From ``dispatch_metrics.estimated_completion_hours`` (travel plus work, as the engine
    estimated it when assigning), one figure per assignment record. Two queries.
    """
    return CompletionEstimates(**_distribution(DispatchMetric.estimated_completion_hours, window, limit_hours, limit,
                                               scope))


def operational_cost(window: MetricWindow, *, limit_cost: float = DEFAULT_COST_LIMIT,
                     limit: int = LIST_LIMIT, scope: Scope | None = None) -> OperationalCost:
    """Operational cost per dispatch of the window's assignments: total, average, worst, those above the limit.

    From ``dispatch_metrics.operational_cost`` (labour, overtime and travel as estimated at
    assignment), one figure per assignment record; ``scope`` keeps the records of its
    dispatches (the technician: the record's). Two queries.
    """
    return OperationalCost(**_distribution(DispatchMetric.operational_cost, window, limit_cost, limit, scope))


# --- 5. Pending queue -----------------------------------------------------------------------


def pending_queue(window: MetricWindow, *, limit: int = LIST_LIMIT) -> PendingQueue:
    """Dispatches waiting for a technician: status Created with nobody assigned.

    Created is the only status without a technician in the status machine (unassigning
    returns a dispatch to it); Completed and Cancelled work never waits. Two queries.
    """
    d = Dispatch
    waiting = [d.status == _STATUS.CREATED.value, d.assigned_user_id.is_(None), d.created_date < window.end]
    groups = db.session.execute(
        select(d.priority, func.count(d.id), func.min(d.created_date)).where(*waiting).group_by(d.priority)
    ).all()
    rows = db.session.execute(
        select(d.dispatch_number, d.created_date).where(*waiting).order_by(d.created_date, d.id).limit(limit)
    ).all()
    oldest = min((first for _, _, first in groups), default=None)
    return PendingQueue(
        waiting=sum(count for _, count, _ in groups),
        by_priority={priority: count for priority, count, _ in groups},
        oldest_created=oldest,
        items=tuple(DispatchFigure(number, round((window.end - created).total_seconds(), 1)) for number, created in rows),
    )


# --- 6. First-time fix ----------------------------------------------------------------------


def min_sample() -> int:
    return int(current_app.config["MOTORPOOL_FTF_MIN_SAMPLE"])


def min_shift_hours() -> float:
    """Shift hours a technician needs inside the window before their utilisation counts."""
    return float(current_app.config["MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS"])


def first_time_fix(window: MetricWindow, *, technician_id: int | None = None,
                   technician_ids: Collection[int] | None = None) -> FirstTimeFix:
    """Dispatches completed in the window that were fixed the first time ÷ completed in the window.

    Fixed the first time: completed by the only technician it was ever assigned to (one
    "Assigned" row in its status history), the rule the technicians' ``first_time_fix_count``
    follows. Per technician (the one who completed it), a rate is given from
    ``MOTORPOOL_FTF_MIN_SAMPLE`` completions on; below that the rate is None. One query;
    ``technician_id`` reads that technician's completions only (My work), ``technician_ids``
    those technicians' (one page of the dashboard).
    """
    d, h = Dispatch, DispatchStatusHistory
    # Counted per completed dispatch from ix_dispatch_status_history_dispatch_id_status_to alone
    # (an index-only lookup each): 5 ms for a week's 6,000 completions at 1.4 M history rows,
    # where the same count grouped in a derived table took 11–34 ms (docs/performance.md).
    assignments = (
        select(func.count(h.id))
        .where(h.dispatch_id == d.id, h.status_to == _STATUS.ASSIGNED.value)
        .correlate(d).scalar_subquery()
    )
    mine = _only(d.assigned_user_id, technician_id, technician_ids)
    rows = db.session.execute(
        select(d.assigned_user_id, User.name, func.count(d.id), func.sum(case((assignments <= 1, 1), else_=0)))
        .join(User, User.id == d.assigned_user_id)
        .where(d.status == _STATUS.COMPLETED.value, _within(d.completed_date, window), *mine)
        .group_by(d.assigned_user_id, User.name)
        .order_by(User.name, d.assigned_user_id)
    ).all()
    sample = min_sample()
    technicians = tuple(
        TechnicianRate(user_id, name, count, int(hits), _percent(hits, count) if count >= sample else None)
        for user_id, name, count, hits in rows
    )
    return FirstTimeFix(
        completed=sum(t.count for t in technicians), fixed_first_time=sum(t.hits for t in technicians),
        min_sample=sample, technicians=technicians,
    )


# --- 7. Burnout -----------------------------------------------------------------------------

#: Burnout lists every technician at risk up to this many (the count is exact beyond it).
BURNOUT_LIST_LIMIT = 100


def burnout(window: MetricWindow, *, limit: int = BURNOUT_LIST_LIMIT, scope: Scope | None = None) -> Burnout:
    """Technicians whose latest assignment record in the window raised the burnout alert.

    ``dispatch_metrics.burnout_alert`` is the engine's rule (projected weekly hours near the
    maximum, or too many days in a row) taken at assignment; the latest record per
    technician (by time, then id) is their current state. Active technicians only; ``scope``
    takes the technician only (``not_narrowable``). One query.
    """
    _refuse_dispatch_filters("burnout", scope)
    d = Dispatch
    technician = _technician(scope)
    latest = _latest_records(window, None if technician is None else [technician])
    alert = case((latest.c.burnout_alert.is_(True), 1), else_=0)
    assessed = func.count().over()
    at_risk = func.sum(alert).over()
    rows = db.session.execute(
        select(latest.c.technician_id, User.name, latest.c.burnout_risk, d.dispatch_number, latest.c.burnout_alert,
               assessed, at_risk)
        .join(User, User.id == latest.c.technician_id)
        .join(d, d.id == latest.c.dispatch_id)
        .where(latest.c.rn == 1, User.is_active_user.is_(True), User.role == Role.TECHNICIAN.value)
        .order_by(latest.c.burnout_alert.desc(), latest.c.burnout_risk.desc(), User.name)
        .limit(limit)
    ).all()
    if not rows:
        return Burnout(assessed=0, at_risk=0, technicians=())
    return Burnout(
        assessed=rows[0][5], at_risk=int(rows[0][6] or 0),
        technicians=tuple(TechnicianRisk(user_id, name, _float(risk), number)
                          for user_id, name, risk, number, flagged, _, _ in rows if flagged),
    )


def _only(column, technician_id: int | None, technician_ids: Collection[int] | None) -> list:
    """The conditions keeping one technician (``technician_id``) or a few (``technician_ids``)."""
    conditions = []
    if technician_id is not None:
        conditions.append(column == technician_id)
    if technician_ids is not None:
        conditions.append(column.in_(sorted(technician_ids)))
    return conditions


def _latest_records(window: MetricWindow, technician_ids: Collection[int] | None = None):
    """Each technician's latest ``dispatch_metrics`` record in the window (``rn == 1``), as a subquery."""
    m = DispatchMetric
    # One seek per user on ix_dispatch_metrics_technician_id_created_at, read backwards: a
    # thousand short lookups instead of sorting the window's records (tens of thousands a week).
    latest_id = (
        select(m.id).where(m.technician_id == User.id, _within(m.created_at, window))
        .order_by(m.created_at.desc(), m.id.desc()).limit(1)
        .correlate(User).scalar_subquery()
    )
    ids = (select(latest_id.label("id")).select_from(User)
           .where(User.role == Role.TECHNICIAN.value, *_only(User.id, None, technician_ids)))
    return (
        select(m.technician_id, m.dispatch_id, m.burnout_alert, m.burnout_risk, literal(1).label("rn"))
        .where(m.id.in_(ids))
        .subquery()
    )


def burnout_by_technician(window: MetricWindow, *,
                          technician_ids: Collection[int] | None = None) -> dict[int, tuple[bool, float | None]]:
    """``{technician id: (burnout alert, burnout risk)}`` of each technician's latest record in the
    window, every technician assessed (``burnout`` lists only those at risk), or only
    ``technician_ids``. One query."""
    latest = _latest_records(window, technician_ids)
    rows = db.session.execute(
        select(latest.c.technician_id, latest.c.burnout_alert, latest.c.burnout_risk).where(latest.c.rn == 1)
    ).all()
    return {user_id: (bool(flagged), _float(risk)) for user_id, flagged, risk in rows}


# --- 8. Utilisation -------------------------------------------------------------------------


def utilisation(window: MetricWindow, *, technician_id: int | None = None,
                technician_ids: Collection[int] | None = None, scope: Scope | None = None) -> Utilisation:
    """Booked hours ÷ shift hours in the window, fleet-wide and per technician.

    Booked hours: ``estimated_duration_hours`` of the dispatches assigned in the window
    (``assigned_date``) to the technician who holds them, whatever their status but
    Cancelled. Shift hours: the part of each shift (their days and times, on their own wall
    clock) inside the window. Active technicians with a profile; a technician the window
    held less than ``MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS`` of shift has no rate (None). Two queries; the shift arithmetic is done once
    per distinct shift pattern and zone, not per technician. ``technician_id`` keeps one
    technician (their rate is the same; the fleet totals are then theirs), ``technician_ids`` a few;
    ``scope`` takes the technician only (``not_narrowable``).
    """
    _refuse_dispatch_filters("utilisation", scope)
    if technician_id is None:
        technician_id = _technician(scope)
    p, d = TechnicianProfile, Dispatch
    people = db.session.execute(
        select(p.user_id, User.name, p.shift_days, p.shift_start, p.shift_end, User.time_zone)
        .join(User, User.id == p.user_id)
        .where(User.role == Role.TECHNICIAN.value, User.is_active_user.is_(True), User.is_system.is_(False),
               *_only(p.user_id, technician_id, technician_ids))
        .order_by(User.name, p.user_id)
    ).all()
    booked = dict(db.session.execute(
        select(d.assigned_user_id, func.sum(d.estimated_duration_hours))
        .where(d.assigned_user_id.is_not(None), d.status != _STATUS.CANCELLED.value,
               _within(d.assigned_date, window),
               *_only(d.assigned_user_id, technician_id, technician_ids))
        .group_by(d.assigned_user_id)
    ).all())
    organisation = local_time.zone_label(local_time.organisation_zone())
    least = min_shift_hours()
    technicians = tuple(
        TechnicianUtilisation(user_id, name, float(booked.get(user_id) or 0.0),
                              shift_hours_in(window.start, window.end, days, start, end, zone or organisation),
                              least)
        for user_id, name, days, start, end, zone in people
    )
    return Utilisation(booked_hours=sum(t.booked_hours for t in technicians),
                       shift_hours=sum(t.shift_hours for t in technicians), technicians=technicians)


@lru_cache(maxsize=4096)
def shift_hours_in(start: datetime, end: datetime, days: str, shift_start: time, shift_end: time,
                   zone_name: str) -> float:
    """Elapsed hours of a weekly shift pattern inside [start, end).

    ``days`` are ISO weekdays ("12345"), the times the technician's wall clock in
    ``zone_name``; a shift whose end is not after its start runs overnight (equal: 24 h)
    and belongs to the day it starts. Elapsed, not wall-clock, hours: the night the clocks
    change, a shift is an hour shorter or longer.
    """
    zone = local_time.zone_named(zone_name)
    first = local_time.to_local(start, zone).date() - timedelta(days=1)
    last = local_time.to_local(end, zone).date()
    total = 0.0
    day = first
    while day <= last:
        if str(day.isoweekday()) in (days or ""):
            begins = _instant(day, shift_start, zone)
            ends_day = day if shift_end > shift_start else day + timedelta(days=1)
            ends = _instant(ends_day, shift_end, zone)
            overlap = (min(ends, end) - max(begins, start)).total_seconds()
            total += max(overlap, 0.0)
        day += timedelta(days=1)
    return round(total / 3600, 4)


def _instant(day: date, at: time, zone: tzinfo) -> datetime:
    # fold=0: a repeated wall time is its first occurrence, a skipped one maps past the jump.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


# --- Counts for the summaries --------------------------------------------------------------


def dispatch_counts(window: MetricWindow) -> DispatchCounts:
    """Dispatches created, completed and cancelled in the window. One query.

    Cancelled: a status change to Cancelled in the window (the dispatch keeps no
    cancellation time of its own; the status history does).
    """
    d, h = Dispatch, DispatchStatusHistory
    created = select(func.count(d.id)).where(_within(d.created_date, window)).scalar_subquery()
    completed = (select(func.count(d.id)).where(d.status == _STATUS.COMPLETED.value, _within(d.completed_date, window))
                 .scalar_subquery())
    cancelled = (select(func.count(func.distinct(h.dispatch_id)))
                 .where(h.status_to == _STATUS.CANCELLED.value, _within(h.changed_date, window)).scalar_subquery())
    row = db.session.execute(select(created, completed, cancelled)).one()
    return DispatchCounts(created=row[0], completed=row[1], cancelled=row[2])


# --- Per technician, now: the technician dashboard and My work --------------------------------

#: The dashboard's figures look back over the same seven days the matching engine counts a
#: technician's weekly hours over, so utilisation, first-time fix, burnout and hours agree.
TECHNICIAN_WINDOW_HOURS = 7 * 24


class TechnicianState:
    """What a technician is doing now, in the order the dashboard sorts by."""

    WORKING = "on site"  # an In Progress dispatch
    EN_ROUTE = "en route"
    ASSIGNED = "assigned"
    AVAILABLE = "available"  # on shift, nothing started, room for more work
    OFF_SHIFT = "off shift"
    UNAVAILABLE = "unavailable"
    ALL = (WORKING, EN_ROUTE, ASSIGNED, AVAILABLE, OFF_SHIFT, UNAVAILABLE)


def is_unavailable(availability: str, until: datetime | None, now: datetime) -> bool:
    """Marked unavailable and not yet back: an ``unavailable_until`` already past counts as
    available again, as the matching engine reads it (``candidate_pool.load_pool``)."""
    return availability != "Available" and (until is None or until > now)


def technician_state(*, unavailable: bool, on_shift: bool, open_by_status: dict[str, int],
                     active_count: int, max_concurrent: int) -> str:
    """Unavailable first; then the furthest status among their open dispatches; with none
    started, off shift or available. A technician at capacity is "assigned", never "available"."""
    if unavailable:
        return TechnicianState.UNAVAILABLE
    if open_by_status.get(_STATUS.IN_PROGRESS.value):
        return TechnicianState.WORKING
    if open_by_status.get(_STATUS.EN_ROUTE.value):
        return TechnicianState.EN_ROUTE
    if not on_shift:
        return TechnicianState.OFF_SHIFT
    if open_by_status.get(_STATUS.ASSIGNED.value) or active_count >= max_concurrent:
        return TechnicianState.ASSIGNED
    return TechnicianState.AVAILABLE


@dataclass(frozen=True)
class TechnicianNow:
    """One technician as the dashboard shows them."""

    technician_id: int
    name: str
    state: str
    shift: str  # matching.shift_text: "on shift", "off shift until 07:00", …
    unavailable_reason: str | None
    unavailable_until: datetime | None
    open_by_priority: dict[str, int]  # their open dispatches per priority (Critical first)
    max_hours_per_week: float
    hours_this_week: float | None = None  # matching engine: hours worked in the last 7 days
    utilisation: TechnicianUtilisation | None = None
    first_time_fix: TechnicianRate | None = None
    burnout_alert: bool | None = None  # None: no assignment record in the window
    burnout_risk: float | None = None

    @property
    def open_total(self) -> int:
        return sum(self.open_by_priority.values())

    @property
    def utilisation_rate(self) -> float | None:
        return self.utilisation.rate if self.utilisation else None

    @property
    def first_time_fix_rate(self) -> float | None:
        return self.first_time_fix.rate if self.first_time_fix else None


_PRIORITIES = ("Critical", "High", "Normal", "Low")


def _states_now(now: datetime, technician_id: int | None = None):
    """Every active technician's profile row, on-shift flags, open work by status and priority,
    and state now (``technician_state``), in two queries: what ``technicians_now`` and
    ``technician_states`` share, so the tiles count the states the table shows."""
    from app.services import candidate_pool

    p, d = TechnicianProfile, Dispatch
    query = (
        select(p.user_id, User.name, User.email, p.shift_days, p.shift_start, p.shift_end, User.time_zone,
               p.availability, p.unavailable_reason, p.unavailable_until, p.active_dispatch_count,
               p.max_concurrent_dispatches, p.max_hours_per_week)
        .join(User, User.id == p.user_id)
        .where(User.role == Role.TECHNICIAN.value, User.is_active_user.is_(True), User.is_system.is_(False))
        .order_by(User.name, p.user_id)
    )
    # Created work has no technician (the status machine), so only the three held statuses
    # are read: on the status index that skips the waiting queue, tens of thousands of rows.
    held = (_STATUS.ASSIGNED.value, _STATUS.EN_ROUTE.value, _STATUS.IN_PROGRESS.value)
    open_query = (select(d.assigned_user_id, d.status, d.priority, func.count(d.id))
                  .where(d.assigned_user_id.is_not(None), d.status.in_(held))
                  .group_by(d.assigned_user_id, d.status, d.priority))
    if technician_id is not None:
        query = query.where(p.user_id == technician_id)
        open_query = open_query.where(d.assigned_user_id == technician_id)
    rows = db.session.execute(query).all()
    if not rows:
        return [], [], {}, {}, []
    columns = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True))
    on_shift, _ = candidate_pool._shift_state(columns, now)
    by_status: dict[int, dict[str, int]] = {}
    by_priority: dict[int, dict[str, int]] = {}
    for user_id, status, priority, count in db.session.execute(open_query):
        statuses = by_status.setdefault(user_id, {})
        statuses[status] = statuses.get(status, 0) + count
        priorities = by_priority.setdefault(user_id, {})
        priorities[priority] = priorities.get(priority, 0) + count
    states = [
        technician_state(unavailable=is_unavailable(row.availability, row.unavailable_until, now),
                         on_shift=bool(on_shift[i]), open_by_status=by_status.get(row.user_id, {}),
                         active_count=row.active_dispatch_count, max_concurrent=row.max_concurrent_dispatches)
        for i, row in enumerate(rows)
    ]
    return rows, on_shift, by_status, by_priority, states


def technician_states(now: datetime | None = None, *, scope: Scope | None = None) -> dict[str, int]:
    """How many active technicians are in each state now (every state present, 0 included):
    the states of ``technicians_now`` without building each row's shift text and figures
    (the live tiles); ``scope`` takes the technician only (``not_narrowable``). Two queries."""
    _refuse_dispatch_filters("technician_states", scope)
    counts = dict.fromkeys(TechnicianState.ALL, 0)
    for state in _states_now(now or utcnow(), _technician(scope))[4]:
        counts[state] += 1
    return counts


def technicians_now(now: datetime | None = None, *, figures: bool = True,
                    technician_id: int | None = None) -> list[TechnicianNow]:
    """Every active technician with a profile: their state now and, with ``figures``, their
    utilisation, first-time fix and burnout over the last seven days and hours this week.

    State: two queries (profiles, open dispatches by technician, status and priority); the
    shift is ``candidate_pool._shift_state``, the rule the engine assigns by. Figures add
    ``utilisation`` (2), ``first_time_fix`` (1), ``burnout_by_technician`` (1) and the
    engine's weekly hours (1 or 2): a constant number whatever the number of technicians.
    ``technician_id`` keeps one technician (My work); the queries stay the same.
    """
    from app.services import matching

    now = now or utcnow()
    rows, on_shift, by_status, by_priority, states = _states_now(now, technician_id)
    if not rows:
        return []
    columns = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True))

    extra: dict[str, dict] = {"hours": {}, "utilisation": {}, "ftf": {}, "burnout": {}}
    if figures:
        extra = _figures(now, {user_id: i for i, user_id in enumerate(columns["user_id"])}, technician_id=technician_id)
    result = []
    for i, row in enumerate(rows):
        info = matching.TechnicianInfo(row.user_id, row.name, row.email, row.shift_days, row.shift_start,
                                       row.shift_end, row.time_zone)
        unavailable = is_unavailable(row.availability, row.unavailable_until, now)
        state = states[i]
        priorities = by_priority.get(row.user_id, {})
        flagged, risk = extra["burnout"].get(row.user_id, (None, None))
        result.append(TechnicianNow(
            technician_id=row.user_id, name=row.name, state=state,
            shift=matching.shift_text(info, bool(on_shift[i]), matching._technician_now(now, info)),
            unavailable_reason=row.unavailable_reason if unavailable else None,
            unavailable_until=row.unavailable_until if unavailable else None,
            open_by_priority={name: priorities[name] for name in _PRIORITIES if priorities.get(name)},
            max_hours_per_week=float(row.max_hours_per_week),
            hours_this_week=extra["hours"].get(row.user_id) if figures else None,
            utilisation=extra["utilisation"].get(row.user_id),
            first_time_fix=extra["ftf"].get(row.user_id),
            burnout_alert=flagged, burnout_risk=risk,
        ))
    return result


def _figures(now: datetime, user_row: dict[int, int], *, technician_id: int | None = None,
             technician_ids: Collection[int] | None = None) -> dict[str, dict]:
    """The figures ``technicians_now`` adds, for ``user_row``'s technicians (``{id: row}``):
    hours this week, utilisation, first-time fix and burnout over the last seven days."""
    from app.services import candidate_pool

    window = window_ending(now, hours=TECHNICIAN_WINDOW_HOURS)
    hours, _ = candidate_pool._recent_work(now, user_row)
    return {
        "hours": {user_id: round(float(hours[i]), 2) for user_id, i in user_row.items()},
        "utilisation": {t.technician_id: t for t in utilisation(
            window, technician_id=technician_id, technician_ids=technician_ids).technicians},
        "ftf": {t.technician_id: t for t in first_time_fix(
            window, technician_id=technician_id, technician_ids=technician_ids).technicians},
        "burnout": burnout_by_technician(window, technician_ids=technician_ids),
    }


def with_figures(technicians: list[TechnicianNow], now: datetime | None = None) -> list[TechnicianNow]:
    """``technicians`` (read with ``figures=False``) with their figures, the queries kept to
    them: the dashboard states and sorts the whole fleet, then fills in one page. The same
    number of queries as ``technicians_now`` adds for its figures."""
    if not technicians:
        return []
    ids = [t.technician_id for t in technicians]
    extra = _figures(now or utcnow(), {user_id: i for i, user_id in enumerate(ids)}, technician_ids=ids)
    return [replace(t, hours_this_week=extra["hours"].get(t.technician_id),
                    utilisation=extra["utilisation"].get(t.technician_id),
                    first_time_fix=extra["ftf"].get(t.technician_id),
                    burnout_alert=extra["burnout"].get(t.technician_id, (None, None))[0],
                    burnout_risk=extra["burnout"].get(t.technician_id, (None, None))[1])
            for t in technicians]


def state_counts(technicians: list[TechnicianNow]) -> dict[str, int]:
    """How many technicians are in each state (every state present, 0 included)."""
    counts = dict.fromkeys(TechnicianState.ALL, 0)
    for technician in technicians:
        counts[technician.state] += 1
    return counts


# --- Trends per local day: the technician dashboard ------------------------------------------


@dataclass(frozen=True)
class DayTrend:
    """One local day (``MOTORPOOL_TIMEZONE``) of routing speed and estimated completion.

    The same figures as ``routing_speed`` and ``completion_estimates`` over that day's
    assignment records; a day without records has counts 0 and None figures.
    """

    day: date
    assignments: int  # records with a routing speed
    routing_p50_seconds: float | None
    routing_p95_seconds: float | None
    estimates: int  # records with an estimated completion
    completion_p50_hours: float | None
    completion_p95_hours: float | None


def daily_trends(days: int = 30, *, end: datetime | None = None) -> list[DayTrend]:
    """The last ``days`` local days up to ``end`` (default now), oldest first, today included
    (up to ``end``): routing speed p50/p95 and estimated completion p50/p95 per day.

    Days are the organisation's (``MOTORPOOL_TIMEZONE``): each runs from local midnight to
    the next, in UTC 23, 24 or 25 hours. A day that has ended (before both ``end`` and now)
    is read from its ``daily_trends`` row; the days without one are computed from their
    records in one pass and their rows written, so the next read needs none of them. The
    rest — today, up to ``end`` — is computed each time. The records are put in their day by
    comparing ``created_at`` with the local midnights (a CASE over the bounds, the same on
    both databases), and each day's percentiles come from the helper ``routing_speed`` uses.
    One query when every finished day is kept, three more for those that are not, two for today.
    """
    if days < 1:
        raise ValueError(f"daily_trends needs at least one day, not {days!r}")
    end = end or utcnow()
    if end.tzinfo is None:
        raise ValueError("daily_trends needs a timezone-aware end")
    zone = local_time.organisation_zone()
    today = end.astimezone(zone).date()
    dates = [today - timedelta(days=days - 1 - i) for i in range(days + 1)]
    bounds = [datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC) for day in dates]
    dates.pop()  # the last bound is the end of ``today``
    finished_before = min(end, utcnow())
    finished = [i for i in range(days) if bounds[i + 1] <= finished_before]
    kept = {row.day: row for row in db.session.scalars(
        select(DailyTrend).where(DailyTrend.zone == zone.key, DailyTrend.day.in_([dates[i] for i in finished])))
    } if finished else {}
    missing = [i for i in finished if dates[i] not in kept]
    computed = _trend_days([(dates[i], bounds[i], bounds[i + 1]) for i in missing])
    if missing:
        _keep_trend_days(zone.key, [(dates[i], bounds[i], bounds[i + 1]) for i in missing], computed)
    live = [i for i in range(days) if i not in finished]
    computed.update(_trend_days([(dates[i], bounds[i], min(bounds[i + 1], end)) for i in live]))
    result = []
    for day in dates:
        row = kept.get(day)
        result.append(DayTrend(day, row.assignments, row.routing_p50_seconds, row.routing_p95_seconds, row.estimates,
                               row.completion_p50_hours, row.completion_p95_hours) if row else computed[day])
    return result


def _trend_days(spans: list[tuple[date, datetime, datetime]]) -> dict[date, DayTrend]:
    """Each ``(day, start, end)``'s figures from its records: two queries over the spans, none without."""
    if not spans:
        return {}
    from app.services.daily_rollups import index_before

    m = DispatchMetric
    # Each record's span by a binary search over the spans' edges (index_before): a CASE of
    # one branch per day compared every record with hundreds of days when a year was missing.
    # A gap between two spans gets an edge index of its own, which no span owns.
    edges: list[datetime] = []
    owner: dict[int, int] = {}
    for i, (_, start, stop) in sorted(enumerate(spans), key=lambda item: item[1][1]):
        if not edges or edges[-1] != start:
            edges.append(start)
        edges.append(stop)
        owner[len(edges) - 1] = i
    bucket = index_before(m.created_at, edges)
    inside = _within(m.created_at, MetricWindow(start=min(s for _, s, _ in spans), end=max(e for _, _, e in spans)))
    routing = {owner[g]: row for g, row in _percentiles_by(m.routing_speed_seconds, bucket, inside).items()
               if g in owner}
    estimates = {owner[g]: row for g, row in _percentiles_by(m.estimated_completion_hours, bucket, inside).items()
                 if g in owner}
    result = {}
    for i, (day, _, _) in enumerate(spans):
        r_count, r50, r95, _ = routing.get(i, (0, None, None, None))
        e_count, e50, e95, _ = estimates.get(i, (0, None, None, None))
        result[day] = DayTrend(day=day, assignments=r_count, routing_p50_seconds=_float(r50),
                               routing_p95_seconds=_float(r95), estimates=e_count,
                               completion_p50_hours=_float(e50), completion_p95_hours=_float(e95))
    return result


def _keep_trend_days(zone: str, spans: list[tuple[date, datetime, datetime]], figures: dict[date, DayTrend]) -> None:
    """Write the finished days' rows in their own transaction (joining the caller's, if any).

    Two readers may compute the same day at once: the second insert of a day is ignored
    (ON CONFLICT DO NOTHING on both databases), its figures being the same.
    """
    from app.services.transaction import transaction

    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    rows = [{"zone": zone, "day": day, "starts_at": start, "ends_at": stop, "computed_at": now,
             **{k: v for k, v in asdict(figures[day]).items() if k != "day"}} for day, start, stop in spans]
    with transaction():
        db.session.execute(insert(DailyTrend).values(rows).on_conflict_do_nothing())


def forget_trend_days(session, instants: list[datetime]) -> None:
    """Delete the kept days (of any zone) between the first and the last of ``instants``, in
    ``session``'s transaction: called by the session hooks when assignment records of those
    times are added, changed or removed. One statement; a day between two far-apart
    instants is forgotten too and merely computed again."""
    t = DailyTrend.__table__
    session.connection().execute(t.delete().where(t.c.starts_at <= max(instants), t.c.ends_at > min(instants)))
