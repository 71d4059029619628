from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class DailyTrend(Base):
    """The trends figures of one finished local day, kept so the dashboard need not re-rank its records.

    Written by ``metrics.daily_trends`` the first time it needs a day that has ended, read
    afterwards; deleted (and so computed again on the next read) by the session hooks in the
    same transaction as any assignment record of that day that is added, changed or removed
    (docs/decisions.md, "Daily trends roll-up"). One row per zone and day: the day's
    bounds depend on the organisation's zone, so a changed ``MOTORPOOL_TIMEZONE`` reads its own rows.
    """

    __tablename__ = "daily_trends"
    # The hooks find the rows an instant falls in by the day's UTC bounds.
    __table_args__ = (Index("ix_daily_trends_starts_at_ends_at", "starts_at", "ends_at"),)

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime]  # local midnight in UTC, inclusive
    ends_at: Mapped[datetime]  # the next local midnight in UTC, exclusive
    assignments: Mapped[int]
    routing_p50_seconds: Mapped[float | None]
    routing_p95_seconds: Mapped[float | None]
    estimates: Mapped[int]
    completion_p50_hours: Mapped[float | None]
    completion_p95_hours: Mapped[float | None]
    computed_at: Mapped[datetime]
