"""``/api/v1/asset-types``: asset types, for admins, through the admin pages' service
(``app.services.assets``): names unique whatever the case, a known default skill, and no
deactivating a type that still has active assets or make/models. Types are deactivated,
never deleted (dispatches and checklists refer to them), as on the admin page.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from app.api import config_resources as config
from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.problems import refusals
from app.api.schemas import MULTILINE, ONE_LINE, PageQuerySchema, page_schema
from app.models import AssetType, Role
from app.services import assets as asset_service

blp = Blueprint("api_asset_types", __name__, description="Asset types (admins).")
URL_PREFIX = "/asset-types"
ADMIN = Role.ADMIN.value


class AssetTypeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    default_skill = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)


class AssetTypeCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"pattern": ONE_LINE})
    description = fields.String(allow_none=True, validate=validate.Length(max=2000), metadata={"pattern": MULTILINE})
    default_skill = fields.String(allow_none=True, validate=validate.Length(max=100),
                                  metadata={"description": "The name of a skill, or null.", "pattern": ONE_LINE})


class AssetTypeUpdateSchema(AssetTypeCreateSchema):
    name = fields.String(validate=validate.Length(min=1, max=100), metadata={"pattern": ONE_LINE})
    active = fields.Boolean(metadata={"description": "false deactivates (refused while it has active assets)."})


AssetTypePageSchema = page_schema(AssetTypeSchema, "AssetTypePage")


def dump(asset_type: AssetType) -> dict:
    return {"id": asset_type.id, "name": asset_type.name, "description": asset_type.description,
            "default_skill": asset_type.default_skill, "active": bool(asset_type.is_active)}


def find(asset_type_id: int) -> AssetType:
    return config.find_or_404(AssetType, asset_type_id, "asset type")


@blp.route("", methods=["GET"])
@require(ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, AssetTypePageSchema)
@refusals(blp, 401, 403, 422, 429)
def list_asset_types(args):
    """Every asset type by name, active or not."""
    query = select(AssetType).order_by(func.lower(AssetType.name), AssetType.id)
    return config.list_answer(config.page_of(query, args), dump)


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(AssetTypeCreateSchema)
@blp.response(201, AssetTypeSchema, headers={"Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_asset_type(args):
    """A new asset type (the name unique whatever the case)."""
    asset_type = asset_service.create_asset_type(args["name"], args.get("description"), args.get("default_skill"))
    return dump(asset_type), 201, {"Location": url_for("api_asset_types.get_asset_type", asset_type_id=asset_type.id)}


@blp.route("/<int:asset_type_id>", methods=["GET"])
@require(ADMIN)
@blp.response(200, AssetTypeSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_asset_type(asset_type_id):
    return config.answer(dump(find(asset_type_id)))


@blp.route("/<int:asset_type_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(AssetTypeUpdateSchema)
@blp.response(200, AssetTypeSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_asset_type(args, asset_type_id):
    """Change the name, description, default skill, or ``active``; fields left out keep their value."""
    asset_type = find(asset_type_id)
    return config.patch(asset_type, args, dump=dump, what=f"asset type #{asset_type.id}", change=_change,
                        set_active=asset_service.set_asset_type_active)


def _change(asset_type: AssetType, args: dict) -> None:
    asset_service.update_asset_type(
        asset_type, name=args.get("name", asset_type.name),
        description=args.get("description", asset_type.description),
        default_skill=args.get("default_skill", asset_type.default_skill))
