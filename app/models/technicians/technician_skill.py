from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.technicians.skill import Skill
    from app.models.technicians.technician_profile import TechnicianProfile


class TechnicianSkill(UserCreatedBase, Base):
    """How well (level 1–5) a technician masters a skill."""

    __tablename__ = "technician_skills"
    __table_args__ = (
        UniqueConstraint("technician_profile_id", "skill_id"),
        CheckConstraint("level >= 1 AND level <= 5", name="level_range"),
    )

    technician_profile_id: Mapped[int] = mapped_column(ForeignKey("technician_profiles.id"), index=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), index=True)
    level: Mapped[int]

    profile: Mapped[TechnicianProfile] = relationship(back_populates="skills")
    skill: Mapped[Skill] = relationship()
