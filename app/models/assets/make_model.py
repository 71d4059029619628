from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UserCreatedBase

if TYPE_CHECKING:
    from app.models.assets.asset_type import AssetType
    from app.models.dispatching.detail_table_sets import ModelAdditionalDispatchDetailTableSet


class MakeModel(UserCreatedBase, Base):
    """A make and model of a given asset type; may add checklists beyond the type's own."""

    __tablename__ = "make_models"
    __table_args__ = (UniqueConstraint("make", "model"),)

    make: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    asset_type_id: Mapped[int] = mapped_column(ForeignKey("asset_types.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)

    asset_type: Mapped[AssetType] = relationship()

    # Backref from ModelAdditionalDispatchDetailTableSet.make_model (Phase 3 data model).
    if TYPE_CHECKING:
        additional_dispatch_detail_table_sets: list[ModelAdditionalDispatchDetailTableSet]

    @property
    def display_name(self) -> str:
        return f"{self.make} {self.model}"

    def __repr__(self) -> str:
        return f"<MakeModel {self.make} {self.model}>"


# Unique whatever the case: "Refrigeration" and "refrigeration" are one name.
Index("uq_make_models_lower_make_model", func.lower(MakeModel.make), func.lower(MakeModel.model), unique=True)
