"""``/api/v1/make-models``: makes and models of assets, for admins, through
``app.services.assets``: a make/model pair unique whatever the case, its asset type fixed
once assets use it, no deactivating one that active assets are. Deactivated, never deleted.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.api import config_resources as config
from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.problems import refusals
from app.api.schemas import ONE_LINE, Id, PageQuerySchema, page_schema
from app.models import AssetType, MakeModel, Role
from app.services import assets as asset_service
from app.services.errors import ValidationError

blp = Blueprint("api_make_models", __name__, description="Makes and models (admins).")
URL_PREFIX = "/make-models"
ADMIN = Role.ADMIN.value


class TypeRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class MakeModelSchema(Schema):
    id = fields.Integer(required=True)
    make = fields.String(required=True)
    model = fields.String(required=True)
    asset_type = fields.Nested(TypeRefSchema, required=True)
    active = fields.Boolean(required=True)


class MakeModelCreateSchema(Schema):
    make = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"pattern": ONE_LINE})
    model = fields.String(required=True, validate=validate.Length(min=1, max=100), metadata={"pattern": ONE_LINE})
    asset_type_id = Id(required=True)


class MakeModelUpdateSchema(Schema):
    make = fields.String(validate=validate.Length(min=1, max=100), metadata={"pattern": ONE_LINE})
    model = fields.String(validate=validate.Length(min=1, max=100), metadata={"pattern": ONE_LINE})
    asset_type_id = Id()
    active = fields.Boolean(metadata={"description": "false deactivates (refused while active assets are this model)."})


MakeModelPageSchema = page_schema(MakeModelSchema, "MakeModelPage")


def dump(make_model: MakeModel) -> dict:
    return {"id": make_model.id, "make": make_model.make, "model": make_model.model,
            "asset_type": {"id": make_model.asset_type.id, "name": make_model.asset_type.name},
            "active": bool(make_model.is_active)}


def find(make_model_id: int) -> MakeModel:
    return config.find_or_404(MakeModel, make_model_id, "make/model")


def _asset_type(asset_type_id: int) -> AssetType:
    return config.reference(AssetType, asset_type_id, "asset type", "asset_type_id", "GET /api/v1/asset-types")


@blp.route("", methods=["GET"])
@require(ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, MakeModelPageSchema)
@refusals(blp, 401, 403, 422, 429)
def list_make_models(args):
    """Every make/model by make and model, active or not."""
    query = (select(MakeModel).options(joinedload(MakeModel.asset_type))
             .order_by(func.lower(MakeModel.make), func.lower(MakeModel.model), MakeModel.id))
    return config.list_answer(config.page_of(query, args), dump)


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(MakeModelCreateSchema)
@blp.response(201, MakeModelSchema, headers={"Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_make_model(args):
    asset_type = _asset_type(args["asset_type_id"])
    if not asset_type.is_active:
        raise ValidationError(f"The asset type {asset_type.name} is inactive; reactivate it first.",
                              field="asset_type_id")
    make_model = asset_service.create_make_model(args["make"], args["model"], asset_type)
    return dump(make_model), 201, {"Location": url_for("api_make_models.get_make_model", make_model_id=make_model.id)}


@blp.route("/<int:make_model_id>", methods=["GET"])
@require(ADMIN)
@blp.response(200, MakeModelSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_make_model(make_model_id):
    return config.answer(dump(find(make_model_id)))


@blp.route("/<int:make_model_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(MakeModelUpdateSchema)
@blp.response(200, MakeModelSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_make_model(args, make_model_id):
    """Change the make, model, asset type (not once assets use it) or ``active``."""
    make_model = find(make_model_id)
    return config.patch(make_model, args, dump=dump, what=f"make/model #{make_model.id}", change=_change,
                        set_active=asset_service.set_make_model_active)


def _change(make_model: MakeModel, args: dict) -> None:
    asset_type = _asset_type(args["asset_type_id"]) if "asset_type_id" in args else make_model.asset_type
    asset_service.update_make_model(make_model, make=args.get("make", make_model.make),
                                    model=args.get("model", make_model.model), asset_type=asset_type)
