from __future__ import annotations

from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class DispatchNumberSequence(Base):
    """The last dispatch number handed out in a year (``D-2026-000123`` is number 123).

    Numbers are reserved with one atomic upsert per flush, so concurrent workers never
    hand out the same number and bulk creation reserves a whole block at once.
    """

    __tablename__ = "dispatch_number_sequences"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)
