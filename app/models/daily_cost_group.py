from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class DailyCostGroup(Base):
    """The cost estimates of one kept day's assignment records for one asset type, location and
    priority of their dispatches: how many records, their total and its parts.

    The ids are the dispatch's asset's type and the dispatch's location when the day was
    summed (None: none recorded), read with their names at query time, so a rename needs no
    new sum; the session hooks delete the day when a dispatch or asset changes what it groups
    by (``DailyRollup``). No foreign key to the asset types and locations: a group only names them.
    """

    __tablename__ = "daily_cost_groups"
    __table_args__ = (
        ForeignKeyConstraint(["zone", "day"], ["daily_rollups.zone", "daily_rollups.day"], ondelete="CASCADE"),
        Index("ix_daily_cost_groups_zone_day", "zone", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone: Mapped[str] = mapped_column(String(64))
    day: Mapped[date]
    asset_type_id: Mapped[int | None]
    location_id: Mapped[int | None]
    priority: Mapped[str] = mapped_column(String(20))
    assignments: Mapped[int]  # records with a cost estimate
    total_cost: Mapped[float]
    # The total's parts summed (analytics.CostRow): records written before the parts were
    # stored count in ``unsplit_cost``, so the four add up to ``total_cost``.
    labour_cost: Mapped[float] = mapped_column(default=0.0)
    overtime_cost: Mapped[float] = mapped_column(default=0.0)
    travel_cost: Mapped[float] = mapped_column(default=0.0)
    unsplit_cost: Mapped[float] = mapped_column(default=0.0)
