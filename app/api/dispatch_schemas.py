"""Schemas of the dispatch resources: what is read, and what each request may send."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from app.api.schemas import MULTILINE, NON_BLANK_LINE, ONE_LINE, Id, PageQuerySchema, PersonSchema, page_schema, up_to
from app.models import DispatchPriority, DispatchStatus, WorkType
from app.services import text as text_rules
from app.models import Dispatch, DispatchStatusHistory
from app.services.numbers import DB_INT_MAX
from app.services.queries import DUE_FILTERS, SORT_COLUMNS

STATUSES = [s.value for s in DispatchStatus]
PRIORITIES = [p.value for p in DispatchPriority]
WORK_TYPES = [w.value for w in WorkType]
SORTS = sorted(SORT_COLUMNS) + sorted(f"-{c}" for c in SORT_COLUMNS)
TITLE_MAX = text_rules.column_limit(text_rules.column_of(Dispatch, "title"))
DESCRIPTION_MAX = text_rules.column_limit(text_rules.column_of(Dispatch, "description"))
REASON_MAX = text_rules.column_limit(text_rules.column_of(DispatchStatusHistory, "change_reason")) or 500
NUMBER_PATTERN = r"^D-[0-9]{4}-[0-9]{1,12}$"


def _text(limit: int | None, *, multiline: bool = False, blank: bool = True, **kwargs) -> fields.String:
    """Text as the services take it; ``blank=False``: what is left after stripping may not be empty.

    The rules are documented (``pattern``, ``minLength``) but checked by the service, whose
    message says what to write instead.
    """
    checks = [validate.Length(max=limit)] if limit else []
    pattern = MULTILINE if multiline else ONE_LINE if blank else NON_BLANK_LINE
    metadata = {"pattern": pattern, **({} if blank else {"minLength": 1}), **kwargs.pop("metadata", {})}
    return fields.String(validate=checks, metadata=metadata, **kwargs)


class DispatchListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    asset = fields.String(validate=validate.Length(max=50),
                          metadata={"description": "An asset tag, exact.", "pattern": ONE_LINE})
    asset_type = Id(strict=False, metadata={"description": "An asset type id."})
    technician = fields.String(validate=validate.Regexp(rf"^(none|{up_to(DB_INT_MAX)})$"),
                               metadata={"description": "A technician's id, or `none` for unassigned."})
    due = fields.String(validate=validate.OneOf(sorted(DUE_FILTERS)))
    q = fields.String(validate=validate.Length(max=200),
                      metadata={"description": "Free text over number, title, asset tag and name.", "pattern": ONE_LINE})
    sort = fields.String(load_default="-created", validate=validate.OneOf(SORTS))


class AssetRefSchema(Schema):
    id = fields.Integer(required=True)
    tag = fields.String(required=True)
    name = fields.String(required=True)
    asset_type = fields.String(allow_none=True, required=True)


class DispatchSchema(Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True, required=True)
    status = fields.String(required=True)
    priority = fields.String(required=True)
    work_type = fields.String(required=True)
    asset = fields.Nested(AssetRefSchema, allow_none=True, required=True)
    technician = fields.Nested(PersonSchema, allow_none=True, required=True)
    required_skill = fields.String(allow_none=True, required=True)
    estimated_duration_hours = fields.Float(required=True)
    created_at = fields.DateTime(required=True)
    due_date = fields.DateTime(allow_none=True, required=True)
    sla_due_at = fields.DateTime(allow_none=True, required=True)
    assigned_at = fields.DateTime(allow_none=True, required=True)
    started_at = fields.DateTime(allow_none=True, required=True)
    completed_at = fields.DateTime(allow_none=True, required=True)
    version = fields.Integer(required=True, metadata={"description": "The ETag's value: send it back in If-Match."})
    allowed_next = fields.List(fields.String(), required=True)


DispatchPageSchema = page_schema(DispatchSchema, "DispatchPage")


class ChecklistSchema(Schema):
    detail_id = fields.Integer(required=True, metadata={"description": "The master row (all_dispatch_details)."})
    table_name = fields.String(required=True)
    label = fields.String(required=True)
    loaded = fields.Boolean(required=True, metadata={"description": "False when its plugin is not loaded."})
    signed_off_at = fields.DateTime(allow_none=True, required=True)
    answered = fields.Integer(allow_none=True, required=True)
    total = fields.Integer(allow_none=True, required=True)
    answers = fields.Dict(keys=fields.String(), required=True)


class HistorySchema(Schema):
    status_from = fields.String(allow_none=True, required=True)
    status_to = fields.String(required=True)
    reason = fields.String(allow_none=True, required=True)
    changed_by = fields.Nested(PersonSchema, allow_none=True, required=True)
    changed_at = fields.DateTime(required=True)


class AssignmentSchema(Schema):
    id = fields.Integer(required=True)
    dispatch = fields.String(required=True, metadata={"description": "The dispatch's number."})
    technician = fields.Nested(PersonSchema, allow_none=True, required=True)
    mode = fields.String(required=True)
    matcher = fields.String(required=True)
    score = fields.Float(allow_none=True, required=True)
    score_breakdown = fields.Dict(keys=fields.String(), required=True)
    routing_speed_seconds = fields.Float(allow_none=True, required=True)
    estimated_completion_hours = fields.Float(allow_none=True, required=True)
    operational_cost = fields.Float(allow_none=True, required=True)
    # Its parts (they add up to it); null on records written before the parts were stored.
    labour_cost = fields.Float(allow_none=True, required=True)
    overtime_cost = fields.Float(allow_none=True, required=True)
    travel_cost = fields.Float(allow_none=True, required=True)
    sla_met = fields.Boolean(allow_none=True, required=True)
    burnout_risk = fields.Float(allow_none=True, required=True)
    burnout_alert = fields.Boolean(required=True)
    fallback_technicians = fields.List(fields.Dict(keys=fields.String()), required=True)
    fallback_used = fields.Boolean(required=True)
    note = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


AssignmentPageSchema = page_schema(AssignmentSchema, "AssignmentPage")


class LocationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class DispatchDetailSchema(DispatchSchema):
    location = fields.Nested(LocationSchema, allow_none=True, required=True)
    checklists = fields.List(fields.Nested(ChecklistSchema), required=True)
    history = fields.List(fields.Nested(HistorySchema), required=True)
    assignments = fields.List(fields.Nested(AssignmentSchema), required=True)


class CreatedDispatchSchema(DispatchDetailSchema):
    pass


class DispatchCreateSchema(Schema):
    title = _text(TITLE_MAX, blank=False, required=True)
    asset_id = Id(required=True)
    priority = fields.String(validate=validate.OneOf(PRIORITIES), load_default=DispatchPriority.NORMAL.value)
    description = _text(DESCRIPTION_MAX, multiline=True, allow_none=True)
    due_date = fields.AwareDateTime(allow_none=True, metadata={"description": "With a time zone, e.g. 2026-06-10T17:00:00Z."})
    major_location_id = Id(allow_none=True)
    required_skill = _text(100, allow_none=True)
    estimated_duration_hours = fields.Float(allow_none=True, allow_nan=False,
                                            validate=validate.Range(min=0, max=1000, min_inclusive=False))
    work_type = fields.String(validate=validate.OneOf(WORK_TYPES), load_default=WorkType.OPERATION.value)
    auto_assign = fields.Boolean(allow_none=True, metadata={"description": "Default: MOTORPOOL_AUTO_ASSIGN."})


class DispatchUpdateSchema(Schema):
    # Something to change; a priority and its reason go together (``_reason_with_priority``).
    OPENAPI = {"minProperties": 1, "anyOf": [
        {"required": ["priority", "priority_reason"]},
        {"not": {"anyOf": [{"required": ["priority"]}, {"required": ["priority_reason"]}]}},
    ]}

    title = _text(TITLE_MAX, blank=False)
    description = _text(DESCRIPTION_MAX, multiline=True, allow_none=True)
    due_date = fields.AwareDateTime(allow_none=True)
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    priority_reason = _text(REASON_MAX, blank=False, metadata={"description": "Required with a priority change."})

    @validates_schema
    def _reason_with_priority(self, data, **kwargs):
        if not data:
            raise SchemaError("Send at least one of title, description, due_date, priority.", "_schema")
        if "priority" in data and not (data.get("priority_reason") or "").strip():
            raise SchemaError("A priority override needs its reason.", "priority_reason")
        if "priority_reason" in data and "priority" not in data:
            raise SchemaError("priority_reason goes with priority.", "priority_reason")


class TransitionSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = _text(REASON_MAX, allow_none=True)


class BulkTransitionSchema(Schema):
    numbers = fields.List(fields.String(validate=validate.Regexp(NUMBER_PATTERN)), required=True,
                          validate=validate.Length(min=1, max=500))
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    reason = _text(REASON_MAX, allow_none=True)


class BulkResultSchema(Schema):
    number = fields.String(required=True)
    ok = fields.Boolean(required=True)
    message = fields.String(required=True)


class BulkResultsSchema(Schema):
    results = fields.List(fields.Nested(BulkResultSchema), required=True)


class AssignSchema(Schema):
    # Exactly one way: a technician, or the engine (``_one_way``).
    OPENAPI = {"oneOf": [
        {"required": ["technician_id"]},
        {"required": ["automatic"], "properties": {"automatic": {"enum": [True]}}},
    ]}

    technician_id = Id()
    automatic = fields.Boolean(metadata={"description": "true: the engine picks and assigns (Created only)."})
    reason = _text(REASON_MAX, allow_none=True, metadata={"description": "Required for an override."})

    @validates_schema
    def _one_way(self, data, **kwargs):
        if bool(data.get("technician_id")) == bool(data.get("automatic")):
            raise SchemaError("Send either technician_id or \"automatic\": true.", "_schema")


class UnassignQuerySchema(Schema):
    reason = _text(REASON_MAX)


class DeclineSchema(Schema):
    reason = _text(REASON_MAX, allow_none=True)


class DeclinedSchema(Schema):
    number = fields.String(required=True)
    detail = fields.String(required=True)


class FactorSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True)
    value = fields.Raw(required=True, metadata={"description": "A number, or the matcher's text."})
    weight = fields.Float(allow_none=True, required=True)
    contribution = fields.Float(allow_none=True, required=True)


class CandidateSchema(Schema):
    technician = fields.Nested(PersonSchema, required=True)
    rank = fields.Integer(required=True)
    score = fields.Float(required=True)
    factors = fields.List(fields.Nested(FactorSchema), required=True)
    estimates = fields.Dict(keys=fields.String(), required=True)
    current = fields.Boolean(required=True)


class ExclusionSchema(Schema):
    technician = fields.Nested(PersonSchema, required=True)
    reason = fields.String(required=True)


class CandidatesSchema(Schema):
    number = fields.String(required=True)
    matcher = fields.String(required=True)
    note = fields.String(allow_none=True, required=True)
    candidates = fields.List(fields.Nested(CandidateSchema), required=True)
    excluded = fields.List(fields.Nested(ExclusionSchema), required=True)
