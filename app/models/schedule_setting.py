from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase
from app.models.user import User


class ScheduleSetting(UserCreatedBase, Base):
    """An admin's change to one job's schedule; a job without a row follows the configuration.

    An interval job keeps ``interval_minutes``; a daily job ``time_of_day`` ("HH:MM", local
    to ``MOTORPOOL_TIMEZONE``); a weekly one also ``weekday`` (0 = Monday). ``updated_by``
    and ``updated_at`` say who changed it and when.
    """

    __tablename__ = "schedule_settings"
    __table_args__ = (
        CheckConstraint("interval_minutes IS NULL OR (interval_minutes BETWEEN 1 AND 1440)",
                        name="interval_range"),
        CheckConstraint("weekday IS NULL OR (weekday BETWEEN 0 AND 6)", name="weekday_range"),
        CheckConstraint("(interval_minutes IS NULL) <> (time_of_day IS NULL)", name="one_kind"),
    )

    job: Mapped[str] = mapped_column(String(64), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    interval_minutes: Mapped[int | None] = mapped_column(Integer)
    time_of_day: Mapped[str | None] = mapped_column(String(5))
    weekday: Mapped[int | None] = mapped_column(Integer)

    updated_by: Mapped[User | None] = relationship(foreign_keys="ScheduleSetting.updated_by_id")

    def __repr__(self) -> str:
        return f"<ScheduleSetting {self.job}>"
