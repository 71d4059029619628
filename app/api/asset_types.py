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

from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.paging import paged
from app.api.problems import refusals
from app.api.schemas import MULTILINE, ONE_LINE, PageQuerySchema, page_body, page_schema
from app.extensions import db
from app.models import AssetType, Role
from app.services import assets as asset_service
from app.services.errors import NotFound, ValidationError
from app.services.queries import Page

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
    asset_type = db.session.get(AssetType, asset_type_id)
    if asset_type is None:
        raise NotFound(f"There is no asset type #{asset_type_id}.")
    return asset_type


@blp.route("", methods=["GET"])
@require(ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, AssetTypePageSchema)
@refusals(blp, 401, 403, 422, 429)
def list_asset_types(args):
    """Every asset type by name, active or not."""
    total = db.session.scalar(select(func.count(AssetType.id))) or 0
    rows = db.session.scalars(select(AssetType).order_by(func.lower(AssetType.name), AssetType.id)
                              .limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])).all()
    page = Page(items=list(rows), page=args["page"], per_page=args["per_page"], total=total)
    return paged(page_body(page.items, page, [dump(t) for t in rows]), page)


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
    body = dump(find(asset_type_id))
    return body, 200, {"ETag": versions.etag(body)}


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
    if "active" in args and args.keys() - {"active"}:
        # Two services, two transactions: together, a refused second step would leave the first done.
        raise ValidationError("Send active on its own: change the other fields in one PATCH and active in "
                              "another.", field="active")
    versions.require_if_match(dump(asset_type), f"asset type #{asset_type.id}")
    if args.keys() - {"active"}:
        asset_service.update_asset_type(
            asset_type, name=args.get("name", asset_type.name),
            description=args.get("description", asset_type.description),
            default_skill=args.get("default_skill", asset_type.default_skill))
    if "active" in args and args["active"] != asset_type.is_active:
        asset_service.set_asset_type_active(asset_type, args["active"])
    body = dump(asset_type)
    return body, 200, {"ETag": versions.etag(body)}
