from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.assets import Asset
    from app.models.dispatching.all_dispatch_details import AllDispatchDetail
    from app.models.dispatching.dispatch import Dispatch
    from app.models.user import User


class RepairCertification(StrEnum):
    REPAIRED = "repaired"
    NOT_NEEDED = "no repair needed"


class ChecklistDefect(UserCreatedBase, Base):
    """A defect found on one checklist item: a driver vehicle inspection report entry.

    As 49 CFR 396.11 asks, each defect has a description, the report is signed off by the
    person who made it (the checklist sign-off), and the asset stays out of service until a
    manager certifies that the defect was repaired or that no repair was needed. The
    reporter and report time are the audit columns (``created_by`` / ``created_at``).
    """

    __tablename__ = "checklist_defects"
    __table_args__ = (
        UniqueConstraint("detail_id", "item"),  # one defect per checklist item
        CheckConstraint(
            "certification IS NULL OR certification IN ('repaired', 'no repair needed')",
            name="certification_known",
        ),
        CheckConstraint(
            "(certification IS NULL AND certified_at IS NULL AND certified_by_id IS NULL) OR "
            "(certification IS NOT NULL AND certified_at IS NOT NULL AND certified_by_id IS NOT NULL)",
            name="certified_with_who_and_when",
        ),
    )

    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    detail_id: Mapped[int] = mapped_column(ForeignKey("all_dispatch_details.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    #: The checklist field the defect was found on, and its label at the time.
    item: Mapped[str] = mapped_column(String(100))
    item_label: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    #: The work order opened to repair it, when the checklist was signed off.
    repair_dispatch_id: Mapped[int | None] = mapped_column(ForeignKey("dispatches.id"), index=True)

    certification: Mapped[str | None] = mapped_column(String(20))
    certified_at: Mapped[datetime | None]
    certified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    certification_notes: Mapped[str | None] = mapped_column(Text)

    dispatch: Mapped[Dispatch] = relationship(foreign_keys=[dispatch_id])
    detail: Mapped[AllDispatchDetail] = relationship()
    asset: Mapped[Asset] = relationship()
    repair_dispatch: Mapped[Dispatch | None] = relationship(foreign_keys=[repair_dispatch_id])
    certified_by: Mapped[User | None] = relationship(foreign_keys=[certified_by_id])

    @property
    def is_open(self) -> bool:
        return self.certification is None

    def __repr__(self) -> str:
        return f"<ChecklistDefect {self.item} on asset #{self.asset_id}>"
