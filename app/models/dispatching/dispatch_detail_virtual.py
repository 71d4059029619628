from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.dispatching.all_dispatch_details import AllDispatchDetail
    from app.models.dispatching.dispatch import Dispatch


class DispatchDetailVirtual(UserCreatedBase, Base):
    """Base class of every dispatch detail (checklist) table.

    A concrete subclass names its table and declares two class attributes:

    - ``detail_type``: the key stored in the detail table sets, e.g. ``"truck_checklist"``;
    - ``label``: what people see, e.g. ``"Truck dispatch checklist"``.

    Sign-off is recorded in ``completed_by_id`` / ``completed_date`` unless the subclass
    names other columns in ``signed_off_by_column`` / ``signed_off_at_column``.

    ``checklist_fields`` (a tuple of ``app.checklists.ChecklistField``) describes the form
    technicians fill in: labels, groups, field kinds, required items and ranges. When a
    subclass leaves it empty the form is derived from its columns.

    It is made known to Motorpool by a plugin's ``motorpool_dispatch_detail_types`` hook,
    which is how the built-in types are registered too.
    """

    __abstract__ = True

    detail_type: ClassVar[str]
    label: ClassVar[str]
    #: Columns recording who signed the row off and when (a subclass may name its own).
    signed_off_by_column: ClassVar[str] = "completed_by_id"
    signed_off_at_column: ClassVar[str] = "completed_date"
    #: The questions of the checklist; empty means "derive them from the columns".
    checklist_fields: ClassVar[tuple] = ()

    @property
    def is_signed_off(self) -> bool:
        return getattr(self, self.signed_off_at_column, None) is not None

    # Common field for all dispatch detail tables
    @declared_attr
    def dispatch_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("dispatches.id"), index=True)

    # Foreign key to the master table; one concrete row per master row.
    @declared_attr
    def detail_id(cls) -> Mapped[int]:
        return mapped_column(ForeignKey("all_dispatch_details.id"), unique=True)

    @declared_attr
    def detail(cls) -> Mapped[AllDispatchDetail]:
        backref_name = f"{cls.__name__.lower()}_records"
        return relationship("AllDispatchDetail", backref=backref_name)

    @declared_attr
    def dispatch(cls) -> Mapped[Dispatch]:
        backref_name = f"{cls.__name__.lower()}_details"
        return relationship("Dispatch", backref=backref_name)
