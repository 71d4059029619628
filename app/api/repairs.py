"""``/api/v1/dispatches/{number}/repair-certification``: a manager certifies a repair.

A checklist signed off with defects opens a repair work order and takes the asset out of
service (``checklists.sign_off``). Certifying on that work order, as the page "Certify
repair" does for the asset, records the outcome on each open defect and puts the asset back
in service: "repaired" once the work order is completed, "no repair needed" with a note saying
why (the work order is then cancelled). The same service and rules as the page
(``checklists.certify_repair``); the work order's ``If-Match`` as for any change to it.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import MANAGERS, require
from app.api.dispatch_schemas import REASON_MAX
from app.api.dispatches import CHANGE_ERRORS, ETAG_HEADER, IF_MATCH, etag, find, guarded, require_if_match
from app.api.problems import refusals
from app.api.schemas import NON_BLANK_LINE, ONE_LINE, PersonSchema
from app.api.serialise import person
from app.extensions import db
from app.models import RepairCertification
from app.services import checklists

blp = Blueprint("api_repairs", __name__, description="Repair certification: an asset back in service after its defects.")
URL_PREFIX = "/dispatches"
OUTCOMES = [c.value for c in RepairCertification]


class CertificationSchema(Schema):
    # "no repair needed" says why (``checklists.certify_repair``).
    OPENAPI = {"anyOf": [
        {"properties": {"outcome": {"enum": [RepairCertification.REPAIRED.value]}}},
        {"required": ["notes"], "properties": {"notes": {"type": "string", "pattern": NON_BLANK_LINE}}},
    ]}

    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES),
                            metadata={"description": "repaired (the work order is completed), or no repair needed."})
    notes = fields.String(allow_none=True, validate=validate.Length(max=REASON_MAX), metadata={
        "pattern": ONE_LINE, "description": "Why no repair is needed (required then); or a note on the repair."})


class AssetStateSchema(Schema):
    id = fields.Integer(required=True)
    tag = fields.String(required=True)
    status = fields.String(required=True)


class CertifiedDefectSchema(Schema):
    id = fields.Integer(required=True)
    item = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(required=True)
    reported_on = fields.String(required=True, metadata={"description": "The dispatch whose checklist reported it."})
    repair_dispatch = fields.String(allow_none=True, required=True)


class CertificationResultSchema(Schema):
    number = fields.String(required=True, metadata={"description": "The repair work order."})
    status = fields.String(required=True, metadata={"description": "Its status now (Cancelled: no repair needed)."})
    asset = fields.Nested(AssetStateSchema, required=True)
    outcome = fields.String(required=True)
    notes = fields.String(allow_none=True, required=True)
    certified_by = fields.Nested(PersonSchema, required=True)
    certified_at = fields.DateTime(required=True)
    defects = fields.List(fields.Nested(CertifiedDefectSchema), required=True)


@blp.route("/<string:number>/repair-certification", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(CertificationSchema)
@blp.response(200, CertificationResultSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, *CHANGE_ERRORS)
@guarded
def certify_repair(args, number):
    """Certify the repair this work order was opened for: the asset goes back in service.

    Covers every open defect of the asset, as the page does. "repaired" needs the work order
    completed; "no repair needed" needs ``notes`` and cancels the work orders still open.
    """
    repair = find(number)
    require_if_match(repair)
    defects = checklists.certify_repair_of(repair, current_user, args["outcome"], args.get("notes"))
    db.session.refresh(repair)
    first = defects[0]
    body = {
        "number": repair.dispatch_number, "status": repair.status,
        "asset": {"id": repair.asset.id, "tag": repair.asset.asset_tag, "status": repair.asset.status},
        "outcome": first.certification, "notes": first.certification_notes, "certified_by": person(current_user),
        "certified_at": first.certified_at,
        "defects": [{"id": d.id, "item": d.item, "label": d.item_label, "description": d.description,
                     "reported_on": d.dispatch.dispatch_number,
                     "repair_dispatch": d.repair_dispatch.dispatch_number if d.repair_dispatch is not None else None}
                    for d in defects],
    }
    return body, 200, {"ETag": etag(repair)}
