"""Detail sets: which checklists (detail types) an asset type gives, and what a make/model adds.

``/api/v1/asset-types/{id}/detail-types`` and ``/api/v1/make-models/{id}/detail-types``, for
admins, through ``app.services.detail_sets`` as the admin page: only a type a loaded plugin
registers (a plugin's type with no code here), each type once per set, and active on/off.
Every answer is the set in configuration order, with ``planned``: the keys a new dispatch
gets (for a make/model, its type's active keys, then its own additions, each once). The set's
``ETag`` is a digest of that answer; a PATCH or DELETE needs it in ``If-Match``.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api import config_resources as config
from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.problems import refusals
from app.models import AssetType, MakeModel, Role
from app.models.dispatching.build import detail_types
from app.services import detail_sets as service

blp = Blueprint("api_detail_sets", __name__,
                description="Detail sets: the checklists an asset type or a make/model gives (admins).")
URL_PREFIX = ""
ADMIN = Role.ADMIN.value
SET_ETAG = versions.etag_header("the detail set")
SET_IF_MATCH = versions.if_match_parameter("the detail set")


class SetEntrySchema(Schema):
    key = fields.String(required=True)
    label = fields.String(allow_none=True, required=True, metadata={"description": "null when its plugin is not loaded."})
    plugin = fields.String(allow_none=True, required=True)
    active = fields.Boolean(required=True)
    loaded = fields.Boolean(required=True, metadata={"description": "false: no enabled plugin provides it."})


class DetailSetSchema(Schema):
    items = fields.List(fields.Nested(SetEntrySchema), required=True,
                        metadata={"description": "The set, in the order it was configured."})
    planned = fields.List(fields.String(), required=True,
                          metadata={"description": "The keys a new dispatch gets, in order."})


class SetAddSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=100),
                        metadata={"description": "A detail type's key (GET /api/v1/detail-types lists them)."})


class SetEntryUpdateSchema(Schema):
    active = fields.Boolean(required=True, metadata={"description": "false: new dispatches no longer get it."})


def _set(owner) -> dict:
    registry = detail_types()
    items = []
    for row in service.rows_of(owner):
        detail_type = registry.get(row.dispatch_detail_table_type)
        items.append({"key": row.dispatch_detail_table_type, "label": detail_type.label if detail_type else None,
                      "plugin": detail_type.plugin if detail_type else None, "active": bool(row.is_active),
                      "loaded": detail_type is not None})
    return {"items": items, "planned": service.planned_keys(owner)}


def _what(owner) -> str:
    return f"the detail set of {'asset type' if isinstance(owner, AssetType) else 'make/model'} #{owner.id}"


def _read(owner):
    return config.answer(_set(owner))


def _add(owner, args):
    service.add_new_to_set(owner, args["key"])
    return config.answer(_set(owner), 201)


def _change(owner, key, args):
    versions.require_if_match(_set(owner), _what(owner))
    service.set_table_set_active(service.row_for_key(owner, key), args["active"])
    return config.answer(_set(owner))


def _remove(owner, key):
    versions.require_if_match(_set(owner), _what(owner))
    service.remove_table_set(service.row_for_key(owner, key))
    return config.answer(_set(owner))


def _asset_type(asset_type_id: int) -> AssetType:
    return config.find_or_404(AssetType, asset_type_id, "asset type")


def _make_model(make_model_id: int) -> MakeModel:
    return config.find_or_404(MakeModel, make_model_id, "make/model")


# --- Asset types -------------------------------------------------------------------------

TYPE_SET = "/asset-types/<int:asset_type_id>/detail-types"


@blp.route(TYPE_SET, methods=["GET"])
@require(ADMIN)
@blp.response(200, DetailSetSchema, headers=SET_ETAG)
@refusals(blp, 401, 403, 404, 429)
def get_asset_type_set(asset_type_id):
    """The detail types every dispatch for an asset of this type gets."""
    return _read(_asset_type(asset_type_id))


@blp.route(TYPE_SET, methods=["POST"])
@require(ADMIN)
@blp.arguments(SetAddSchema)
@blp.response(201, DetailSetSchema, headers=SET_ETAG)
@refusals(blp, 400, 401, 403, 404, 415, 422, 429)
def add_to_asset_type_set(args, asset_type_id):
    """Add a registered detail type at the end of the set (a key already in it is a 422)."""
    return _add(_asset_type(asset_type_id), args)


@blp.route(TYPE_SET + "/<key>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(SetEntryUpdateSchema)
@blp.response(200, DetailSetSchema, headers=SET_ETAG)
@blp.doc(parameters=[SET_IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_asset_type_set_entry(args, asset_type_id, key):
    """Switch a type in the set on or off (on only while a loaded plugin provides it)."""
    return _change(_asset_type(asset_type_id), key, args)


@blp.route(TYPE_SET + "/<key>", methods=["DELETE"])
@require(ADMIN)
@blp.response(200, DetailSetSchema, headers=SET_ETAG)
@blp.doc(parameters=[SET_IF_MATCH])
@refusals(blp, 401, 403, 404, 412, 428, 429)
@guarded
def remove_from_asset_type_set(asset_type_id, key):
    """Remove a type from the set; dispatches already created keep their checklists."""
    return _remove(_asset_type(asset_type_id), key)


# --- Makes and models --------------------------------------------------------------------

MODEL_SET = "/make-models/<int:make_model_id>/detail-types"


@blp.route(MODEL_SET, methods=["GET"])
@require(ADMIN)
@blp.response(200, DetailSetSchema, headers=SET_ETAG)
@refusals(blp, 401, 403, 404, 429)
def get_make_model_set(make_model_id):
    """The detail types a make/model adds to its asset type's."""
    return _read(_make_model(make_model_id))


@blp.route(MODEL_SET, methods=["POST"])
@require(ADMIN)
@blp.arguments(SetAddSchema)
@blp.response(201, DetailSetSchema, headers=SET_ETAG)
@refusals(blp, 400, 401, 403, 404, 415, 422, 429)
def add_to_make_model_set(args, make_model_id):
    """Add a registered detail type at the end of the model's additions (a key already in it is a 422)."""
    return _add(_make_model(make_model_id), args)


@blp.route(MODEL_SET + "/<key>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(SetEntryUpdateSchema)
@blp.response(200, DetailSetSchema, headers=SET_ETAG)
@blp.doc(parameters=[SET_IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_make_model_set_entry(args, make_model_id, key):
    """Switch an addition on or off (on only while a loaded plugin provides it)."""
    return _change(_make_model(make_model_id), key, args)


@blp.route(MODEL_SET + "/<key>", methods=["DELETE"])
@require(ADMIN)
@blp.response(200, DetailSetSchema, headers=SET_ETAG)
@blp.doc(parameters=[SET_IF_MATCH])
@refusals(blp, 401, 403, 404, 412, 428, 429)
@guarded
def remove_from_make_model_set(make_model_id, key):
    """Remove an addition; dispatches already created keep their checklists."""
    return _remove(_make_model(make_model_id), key)
