from __future__ import annotations

from datetime import datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.technicians.technician_skill import TechnicianSkill
    from app.models.user import User


class Availability(StrEnum):
    AVAILABLE = "Available"
    UNAVAILABLE = "Unavailable"


class TechnicianProfile(UserCreatedBase, Base):
    """What the matching engine knows about a technician: skills, place, cost, shift, limits.

    ``active_dispatch_count`` is kept by the assignment service (incremented by an atomic
    conditional UPDATE when a dispatch is claimed, decremented when it ends) so that capacity
    holds under concurrent assignment without locking the dispatches table. The completion
    counters feed the historical-performance factor without scanning all past dispatches.
    """

    __tablename__ = "technician_profiles"
    __table_args__ = (
        CheckConstraint("availability IN ('Available', 'Unavailable')", name="availability_known"),
        CheckConstraint("max_concurrent_dispatches >= 1", name="max_concurrent_positive"),
        CheckConstraint("active_dispatch_count >= 0", name="active_count_not_negative"),
        CheckConstraint("active_dispatch_count <= max_concurrent_dispatches", name="within_capacity"),
        CheckConstraint("hourly_rate >= 0", name="hourly_rate_not_negative"),
        CheckConstraint("overtime_multiplier >= 1", name="overtime_multiplier_at_least_one"),
        CheckConstraint("max_hours_per_week > 0", name="max_hours_positive"),
        # Each ranking reads the profiles whose counters changed since its last read
        # (app/services/candidate_pool.py); every write stamps updated_at.
        Index("ix_technician_profiles_updated_at", "updated_at"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    home_latitude: Mapped[float | None]
    home_longitude: Mapped[float | None]
    current_latitude: Mapped[float | None]
    current_longitude: Mapped[float | None]
    hourly_rate: Mapped[float] = mapped_column(default=40.0)
    overtime_multiplier: Mapped[float] = mapped_column(default=1.5)
    # ISO weekdays worked, "1234567" = Monday..Sunday, and shift times: both are the
    # technician's wall clock in their own zone (users.time_zone, else the organisation's),
    # so a 07:00–17:00 shift stays 07:00–17:00 across daylight-saving changes.
    shift_days: Mapped[str] = mapped_column(String(7), default="12345")
    shift_start: Mapped[time] = mapped_column(default=time(7, 0))
    shift_end: Mapped[time] = mapped_column(default=time(17, 0))
    max_concurrent_dispatches: Mapped[int] = mapped_column(default=3)
    max_hours_per_week: Mapped[float] = mapped_column(default=40.0)
    availability: Mapped[str] = mapped_column(String(20), default=Availability.AVAILABLE.value, index=True)
    unavailable_reason: Mapped[str | None] = mapped_column(Text, info={"max_length": 500, "label": "The reason"})
    unavailable_until: Mapped[datetime | None]

    active_dispatch_count: Mapped[int] = mapped_column(default=0)
    completed_count: Mapped[int] = mapped_column(default=0)
    on_time_count: Mapped[int] = mapped_column(default=0)
    first_time_fix_count: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    skills: Mapped[list[TechnicianSkill]] = relationship(back_populates="profile", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<TechnicianProfile user={self.user_id}>"
