from __future__ import annotations

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base

#: The one row's id.
POOL_VERSION_ID = 1


class PoolVersion(Base):
    """A counter raised in every transaction that changes the slowly-changing candidate pool.

    Each process keeps the technicians' places, rates, shifts, skills and names in memory
    (``app.services.candidate_pool``) and compares this one number before each ranking: a
    change committed by any process is seen by the next ranking everywhere. It is raised by
    the session hooks (``app.services.session_hooks``) when a user, technician profile,
    technician skill or skill changes, so plain ORM writes count too.
    """

    __tablename__ = "pool_version"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(default=0)
