"""Sums of finished local days, kept so a long range need not read every record again.

What is kept: per finished local day (``MOTORPOOL_TIMEZONE``), the count and total cost
estimate of the day's assignment records (``dispatch_metrics``) and the total's parts (labour,
overtime, travel, and the cost of records written before the parts were stored: "not split")
per asset type, location and priority of their dispatch — the groups
``analytics.cost_breakdowns`` adds up. A year of a
million records becomes a few thousand sums.

Kept the way ``metrics.daily_trends`` keeps its days: a day that has ended (before now) is
summed the first time a range needs it, in one pass over the records of the days missing, and
its rows are written; the days after it — today — are always read from the records. The
session hooks (``app/services/session_hooks.py``) delete a kept day in the same transaction as
any change that would alter its sums: a record of that day added, changed or removed
(``forget_days``), a dispatch with records given another priority, location or asset
(``forget_dispatch_days``), an asset given another type or any ORM bulk statement on those
models (``forget_all``). Core statements on the bare tables are not seen; nothing writes those
columns that way.

The figures are those of the records: counts add up exactly; totals are added per day first,
which can change the last binary digits of a sum of floats, never its cents.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, literal, select

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    DailyCostGroup,
    DailyRollup,
    Dispatch,
    DispatchMetric,
    MajorLocation,
    utcnow,
)
from app.services import local_time

logger = logging.getLogger(__name__)

#: One row of ``cost_rows``: asset type id and name, location id and name, priority, records, total
#: cost, and its parts (``COST_PARTS``): labour, overtime, travel, not split.
CostRow = tuple[int | None, str | None, int | None, str | None, str, int, float, float, float, float, float]

#: The parts of a cost total, in ``CostRow`` order after the total.
COST_PARTS = ("labour", "overtime", "travel", "not_split")


def cost_sums(m=DispatchMetric) -> list:
    """SQL: the records' count, total cost and its parts (``CostRow`` from the count on).

    A record written before the parts were stored has none (NULL): its whole cost is "not
    split", so the four parts add up to the total. The one definition of the sums, for the
    kept days and for the records read directly (``analytics._cost_rows_from_records``).
    """
    unsplit = case((m.labour_cost.is_(None), m.operational_cost), else_=0.0)
    return [func.count(m.id), func.sum(m.operational_cost), func.coalesce(func.sum(m.labour_cost), 0.0),
            func.coalesce(func.sum(m.overtime_cost), 0.0), func.coalesce(func.sum(m.travel_cost), 0.0),
            func.sum(unsplit)]


def index_before(column, edges: Sequence[datetime]):
    """SQL: the index of the first of ``edges`` (ascending) that ``column`` is before;
    ``len(edges)`` when it is before none of them, or NULL.

    CASEs nested as a binary search: about nine comparisons a row for a year of days, where
    one CASE of 365 branches compares a row with half the edges on average. The same on
    SQLite and PostgreSQL.
    """
    def between(low: int, high: int):
        if low == high:
            return literal(low)
        middle = (low + high) // 2
        return case((column < edges[middle], between(low, middle)), else_=between(middle + 1, high))

    return between(0, len(edges))


def _day_spans(since: date, until: date) -> list[tuple[date, datetime, datetime]]:
    zone = local_time.organisation_zone()
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    bounds = [local_time.start_of_day(day, zone) for day in days]
    bounds.append(local_time.start_of_day(until + timedelta(days=1), zone))
    return [(day, bounds[i], bounds[i + 1]) for i, day in enumerate(days)]


def _groups_query(start: datetime, end: datetime, bucket=None):
    """The records made in [start, end) with a cost, counted and added up per asset type,
    location and priority of their dispatch (and per ``bucket``, a day index, when given):
    ``CostRow``s, after the bucket."""
    m, d = DispatchMetric, Dispatch
    keys = [Asset.asset_type_id, AssetType.name, d.dispatch_location_id, MajorLocation.name, d.priority]
    columns, groups = list(keys), list(keys)
    if bucket is not None:
        # Grouped by its label: PostgreSQL compares a repeated expression's parameters by position.
        columns.insert(0, bucket.label("bucket"))
        groups.insert(0, "bucket")
    return (
        select(*columns, *cost_sums(m))
        .select_from(m).join(d, d.id == m.dispatch_id).outerjoin(Asset, Asset.id == d.asset_id)
        .outerjoin(AssetType, AssetType.id == Asset.asset_type_id)
        .outerjoin(MajorLocation, MajorLocation.id == d.dispatch_location_id)
        .where(m.operational_cost.is_not(None), m.created_at >= start, m.created_at < end)
        .group_by(*groups)
    )


def cost_rows(since: date, until: date, *, location_id: int | None = None,
              asset_type_id: int | None = None) -> list[CostRow]:
    """The cost groups of the records made on the local days ``since`` to ``until``: rows per
    asset type, location and priority from the kept days, from the days just summed and from
    the days not yet finished (today), so the caller adds rows of the same group up.

    Two queries when every finished day is kept (which are, their groups), one more for today
    when the range holds it; the first read of unkept days adds the sum of their records and
    the write.
    """
    zone = local_time.organisation_zone()
    spans = _day_spans(since, until)
    now = utcnow()
    finished = [span for span in spans if span[2] <= now]
    live = [span for span in spans if span[2] > now]
    rows: list[CostRow] = []
    if finished:
        kept, summed = _kept_and_summed(zone.key, finished)
        if kept:
            g = DailyCostGroup
            narrowing = []
            if location_id is not None:
                narrowing.append(g.location_id == location_id)
            if asset_type_id is not None:
                narrowing.append(g.asset_type_id == asset_type_id)
            # The days kept when this read began, by name: a day another reader keeps meanwhile
            # is among ``summed`` already.
            rows += [tuple(row) for row in db.session.execute(
                select(g.asset_type_id, AssetType.name, g.location_id, MajorLocation.name, g.priority,
                       func.sum(g.assignments), func.sum(g.total_cost), func.sum(g.labour_cost),
                       func.sum(g.overtime_cost), func.sum(g.travel_cost), func.sum(g.unsplit_cost))
                .outerjoin(AssetType, AssetType.id == g.asset_type_id)
                .outerjoin(MajorLocation, MajorLocation.id == g.location_id)
                .where(g.zone == zone.key, g.day.in_(sorted(kept)), *narrowing)
                .group_by(g.asset_type_id, AssetType.name, g.location_id, MajorLocation.name, g.priority)
            )]
        rows += summed
    if live:
        rows += [tuple(row) for row in db.session.execute(_groups_query(live[0][1], live[-1][2]))]
    return [row for row in rows if (location_id is None or row[2] == location_id)
            and (asset_type_id is None or row[0] == asset_type_id)]


def _kept_and_summed(zone: str, spans: list[tuple[date, datetime, datetime]]) -> tuple[set[date], list[CostRow]]:
    """Which finished days of ``spans`` are kept, and the cost groups of those that are not,
    summed from their records now and written for the next read.

    The records of the stretch from the first missing day to the last are read once, put in
    their day by ``index_before`` over the days' ends. Two readers may sum the same day at once:
    only the one whose day row is written (ON CONFLICT DO NOTHING … RETURNING, both databases)
    writes its groups, which are the same. A write that loses to another writer (SQLite's lock)
    keeps nothing: this read has its figures all the same.
    """
    from app.services.errors import ConcurrentUpdate
    from app.services.transaction import transaction

    kept = set(db.session.scalars(select(DailyRollup.day).where(
        DailyRollup.zone == zone, DailyRollup.day >= spans[0][0], DailyRollup.day <= spans[-1][0])))
    missing = [span for span in spans if span[0] not in kept]
    if not missing:
        return kept, []
    first = spans.index(missing[0])
    last = spans.index(missing[-1])
    stretch = spans[first:last + 1]
    bucket = index_before(DispatchMetric.created_at, [stop for _, _, stop in stretch])
    wanted = {span[0] for span in missing}
    found = [(stretch[i][0], row) for i, *row in db.session.execute(_groups_query(stretch[0][1], stretch[-1][2], bucket))
             if i < len(stretch) and stretch[i][0] in wanted]
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    now = utcnow()
    try:
        with transaction():
            written = set(db.session.scalars(
                insert(DailyRollup)
                .values([{"zone": zone, "day": day, "starts_at": start, "ends_at": stop, "computed_at": now}
                         for day, start, stop in missing])
                .on_conflict_do_nothing()
                .returning(DailyRollup.day)
            ).all())
            groups = [{"zone": zone, "day": day, "asset_type_id": type_id, "location_id": location_id,
                       "priority": priority, "assignments": int(count), "total_cost": float(total or 0.0),
                       "labour_cost": float(labour or 0.0), "overtime_cost": float(overtime or 0.0),
                       "travel_cost": float(travel or 0.0), "unsplit_cost": float(unsplit or 0.0)}
                      for day, (type_id, _, location_id, _, priority, count, total, labour, overtime, travel,
                                unsplit) in found if day in written]
            if groups:
                db.session.execute(DailyCostGroup.__table__.insert(), groups)
    except ConcurrentUpdate:
        logger.info("cost sums of %d days not kept: another writer held the database", len(missing))
    return kept, [tuple(row) for _, row in found]


# --- Forgetting: called by the session hooks, in the changing session's transaction ----------


def forget_days(session, instants: list[datetime]) -> None:
    """Delete the kept days (of any zone) between the first and the last of ``instants``: the
    times of assignment records added, changed or removed. One statement; their groups go with
    them (ON DELETE CASCADE); a day between two far-apart instants is merely summed again."""
    t = DailyRollup.__table__
    session.connection().execute(t.delete().where(t.c.starts_at <= max(instants), t.c.ends_at > min(instants)))


def forget_dispatch_days(session, dispatch_ids: Sequence[int]) -> None:
    """Delete the kept days spanning the records of these dispatches (their priority, location
    or asset changed, so their records belong to another group). One statement."""
    t, m = DailyRollup.__table__, DispatchMetric.__table__
    mine = m.c.dispatch_id.in_(sorted(dispatch_ids))
    first = select(func.min(m.c.created_at)).where(mine).scalar_subquery()
    last = select(func.max(m.c.created_at)).where(mine).scalar_subquery()
    session.connection().execute(t.delete().where(and_(t.c.starts_at <= last, t.c.ends_at > first)))


def forget_all(session) -> None:
    """Delete every kept day: an asset's type changed, or a bulk statement wrote rows unseen."""
    session.connection().execute(DailyRollup.__table__.delete())
