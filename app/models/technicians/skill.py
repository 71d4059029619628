from __future__ import annotations

from sqlalchemy import Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase


class Skill(UserCreatedBase, Base):
    """A trade skill (e.g. "diesel engines"); skills in one category earn partial credit for each other."""

    __tablename__ = "skills"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    category: Mapped[str] = mapped_column(String(100), index=True)

    def __repr__(self) -> str:
        return f"<Skill {self.name} ({self.category})>"


# Unique whatever the case: "Refrigeration" and "refrigeration" are one name.
Index("uq_skills_lower_name", func.lower(Skill.name), unique=True)
