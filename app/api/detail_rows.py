"""``/api/v1/dispatches/{number}/detail-rows``: a dispatch's checklists (detail rows).

The same service and rules as the checklist pages (``app.services.checklists``): answers,
defects and sign-off. A checklist's ``ETag`` is a digest of what it holds (answers, defects,
sign-off); a change sends it back in ``If-Match``, as the page sends the value it saw with
each answer (428 without, 412 when the checklist changed since). The answers of one request
are saved together or not at all. Technicians reach only their own dispatches' checklists.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from app.api import versions
from app.api.auth import require
from app.api.dispatches import CHANGE_ERRORS, find, guarded
from app.api.problems import refusals
from app.api.schemas import PersonSchema
from app.api.serialise import _plain, person
from app.checklists.fields import INSPECTION_DEFECT, INSPECTION_OK, FieldKind
from app.extensions import db
from app.models import Dispatch, User
from app.models.dispatching.build import detail_types
from app.services import checklists
from app.services.errors import NotFound, ValidationError, ValidationErrors
from app.services.transaction import transaction

blp = Blueprint("api_detail_rows", __name__,
                description="Checklists (detail rows) of a dispatch: answers, defects, sign-off.")
URL_PREFIX = "/dispatches"

IF_MATCH = versions.if_match_parameter("the checklist")
ETAG_HEADER = versions.etag_header("the checklist")
MAX_ITEMS = 200  # more answers than any checklist has questions
DESCRIPTION_MAX = checklists.DESCRIPTION_MAX


# --- Schemas ------------------------------------------------------------------------------


class DefectSchema(Schema):
    id = fields.Integer(required=True)
    item = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(required=True)
    repair_dispatch = fields.String(allow_none=True, required=True,
                                    metadata={"description": "The repair work order opened at sign-off."})
    certification = fields.String(allow_none=True, required=True)
    certified_at = fields.DateTime(allow_none=True, required=True)


class ItemSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in FieldKind]))
    group = fields.String(required=True)
    required = fields.Boolean(required=True)
    value = fields.Raw(required=True, allow_none=True, metadata={
        "description": "check: boolean; number, integer: a number; text: a string; date: YYYY-MM-DD; "
                       "datetime: ISO 8601 in UTC; inspection: \"ok\", \"defect\" or null."})
    defect = fields.String(allow_none=True, required=True, metadata={"description": "An inspection defect's text."})
    answered = fields.Boolean(required=True)


class DetailRowSchema(Schema):
    detail_id = fields.Integer(required=True, metadata={"description": "The master row (all_dispatch_details)."})
    dispatch = fields.String(required=True)
    detail_type = fields.String(allow_none=True, required=True, metadata={"description": "null when not loaded."})
    table_name = fields.String(required=True)
    label = fields.String(required=True)
    loaded = fields.Boolean(required=True, metadata={"description": "False when its plugin is not loaded: "
                                                                    "read-only, no items."})
    signed_off_at = fields.DateTime(allow_none=True, required=True)
    signed_off_by = fields.Nested(PersonSchema, allow_none=True, required=True)
    answered = fields.Integer(allow_none=True, required=True)
    total = fields.Integer(allow_none=True, required=True)
    missing = fields.List(fields.String(), required=True, metadata={"description": "Required items still open."})
    items = fields.List(fields.Nested(ItemSchema), required=True)
    defects = fields.List(fields.Nested(DefectSchema), required=True)
    version = fields.String(required=True, metadata={"description": "The ETag's value."})


class DetailRowListSchema(Schema):
    items = fields.List(fields.Nested(DetailRowSchema), required=True)


class SignedOffSchema(DetailRowSchema):
    repair_dispatch = fields.String(allow_none=True, required=True, metadata={
        "description": "The repair work order opened for the defects (the asset is then out of service)."})


class AnswerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 100))
    value = fields.Raw(required=True, allow_none=True, metadata={
        "description": "As the item's kind reads (see ItemSchema.value); null clears it."})
    description = fields.String(allow_none=True, validate=validate.Length(max=DESCRIPTION_MAX),
                                metadata={"description": "With an inspection \"defect\": what is wrong and where."})


class AnswersSchema(Schema):
    items = fields.List(fields.Nested(AnswerSchema), required=True, validate=validate.Length(1, MAX_ITEMS))

    @validates_schema
    def _once_each(self, data, **kwargs):
        names = [answer["name"] for answer in data.get("items", [])]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise SchemaError(f"Answer each item once; sent more than once: {', '.join(twice)}.", "items")


class DefectReportSchema(Schema):
    item = fields.String(required=True, validate=validate.Length(1, 100),
                         metadata={"description": "An inspection item's name."})
    description = fields.String(required=True, validate=validate.Length(1, DESCRIPTION_MAX))


class DefectListSchema(Schema):
    items = fields.List(fields.Nested(DefectSchema), required=True)


# --- Reading ------------------------------------------------------------------------------


def _value(item: checklists.ItemState):
    kind = item.field.kind
    if kind == FieldKind.INSPECTION:
        return item.display or None
    if kind == FieldKind.CHECK:
        return bool(item.value)
    value = item.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return _plain(value)


def _defect(defect) -> dict:
    return {"id": defect.id, "item": defect.item, "label": defect.item_label, "description": defect.description,
            "repair_dispatch": defect.repair_dispatch.dispatch_number if defect.repair_dispatch is not None else None,
            "certification": defect.certification, "certified_at": defect.certified_at}


def _signer(user_id: int | None) -> dict | None:
    return None if user_id is None else person(db.session.get(User, user_id))


def serialise(checklist, dispatch: Dispatch) -> dict:
    if checklist.loaded:
        detail_type = detail_types().by_table_name(checklist.detail.__tablename__)
        body = {
            "detail_id": checklist.id, "detail_type": detail_type.key if detail_type else None,
            "table_name": checklist.detail.__tablename__, "loaded": True,
            "answered": checklist.answered, "total": checklist.total, "missing": checklist.missing,
            "items": [{"name": item.field.name, "label": item.field.label, "kind": item.field.kind.value,
                       "group": item.field.group, "required": item.field.required, "value": _value(item),
                       "defect": item.defect.description if item.defect is not None else None,
                       "answered": item.answered} for item in checklist.items.values()],
        }
    else:
        body = {"detail_id": checklist.id, "detail_type": None, "table_name": checklist.table_name,
                "loaded": False, "answered": None, "total": None, "missing": [], "items": []}
    body.update({
        "dispatch": dispatch.dispatch_number, "label": checklist.label,
        "signed_off_at": checklist.signed_off_at, "signed_off_by": _signer(checklist.signed_off_by_id),
        "defects": [_defect(d) for d in checklist.defects],
    })
    body["version"] = _digest(body)
    return body


def _digest(body: dict) -> str:
    """What the checklist holds, hashed: any answer, defect or sign-off changes it."""
    return versions.digest({key: body[key] for key in ("items", "defects", "signed_off_at", "loaded")}).strip('"')


def etag(body: dict) -> str:
    return f'"{body["version"]}"'


def _load(number: str, detail_id: int):
    """The dispatch (the caller may see it: technicians their own) and its checklist, else 404."""
    dispatch = find(number)
    try:
        checklist = checklists.get_checklist(detail_id)
    except checklists.ChecklistUnavailable as unavailable:
        checklist = unavailable.checklist
    except NotFound:
        checklist = None
    owner = None if checklist is None else (checklist.detail.dispatch_id if checklist.loaded
                                            else checklist.master.dispatch_id)
    if owner != dispatch.id:
        raise NotFound(f"{dispatch.dispatch_number} has no checklist #{detail_id}; "
                       f"GET /api/v1/dispatches/{dispatch.dispatch_number}/detail-rows lists its checklists.")
    return dispatch, checklist


def _editable(number: str, detail_id: int):
    """The checklist to change, after the If-Match check; one whose plugin is not loaded is a 409."""
    dispatch, checklist = _load(number, detail_id)
    require_if_match(serialise(checklist, dispatch), dispatch)
    if not checklist.loaded:
        raise checklists.ChecklistUnavailable(checklist)
    return dispatch, checklist


def require_if_match(body: dict, dispatch: Dispatch) -> None:
    what = f"the {body['label'].lower()} of {dispatch.dispatch_number}"

    def stale() -> str:
        signed = ", signed off" if body["signed_off_at"] else ""
        return f"The {body['label'].lower()} of {dispatch.dispatch_number} changed since you read it: " \
               f"{body['answered']} of {body['total']} answered{signed}"

    versions.check_if_match(etag(body), what=what, stale=stale)


def _response(number: str, detail_id: int, status: int = 200, **extra):
    dispatch, checklist = _load(number, detail_id)
    body = serialise(checklist, dispatch)
    body.update(extra)
    return body, status, {"ETag": etag(body)}


# --- Answers as JSON ---------------------------------------------------------------------


def _raw(item: checklists.ItemState, value) -> str:
    """The JSON value as the form would send it; a value of the wrong type says what it takes."""
    kind = item.field.kind
    label = item.field.label

    def wrong(expected: str) -> ValidationError:
        return ValidationError(f"{label}: send {expected}, not {json.dumps(value)}.", field=item.field.name)

    if value is None:
        if kind == FieldKind.CHECK:
            raise wrong("true or false")
        return ""
    if kind == FieldKind.CHECK:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return "true" if value else ""
    if kind == FieldKind.INSPECTION:
        if value not in (INSPECTION_OK, INSPECTION_DEFECT):
            raise wrong(f'"{INSPECTION_OK}" or "{INSPECTION_DEFECT}" (with a description)')
        return value
    if kind in (FieldKind.NUMBER, FieldKind.INTEGER):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong("a whole number" if kind == FieldKind.INTEGER else "a number")
        if kind == FieldKind.INTEGER and isinstance(value, float) and not value.is_integer():
            raise wrong("a whole number")
        return repr(int(value) if kind == FieldKind.INTEGER else value)
    if not isinstance(value, str):
        raise wrong("a string")
    if kind == FieldKind.DATETIME:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise wrong("a date and time with its zone, like 2026-03-31T14:30:00Z") from None
        if moment.tzinfo is None:
            raise wrong("a date and time with its zone, like 2026-03-31T14:30:00Z")
    return value


def _save_answers(checklist: checklists.Checklist, answers: list[dict]) -> None:
    """Every answer by the page's rules, in one transaction: one refused answer saves none."""
    unknown = [a["name"] for a in answers if a["name"] not in checklist.items]
    if unknown:
        raise ValidationError(f"The {checklist.label.lower()} has no item {', '.join(map(repr, unknown))}; "
                              f"its items are {', '.join(checklist.items)}.", field=unknown[0])
    refused = []
    raws = {}
    for answer in answers:
        try:
            item = checklist.items[answer["name"]]
            raws[answer["name"]] = _raw(item, answer["value"])
            if item.field.kind != FieldKind.INSPECTION:
                item.field.parse(raws[answer["name"]])  # its range and format, so every refusal is named at once
        except ValidationError as error:
            refused.append(error)
        if answer.get("description") is not None and checklist.items[answer["name"]].field.kind != FieldKind.INSPECTION:
            refused.append(ValidationError(f"{checklist.items[answer['name']].field.label} is not an inspection "
                                           "item; only a defect takes a description.", field=answer["name"]))
    if refused:
        raise refused[0] if len(refused) == 1 else ValidationErrors(refused)
    detail_id = checklist.id
    with transaction():
        for answer in answers:
            current = checklists.get_checklist(detail_id)  # sees the answers saved just before
            item = current.items[answer["name"]]
            checklists.save_answer(
                current, answer["name"], raws[answer["name"]], seen=item.display, actor=current_user,
                description=answer.get("description"),
                seen_description=item.defect.description if item.defect is not None else None)


