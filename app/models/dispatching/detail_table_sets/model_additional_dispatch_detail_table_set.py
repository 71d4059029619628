from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.models.assets import MakeModel
from app.models.base import Base, UserCreatedBase


class ModelAdditionalDispatchDetailTableSet(UserCreatedBase, Base):
    """A dispatch detail type a make/model gets on top of its asset type's set."""

    __tablename__ = "model_additional_dispatch_detail_table_sets"
    __table_args__ = (UniqueConstraint("make_model_id", "dispatch_detail_table_type"),)

    make_model_id: Mapped[int] = mapped_column(ForeignKey("make_models.id"), index=True)
    dispatch_detail_table_type: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)

    make_model: Mapped[MakeModel] = relationship(
        backref=backref(
            "additional_dispatch_detail_table_sets",
            order_by="ModelAdditionalDispatchDetailTableSet.id",
        )
    )

    def __repr__(self) -> str:
        return f"<ModelAdditionalDispatchDetailTableSet {self.make_model_id} {self.dispatch_detail_table_type}>"
