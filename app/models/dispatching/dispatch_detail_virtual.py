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

    It is made known to Motorpool by a plugin's ``motorpool_dispatch_detail_types`` hook,
    which is how the built-in types are registered too.
    """

    __abstract__ = True

    detail_type: ClassVar[str]
    label: ClassVar[str]

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
