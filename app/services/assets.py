"""The asset register: types, makes/models, locations and assets, with validated input."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Asset, AssetStatus, AssetType, MajorLocation, MakeModel
from app.services.errors import ValidationError
from app.services.transaction import transaction


def _required(value: str | None, field: str, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{what} is required.", field=field)
    return value


def _unique(model: type, column, value, field: str, message: str) -> None:
    if db.session.scalar(select(func.count()).select_from(model).where(column == value)):
        raise ValidationError(message, field=field)


def create_asset_type(name: str, description: str | None = None) -> AssetType:
    name = _required(name, "name", "A name")
    _unique(AssetType, AssetType.name, name, "name", f"An asset type named {name!r} already exists.")
    with transaction():
        asset_type = AssetType(name=name, description=(description or "").strip() or None)
        db.session.add(asset_type)
    return asset_type


def create_make_model(make: str, model: str, asset_type: AssetType) -> MakeModel:
    make = _required(make, "make", "A make")
    model = _required(model, "model", "A model")
    if db.session.scalar(
        select(func.count()).select_from(MakeModel).where(MakeModel.make == make, MakeModel.model == model)
    ):
        raise ValidationError(f"{make} {model} already exists.", field="model")
    with transaction():
        make_model = MakeModel(make=make, model=model, asset_type=asset_type)
        db.session.add(make_model)
    return make_model


def create_location(
    name: str, address: str | None = None, latitude: float | None = None, longitude: float | None = None
) -> MajorLocation:
    name = _required(name, "name", "A name")
    if latitude is not None and not -90 <= latitude <= 90:
        raise ValidationError(f"Latitude {latitude} is outside -90 to 90.", field="latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        raise ValidationError(f"Longitude {longitude} is outside -180 to 180.", field="longitude")
    _unique(MajorLocation, MajorLocation.name, name, "name", f"A location named {name!r} already exists.")
    with transaction():
        location = MajorLocation(name=name, address=address, latitude=latitude, longitude=longitude)
        db.session.add(location)
    return location


def create_asset(
    *,
    asset_tag: str,
    name: str,
    asset_type: AssetType,
    make_model: MakeModel | None = None,
    location: MajorLocation | None = None,
    odometer: float | None = None,
) -> Asset:
    asset_tag = _required(asset_tag, "asset_tag", "An asset tag")
    name = _required(name, "name", "A name")
    if make_model is not None and make_model.asset_type_id != asset_type.id:
        raise ValidationError(
            f"{make_model.display_name} is a {make_model.asset_type.name} model, not a {asset_type.name}; "
            "choose a model of the asset's type.",
            field="make_model_id",
        )
    if odometer is not None and odometer < 0:
        raise ValidationError("The odometer reading cannot be negative.", field="odometer")
    _unique(Asset, Asset.asset_tag, asset_tag, "asset_tag", f"An asset tagged {asset_tag!r} already exists.")
    with transaction():
        asset = Asset(
            asset_tag=asset_tag,
            name=name,
            asset_type=asset_type,
            make_model=make_model,
            major_location=location,
            odometer=odometer,
            status=AssetStatus.IN_SERVICE.value,
        )
        db.session.add(asset)
    return asset
