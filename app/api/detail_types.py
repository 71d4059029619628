"""``/api/v1/detail-types``: the checklist types this installation knows, with their questions.

Read from the detail type registry (built-in and plugin types alike) and each type's
``checklist_fields``, the definition the checklist page and its validation read too, so a
plugin's type appears here with no code of its own.
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.auth import require
from app.api.problems import refusals
from app.checklists.fields import checklist_fields
from app.models.dispatching.build import detail_types

blp = Blueprint("api_detail_types", __name__, description="Checklist (detail) types and their fields.")
URL_PREFIX = "/detail-types"


class FieldSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True)
    group = fields.String(required=True)
    required = fields.Boolean(required=True)
    minimum = fields.Float(allow_none=True, required=True)
    maximum = fields.Float(allow_none=True, required=True)
    unit = fields.String(allow_none=True, required=True)
    help = fields.String(allow_none=True, required=True)
    not_below = fields.String(allow_none=True, required=True,
                              metadata={"description": "Another field this one may not be less than."})
    max_length = fields.Integer(allow_none=True, required=True)


class DetailTypeSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    table_name = fields.String(required=True)
    plugin = fields.String(required=True)
    fields_ = fields.List(fields.Nested(FieldSchema), required=True, data_key="fields")


class DetailTypeListSchema(Schema):
    items = fields.List(fields.Nested(DetailTypeSchema), required=True)


def _type(detail_type) -> dict:
    return {
        "key": detail_type.key, "label": detail_type.label, "table_name": detail_type.table_name,
        "plugin": detail_type.plugin,
        "fields_": [{"name": f.name, "label": f.label, "kind": f.kind.value, "group": f.group, "required": f.required,
                     "minimum": f.minimum, "maximum": f.maximum, "unit": f.unit, "help": f.help,
                     "not_below": f.not_below, "max_length": f.max_length}
                    for f in checklist_fields(detail_type.model)],
    }


@blp.route("", methods=["GET"])
@require()
@blp.response(200, DetailTypeListSchema)
@refusals(blp, 401, 429)
def list_detail_types():
    """Every registered detail type (by label) with its fields: kind, label, group, required, range."""
    return {"items": [_type(t) for t in detail_types()]}
