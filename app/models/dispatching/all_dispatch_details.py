from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.models.base import Base, UserCreatedBase
from app.models.dispatching.dispatch import Dispatch


class AllDispatchDetail(UserCreatedBase, Base):
    """Master row of every concrete dispatch detail row, naming the table it lives in.

    It also carries the row's label and sign-off (kept in step with the concrete row by the
    sign-off service and the flush hook), so a row whose plugin is disabled or uninstalled
    can still be shown and still stops its dispatch from being Completed while unsigned.
    """

    __tablename__ = "all_dispatch_details"

    table_name: Mapped[str] = mapped_column(String(100), index=True)
    dispatch_id: Mapped[int] = mapped_column(ForeignKey("dispatches.id"), index=True)
    #: The type's label when the row was created ("Trailer inspection"); NULL for older rows of unknown types.
    label: Mapped[str | None] = mapped_column(String(200))
    signed_off_at: Mapped[datetime | None]
    # A copy of the concrete row's signer, whose column holds the foreign key; none here, so
    # that SQLite can add and drop this column in place while detail tables point at this one.
    signed_off_by_id: Mapped[int | None]

    dispatch: Mapped[Dispatch] = relationship(
        backref=backref("all_details", order_by="AllDispatchDetail.id")
    )

    @property
    def display_label(self) -> str:
        return self.label or self.table_name

    def __repr__(self) -> str:
        return f"<AllDispatchDetail {self.table_name} dispatch={self.dispatch_id}>"
