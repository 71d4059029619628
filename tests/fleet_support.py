"""Helpers for the fleet set-up tests: a snapshot of every fleet table, to prove nothing changed."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    AssetTypeDispatchDetailTableSet,
    MajorLocation,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
)

FLEET_COLUMNS = {
    MajorLocation: ("name", "address", "latitude", "longitude", "is_active"),
    AssetType: ("name", "description", "default_skill", "is_active"),
    MakeModel: ("make", "model", "asset_type_id", "is_active"),
    Asset: ("asset_tag", "name", "asset_type_id", "make_model_id", "major_location_id", "odometer", "is_active"),
    AssetTypeDispatchDetailTableSet: ("asset_type_id", "dispatch_detail_table_type", "is_active"),
    ModelAdditionalDispatchDetailTableSet: ("make_model_id", "dispatch_detail_table_type", "is_active"),
}


def fleet_snapshot() -> dict:
    """Every row of every fleet table, read fresh from the database."""
    db.session.expire_all()
    return {
        model.__tablename__: [tuple(row) for row in db.session.execute(
            select(model.id, *(getattr(model, column) for column in columns)).order_by(model.id))]
        for model, columns in FLEET_COLUMNS.items()
    }