# --- Views --------------------------------------------------------------------------------


@blp.route("/<string:number>/detail-rows", methods=["GET"])
@require()
@blp.response(200, DetailRowListSchema)
@refusals(blp, 401, 404, 429)
def list_detail_rows(number):
    """The dispatch's checklists in order, each with its items, answers, defects and sign-off."""
    dispatch = find(number)
    return {"items": [serialise(c, dispatch) for c in checklists.checklists_for(dispatch)]}


@blp.route("/<string:number>/detail-rows/<int:detail_id>", methods=["GET"])
@require()
@blp.response(200, DetailRowSchema, headers=ETAG_HEADER)
@refusals(blp, 401, 404, 429)
def get_detail_row(number, detail_id):
    """One checklist; its ETag goes in If-Match to answer, report a defect or sign off."""
    return _response(number, detail_id)


@blp.route("/<string:number>/detail-rows/<int:detail_id>/items", methods=["PATCH"])
@require()
@blp.arguments(AnswersSchema)
@blp.response(200, DetailRowSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, *CHANGE_ERRORS)
@guarded
def answer_items(args, number, detail_id):
    """Answer items: ``{"items": [{"name": …, "value": …}]}``, all saved or none.

    An inspection item takes ``"ok"`` or ``"defect"`` with a ``description``. Refused while
    the checklist is signed off or the dispatch is final, and by each item's rules (ranges,
    readings not below another, dates not in the future), as on the page.
    """
    _dispatch, checklist = _editable(number, detail_id)
    _save_answers(checklist, args["items"])
    return _response(number, detail_id)


