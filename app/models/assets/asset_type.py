from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.dispatching.detail_table_sets import AssetTypeDispatchDetailTableSet


class AssetType(UserCreatedBase, Base):
    """A kind of asset (Truck, Vehicle, Trailer ...); decides the checklists its dispatches get."""

    __tablename__ = "asset_types"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)
    # The skill a dispatch for this type needs unless the dispatch says otherwise.
    default_skill: Mapped[str | None] = mapped_column(String(100))

    # Backref from AssetTypeDispatchDetailTableSet.asset_type (Phase 3 data model).
    if TYPE_CHECKING:
        dispatch_detail_table_sets: list[AssetTypeDispatchDetailTableSet]

    def __repr__(self) -> str:
        return f"<AssetType {self.name}>"


# Unique whatever the case: "Refrigeration" and "refrigeration" are one name.
Index("uq_asset_types_lower_name", func.lower(AssetType.name), unique=True)
