"""Finished days kept ahead of their first reader.

``metrics.daily_trends`` and ``daily_rollups.cost_rows`` keep a finished local day the first
time a range needs it, so the first read of a year computes a year. ``warm`` asks both for the
last N finished days (``MOTORPOOL_WARM_DAYS``, default 400) the way a reader would: the days
already kept are read, the missing ones are computed once, by those same functions, and kept.
Nothing here computes a figure itself, so a warmed day is exactly the day a reader would have
kept. The scheduler runs it shortly after local midnight (job ``warm-days``) and at start-up;
``flask rollups warm`` and ``flask seed-demo`` run it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app.extensions import db
from app.models import DailyRollup, DailyTrend, utcnow
from app.services import local_time

#: The most days ``warm`` accepts: ten years.
MAX_DAYS = 3660


@dataclass(frozen=True)
class WarmResult:
    first: date
    last: date
    trend_days_kept: int  # written by this run
    cost_days_kept: int
    trend_days_missing: int  # still not kept afterwards (another writer held the database)
    cost_days_missing: int

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        text = (f"kept {self.trend_days_kept} trend days and {self.cost_days_kept} cost days "
                f"of the {self.days} finished days {self.first:%Y-%m-%d} to {self.last:%Y-%m-%d}")
        if self.trend_days_missing or self.cost_days_missing:
            text += (f"; {self.trend_days_missing} trend and {self.cost_days_missing} cost days not kept "
                     "(another writer held the database), the next run keeps them")
        return text


def check_days(value) -> int:
    """A number of days from 1 to ``MAX_DAYS``; ``ValueError`` says what to give."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ValueError(f"give the days to keep as a whole number from 1 to {MAX_DAYS}, not {value!r}")
    return value


def _kept(zone: str, first: date, last: date) -> tuple[int, int]:
    trends = db.session.scalar(select(func.count()).select_from(DailyTrend).where(
        DailyTrend.zone == zone, DailyTrend.day >= first, DailyTrend.day <= last)) or 0
    costs = db.session.scalar(select(func.count()).select_from(DailyRollup).where(
        DailyRollup.zone == zone, DailyRollup.day >= first, DailyRollup.day <= last)) or 0
    return trends, costs


def warm(days: int | None = None, *, now: datetime | None = None) -> WarmResult:
    """Keep every finished local day of the ``days`` before today (up to yesterday) that is not
    kept yet, for ``daily_trends`` and for the cost sums. A day kept already is only read:
    a second run writes nothing."""
    from app.services import daily_rollups, metrics

    days = check_days(current_app.config["MOTORPOOL_WARM_DAYS"] if days is None else days)
    zone = local_time.organisation_zone()
    now = now or utcnow()
    today = now.astimezone(zone).date()
    first, last = today - timedelta(days=days), today - timedelta(days=1)
    before = _kept(zone.key, first, last)
    # Up to today's midnight: today is the one unfinished day of the range, and it is empty.
    metrics.daily_trends(days + 1, end=local_time.start_of_day(today, zone))
    daily_rollups.cost_rows(first, last)
    db.session.expire_all()
    after = _kept(zone.key, first, last)
    return WarmResult(first, last, after[0] - before[0], after[1] - before[1], days - after[0], days - after[1])
