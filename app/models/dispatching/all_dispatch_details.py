from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.models.base import Base, UserCreatedBase
from app.models.dispatching.dispatch import Dispatch


class AllDispatchDetail(UserCreatedBase, Base):
    """Master row of every concrete dispatch detail row, naming the table it lives in."""

    __tablename__ = "all_dispatch_details"

    table_name: Mapped[str] = mapped_column(String(100), index=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)

    dispatch: Mapped[Dispatch] = relationship(
        backref=backref("all_details", order_by="AllDispatchDetail.id")
    )

    def __repr__(self) -> str:
        return f"<AllDispatchDetail {self.table_name} dispatch={self.dispatch_id}>"
