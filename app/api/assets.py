"""``/api/v1/assets``: the asset register, through the admin pages' service (``app.services.assets``).

Admins list, create, change and deactivate assets with the admin page's rules: the tag unique
whatever the case, a make/model of the asset's own type, only active types, models and
locations for a new or changed reference, an odometer from 0 up to 1,000,000,000. Managers
read (they choose assets for new work orders); technicians get a 403. An asset's status (In
Service / Out of Service) is shown, not changed here: repair certification changes it.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api import config_resources as config
from app.api import versions
from app.api.auth import MANAGERS, require
from app.api.dispatches import guarded
from app.api.paging import PAGE_HEADERS
from app.api.problems import refusals
from app.api.schemas import Id, PageQuerySchema, page_schema
from app.models import Asset, AssetStatus, AssetType, MajorLocation, MakeModel, Role
from app.services import assets as asset_service

blp = Blueprint("api_assets", __name__, description="Assets (admins change, managers read).")
URL_PREFIX = "/assets"
ADMIN = Role.ADMIN.value
ODOMETER = validate.Range(0, 1e9, max_inclusive=False, error="The odometer reading must be a number from 0 up to "
                                                            "1,000,000,000.")


class NamedRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class ModelRefSchema(Schema):
    id = fields.Integer(required=True)
    make = fields.String(required=True)
    model = fields.String(required=True)


class AssetSchema(Schema):
    id = fields.Integer(required=True)
    asset_tag = fields.String(required=True)
    name = fields.String(required=True)
    asset_type = fields.Nested(NamedRefSchema, required=True)
    make_model = fields.Nested(ModelRefSchema, allow_none=True, required=True)
    major_location = fields.Nested(NamedRefSchema, allow_none=True, required=True)
    odometer = fields.Float(allow_none=True, required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in AssetStatus]),
                           metadata={"description": "Changed by repair certification, not by PATCH."})
    active = fields.Boolean(required=True)


class AssetCreateSchema(Schema):
    asset_tag = fields.String(required=True, validate=validate.Length(min=1, max=50),
                              metadata={"description": "Unique whatever the case."})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    asset_type_id = Id(required=True, metadata={"description": "An active asset type."})
    make_model_id = Id(allow_none=True, metadata={"description": "An active make/model of that type, or null."})
    major_location_id = Id(allow_none=True, metadata={"description": "An active location, or null."})
    odometer = fields.Float(allow_none=True, allow_nan=False, validate=ODOMETER)


class AssetUpdateSchema(AssetCreateSchema):
    asset_tag = fields.String(validate=validate.Length(min=1, max=50), metadata={"description": "Unique whatever the case."})
    name = fields.String(validate=validate.Length(min=1, max=200))
    asset_type_id = Id(metadata={"description": "An active asset type; the make/model must be of it."})
    active = fields.Boolean(metadata={"description": "false deactivates; true is refused while its type, model or "
                                                     "location is inactive."})


class AssetListQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Text in the tag or the name."})
    asset_type_id = Id(strict=False, metadata={"description": "Only assets of this type."})
    make_model_id = Id(strict=False, metadata={"description": "Only assets of this make/model."})
    major_location_id = Id(strict=False, metadata={"description": "Only assets based at this location."})
    active = fields.Boolean(metadata={"description": "true: active assets only, false: inactive only; left out: all."})


AssetPageSchema = page_schema(AssetSchema, "AssetPage")


def dump(asset: Asset) -> dict:
    model, location = asset.make_model, asset.major_location
    return {
        "id": asset.id, "asset_tag": asset.asset_tag, "name": asset.name,
        "asset_type": {"id": asset.asset_type.id, "name": asset.asset_type.name},
        "make_model": {"id": model.id, "make": model.make, "model": model.model} if model else None,
        "major_location": {"id": location.id, "name": location.name} if location else None,
        "odometer": asset.odometer, "status": asset.status, "active": bool(asset.is_active),
    }


def find(asset_id: int) -> Asset:
    return config.find_or_404(Asset, asset_id, "asset")


def _asset_type(asset_type_id: int | None) -> AssetType | None:
    return config.reference(AssetType, asset_type_id, "asset type", "asset_type_id", "GET /api/v1/asset-types")


def _make_model(make_model_id: int | None) -> MakeModel | None:
    return config.reference(MakeModel, make_model_id, "make/model", "make_model_id", "GET /api/v1/make-models")


def _location(location_id: int | None) -> MajorLocation | None:
    return config.reference(MajorLocation, location_id, "location", "major_location_id", "GET /api/v1/locations")


@blp.route("", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(AssetListQuerySchema, location="query")
@blp.response(200, AssetPageSchema, headers=PAGE_HEADERS)
@refusals(blp, 400, 401, 403, 422, 429)
def list_assets(args):
    """The register by tag, with the admin list's filters; an unknown id in a filter is a 422."""
    _asset_type(args.get("asset_type_id"))
    _make_model(args.get("make_model_id"))
    _location(args.get("major_location_id"))
    show = {True: "active", False: "inactive"}.get(args.get("active"), "all")
    page = asset_service.asset_page(
        q=args.get("q", ""), asset_type_id=args.get("asset_type_id"), make_model_id=args.get("make_model_id"),
        location_id=args.get("major_location_id"), show=show, page=args["page"], per_page=args["per_page"],
        clamp=False)
    return config.list_answer(page, dump)


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(AssetCreateSchema)
@blp.response(201, AssetSchema, headers={"Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_asset(args):
    """A new asset; it starts In Service."""
    asset = asset_service.create_asset(
        asset_tag=args["asset_tag"], name=args["name"], asset_type=_asset_type(args["asset_type_id"]),
        make_model=_make_model(args.get("make_model_id")), location=_location(args.get("major_location_id")),
        odometer=args.get("odometer"))
    return dump(asset), 201, {"Location": url_for("api_assets.get_asset", asset_id=asset.id)}


@blp.route("/<int:asset_id>", methods=["GET"])
@require(*MANAGERS)
@blp.response(200, AssetSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_asset(asset_id):
    return config.answer(dump(find(asset_id)))


@blp.route("/<int:asset_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(AssetUpdateSchema)
@blp.response(200, AssetSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_asset(args, asset_id):
    """Change the tag, name, type, make/model, location, odometer, or ``active``; fields left out keep
    their value, null clears the make/model, the location or the odometer."""
    asset = find(asset_id)
    return config.patch(asset, args, dump=dump, what=f"asset #{asset.id}", change=_change,
                        set_active=asset_service.set_asset_active)


def _change(asset: Asset, args: dict) -> None:
    asset_service.update_asset(
        asset, asset_tag=args.get("asset_tag", asset.asset_tag), name=args.get("name", asset.name),
        asset_type=_asset_type(args["asset_type_id"]) if "asset_type_id" in args else asset.asset_type,
        make_model=_make_model(args["make_model_id"]) if "make_model_id" in args else asset.make_model,
        location=_location(args["major_location_id"]) if "major_location_id" in args else asset.major_location,
        odometer=args.get("odometer", asset.odometer))
