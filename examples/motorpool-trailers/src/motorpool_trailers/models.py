from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models import DispatchDetailVirtual


class TrailerInspection(DispatchDetailVirtual):
    """Pre-coupling trailer inspection."""

    __tablename__ = "trailer_inspections"

    detail_type = "trailer_inspection"
    label = "Trailer inspection"

    coupling_checked: Mapped[bool] = mapped_column(default=False)
    landing_gear_checked: Mapped[bool] = mapped_column(default=False)
    air_lines_checked: Mapped[bool] = mapped_column(default=False)
    lights_checked: Mapped[bool] = mapped_column(default=False)
    tyres_checked: Mapped[bool] = mapped_column(default=False)
    inspection_notes: Mapped[str | None] = mapped_column(Text)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    completed_date: Mapped[datetime | None]
