from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class DailyRollup(Base):
    """One finished local day whose assignment records are kept summed (its ``DailyCostGroup`` rows).

    Written by ``daily_rollups.cost_rows`` the first time a range needs a day that has ended;
    deleted — its groups with it (``ON DELETE CASCADE``) — by the session hooks in the same
    transaction as any change that would alter the day's sums: an assignment record of the day
    added, changed or removed, a dispatch of those records given another priority, location or
    asset, an asset given another type (docs/decisions.md, "Daily cost roll-up"). A day with
    no records has a row and no groups, so "kept and empty" differs from "not kept". One row
    per zone and day, as ``daily_trends``: the day's bounds depend on the organisation's zone.
    """

    __tablename__ = "daily_rollups"
    # The hooks find the rows an instant falls in by the day's UTC bounds.
    __table_args__ = (Index("ix_daily_rollups_starts_at_ends_at", "starts_at", "ends_at"),)

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime]  # local midnight in UTC, inclusive
    ends_at: Mapped[datetime]  # the next local midnight in UTC, exclusive
    computed_at: Mapped[datetime]
