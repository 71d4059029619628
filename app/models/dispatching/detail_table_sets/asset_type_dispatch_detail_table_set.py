from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.models.assets import AssetType
from app.models.base import Base, UserCreatedBase


class AssetTypeDispatchDetailTableSet(UserCreatedBase, Base):
    """Which dispatch detail type (checklist) every dispatch for an asset type gets."""

    __tablename__ = "asset_type_dispatch_detail_table_sets"
    __table_args__ = (UniqueConstraint("asset_type_id", "dispatch_detail_table_type"),)

    asset_type_id: Mapped[int] = mapped_column(ForeignKey("asset_types.id"), index=True)
    # A key of the detail type registry, e.g. 'vehicle_dispatch', 'truck_checklist'
    dispatch_detail_table_type: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)

    asset_type: Mapped[AssetType] = relationship(
        backref=backref("dispatch_detail_table_sets", order_by="AssetTypeDispatchDetailTableSet.id")
    )

    def __repr__(self) -> str:
        return f"<AssetTypeDispatchDetailTableSet {self.asset_type_id} {self.dispatch_detail_table_type}>"