@blp.route("/<string:number>/detail-rows/<int:detail_id>/sign-off", methods=["POST"])
@require()
@blp.response(200, SignedOffSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, *CHANGE_ERRORS)
@guarded
def sign_off(number, detail_id):
    """Sign the checklist off (every required item answered). With defects a repair work order
    is opened and the asset goes out of service, as on the page."""
    _dispatch, checklist = _editable(number, detail_id)
    repair = checklists.sign_off(checklist, current_user)
    return _response(number, detail_id, repair_dispatch=repair.dispatch_number if repair is not None else None)


@blp.route("/<string:number>/detail-rows/<int:detail_id>/defects", methods=["GET"])
@require()
@blp.response(200, DefectListSchema)
@refusals(blp, 401, 404, 429)
def list_defects(number, detail_id):
    """The defects reported on the checklist, with their repair work order and certification."""
    dispatch, checklist = _load(number, detail_id)
    return {"items": [_defect(d) for d in checklist.defects]}


@blp.route("/<string:number>/detail-rows/<int:detail_id>/defects", methods=["POST"])
@require()
@blp.arguments(DefectReportSchema)
@blp.response(201, DetailRowSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, *CHANGE_ERRORS)
@guarded
def report_defect(args, number, detail_id):
    """Report a defect on an inspection item (the same as answering it ``"defect"``); it is
    reported on when the checklist is signed off."""
    _dispatch, checklist = _editable(number, detail_id)
    item = checklist.items.get(args["item"])
    if item is None or item.field.kind != FieldKind.INSPECTION:
        inspections = [i.field.name for i in checklist.items.values() if i.field.kind == FieldKind.INSPECTION]
        raise ValidationError(f"{args['item']!r} is not an inspection item of this {checklist.label.lower()}; "
                              f"defects are reported on {', '.join(inspections) or 'none of its items'}.",
                              field="item")
    _save_answers(checklist, [{"name": item.field.name, "value": INSPECTION_DEFECT,
                               "description": args["description"]}])
    return _response(number, detail_id, status=201)
