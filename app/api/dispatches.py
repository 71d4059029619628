"""``/api/v1/dispatches``: work orders, addressed by their number (``D-2026-000042``).

The same services and rules as the pages: ``queries`` reads, ``dispatches`` changes status
and details, ``matching`` assigns, ranks and reroutes. Changing a dispatch needs
``If-Match`` with the ETag it was read with (428 without, 412 when it changed since).
"""

from __future__ import annotations

import re

from flask import current_app, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.api import idempotency, links, versions
from app.api.versions import Precondition
from app.api.auth import MANAGERS, require
from app.api.dispatch_schemas import (
    NUMBER_PATTERN, AssignSchema, AssignmentSchema, BulkResultsSchema, BulkTransitionSchema, CandidatesSchema,
    CreatedDispatchSchema, DeclinedSchema, DeclineSchema, DispatchCreateSchema, DispatchDetailSchema,
    DispatchListQuerySchema, DispatchPageSchema, DispatchUpdateSchema, TransitionSchema,
    UnassignQuerySchema,
)
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import problem, refusals
from app.api.schemas import page_body
from app.api.serialise import assignment, candidates, dispatch_detail, dispatch_summary
from app.blueprints.dispatches.detail_views import TECHNICIAN_TARGETS
from app.extensions import db
from app.models import Dispatch, Role
from app.services import dispatches as dispatch_service
from app.services import matching, queries
from app.services.errors import NotFound, TransitionNotAllowed
from app.services.transaction import transaction

blp = Blueprint("api_dispatches", __name__, description="Work orders: read, create, change, assign.")
URL_PREFIX = "/dispatches"
NUMBER = re.compile(NUMBER_PATTERN)

IF_MATCH = versions.if_match_parameter("the dispatch")
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "pattern": f"^{idempotency.KEY_PATTERN.pattern}$"},
                   "description": "The same key and body within 24 h get the first answer again."}
ETAG_HEADER = versions.etag_header("the dispatch")
CHANGE_ERRORS = (400, 401, 403, 404, 409, 412, 415, 422, 428, 429)
_NUMBER = {"number": "$response.body#/number"}
#: Where a created dispatch leads: its number, and its ETag for If-Match.
DISPATCH_LINKS = {
    "GetDispatch": links.link("/dispatches/{number}", "GET", "Read the dispatch.", _NUMBER),
    "UpdateDispatch": links.link("/dispatches/{number}", "PATCH", "Change it, with the ETag of this answer.",
                                 {**_NUMBER, **links.IF_MATCH}),
    "TransitionDispatch": links.link("/dispatches/{number}/transitions", "POST", "Move it to another status.",
                                     {**_NUMBER, **links.IF_MATCH}),
    "AssignDispatch": links.link("/dispatches/{number}/assignment", "POST", "Assign it.",
                                 {**_NUMBER, **links.IF_MATCH}),
    "GetCandidates": links.link("/dispatches/{number}/candidates", "GET", "Who could take it.", _NUMBER),
}


def _errors(*codes: int):
    return refusals(blp, *codes)


def etag(dispatch: Dispatch) -> str:
    return f'"{dispatch.version_id}"'


def find(number: str) -> Dispatch:
    """The dispatch with this number that the caller may see (technicians: their own), else 404."""
    dispatch = None
    if NUMBER.fullmatch(number):
        dispatch = db.session.scalar(select(Dispatch).where(Dispatch.dispatch_number == number))
    if dispatch is None or (current_user.role == Role.TECHNICIAN and dispatch.assigned_user_id != current_user.id):
        if dispatch is not None and current_user.role == Role.TECHNICIAN:
            raise NotFound(dispatch_service.not_yours_message(dispatch, current_user))
        raise NotFound(f"There is no dispatch {number[:40]!r}, or it is not yours to see.")
    return dispatch


def require_if_match(dispatch: Dispatch) -> None:
    """``If-Match`` names the dispatch's current ETag (or ``*``); 428 when missing, 412 when stale."""
    def stale() -> str:
        who = dispatch.assigned_user.name if dispatch.assigned_user is not None else "nobody"
        return f"{dispatch.dispatch_number} changed since you read it: it is now {dispatch.status}, assigned to {who}"

    versions.check_if_match(etag(dispatch), what=dispatch.dispatch_number, stale=stale)


def _detail_response(dispatch: Dispatch, status: int = 200, headers: dict | None = None):
    fresh = queries.dispatch_for_page(dispatch.id, current_user) if current_user.role != Role.TECHNICIAN \
        or dispatch.assigned_user_id == current_user.id else dispatch
    return dispatch_detail(fresh), status, {"ETag": etag(fresh), **(headers or {})}


def guarded(view):
    """Answer a refused precondition with its problem."""
    from functools import wraps

    @wraps(view)
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Precondition as refused:
            return refused.response
        except idempotency.Answer as answer:
            db.session.rollback()
            return answer.response
    return wrapped


@blp.route("", methods=["GET"])
@require()
@blp.arguments(DispatchListQuerySchema, location="query")
@blp.response(200, DispatchPageSchema, headers=PAGE_HEADERS)
@_errors(400, 401, 403, 422, 429)
def list_dispatches(args):
    """The work-order list: the page's filters, a whitelisted sort, pages of at most 100.

    Technicians see only the dispatches assigned to them.
    """
    technician = args.get("technician")
    if current_user.role == Role.TECHNICIAN:
        if technician not in (None, str(current_user.id)):
            return problem(403, "Technicians see only their own dispatches; leave out technician.", kind="forbidden")
        technician = str(current_user.id)
    filters = queries.DispatchFilters(
        status=args.get("status"), priority=args.get("priority"), asset=args.get("asset"),
        asset_type=args.get("asset_type"), technician=technician, due=args.get("due"), q=args.get("q"),
        sort=args["sort"], page=args["page"],
    )
    page = queries.dispatch_list(filters, per_page=args["per_page"])
    if args["page"] > page.pages:  # the page list shows the last page; an API says there is no such page
        page.items, page.page = [], args["page"]
    return paged(page_body(page.items, page, [dispatch_summary(d) for d in page.items]), page)


@blp.route("", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(DispatchCreateSchema)
@blp.response(201, CreatedDispatchSchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
@blp.doc(parameters=[IDEMPOTENCY_KEY], **links.responses(201, **DISPATCH_LINKS))
@_errors(400, 401, 403, 409, 413, 415, 422, 429)
@guarded
def create_dispatch(args):
    """Create a work order through the creation rules; the answer lists the checklists it got."""
    try:
        with transaction():
            claimed = idempotency.claim()
            dispatch = dispatch_service.create_dispatch(
                title=args["title"], asset_id=args["asset_id"], priority=args["priority"],
                description=args.get("description"), due_date=args.get("due_date"),
                major_location_id=args.get("major_location_id"), required_skill=args.get("required_skill"),
                estimated_duration_hours=args.get("estimated_duration_hours"), work_type=args["work_type"],
                auto_assign=False,
            )
    except IntegrityError:
        db.session.rollback()
        return idempotency.in_progress()
    auto = args.get("auto_assign")
    if auto if auto is not None else current_app.config["MOTORPOOL_AUTO_ASSIGN"]:
        dispatch_service.try_auto_assign(dispatch)
    location = url_for("api_dispatches.get_dispatch", number=dispatch.dispatch_number)
    body, status, headers = _detail_response(dispatch, 201, {"Location": location})
    response = current_app.json.response(CreatedDispatchSchema().dump(body))  # as flask-smorest writes JSON
    response.status_code = status
    response.headers.update(headers)
    idempotency.remember(claimed, response)
    return response


@blp.route("/<string:number>", methods=["GET"])
@require()
@blp.response(200, DispatchDetailSchema, headers=ETAG_HEADER)
@_errors(401, 404, 429)
def get_dispatch(number):
    """One dispatch with its checklists (detail and master rows), status history and assignments."""
    return _detail_response(find(number))


@blp.route("/<string:number>", methods=["PATCH"])
@require(*MANAGERS)
@blp.arguments(DispatchUpdateSchema)
@blp.response(200, DispatchDetailSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@_errors(*CHANGE_ERRORS)
@guarded
def update_dispatch(args, number):
    """Change the title, description or due date; a priority override with its reason."""
    dispatch = find(number)
    require_if_match(dispatch)
    with transaction():
        details = {name: args[name] for name in ("title", "description", "due_date") if name in args}
        if details:
            dispatch_service.update_details(dispatch, **details)
        if "priority" in args and args["priority"] != dispatch.priority:
            matching.set_priority(dispatch, args["priority"], args["priority_reason"].strip())
    return _detail_response(dispatch)


def _transition(dispatch: Dispatch, target: str, reason: str | None) -> None:
    try:
        dispatch_service.change_status(dispatch, target, reason)
    except TransitionNotAllowed as error:
        error.allowed = list(dispatch_service.allowed_next(dispatch.status))
        raise


@blp.route("/<string:number>/transitions", methods=["POST"])
@require()
@blp.arguments(TransitionSchema)
@blp.response(200, DispatchDetailSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@_errors(*CHANGE_ERRORS)
@guarded
def transition(args, number):
    """Move the dispatch to another status; a refused move (409) names the allowed next states.

    Technicians move their own dispatches to En Route, In Progress and Completed only.
    """
    dispatch = find(number)
    target = args["status"]
    if current_user.role == Role.TECHNICIAN and target not in TECHNICIAN_TARGETS:
        return problem(403, f"Technicians move their work to {', '.join(TECHNICIAN_TARGETS)} only.", kind="forbidden")
    require_if_match(dispatch)
    _transition(dispatch, target, args.get("reason"))
    return _detail_response(dispatch)


@blp.route("/bulk-transitions", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(BulkTransitionSchema)
@blp.response(200, BulkResultsSchema)
@_errors(400, 401, 403, 415, 422, 429)
def bulk_transition(args):
    """Move several dispatches to one status, each in its own transaction, with a result per item."""
    numbers = list(dict.fromkeys(args["numbers"]))
    ids = dict(db.session.execute(select(Dispatch.dispatch_number, Dispatch.id)
                                  .where(Dispatch.dispatch_number.in_(numbers))).all())
    found = [ids[n] for n in numbers if n in ids]
    outcome = {}
    if found:
        for result in dispatch_service.bulk_change_status(found, args["status"], args.get("reason")):
            outcome[result.dispatch_number] = result
    results = []
    for number in numbers:
        result = outcome.get(number)
        if result is None:
            results.append({"number": number, "ok": False, "message": f"There is no dispatch {number}."})
        else:
            results.append({"number": number, "ok": result.ok, "message": result.message})
    return {"results": results}


@blp.route("/<string:number>/assignment", methods=["POST"])
@require(*MANAGERS)
@blp.arguments(AssignSchema)
@blp.response(200, AssignmentSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@_errors(*CHANGE_ERRORS)
@guarded
def assign(args, number):
    """Assign to a technician (an override of the engine needs a reason), or ``{"automatic": true}``:
    the engine ranks, picks and records the assignment (Created dispatches only)."""
    dispatch = find(number)
    require_if_match(dispatch)
    if args.get("automatic"):
        metric = matching.auto_assign(dispatch, mode="auto")
        if metric is None:
            db.session.refresh(dispatch)
            return problem(409, f"No technician could take {dispatch.dispatch_number}; it stays {dispatch.status}. "
                                "GET its candidates to see who was excluded and why.", kind="nobody-eligible")
    else:
        metric = matching.assign_to(dispatch, args["technician_id"], reason=args.get("reason"))
    return assignment(metric), 200, {"ETag": etag(dispatch)}


@blp.route("/<string:number>/assignment", methods=["DELETE"])
@require(*MANAGERS)
@blp.arguments(UnassignQuerySchema, location="query")
@blp.response(200, DispatchDetailSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@_errors(*CHANGE_ERRORS)
@guarded
def unassign(args, number):
    """Take the dispatch back from its technician (it returns to Created)."""
    dispatch = find(number)
    require_if_match(dispatch)
    _transition(dispatch, "Created", args.get("reason"))
    return _detail_response(dispatch)


@blp.route("/<string:number>/decline", methods=["POST"])
@require(Role.TECHNICIAN.value)
@blp.arguments(DeclineSchema)
@blp.response(200, DeclinedSchema)
@blp.doc(parameters=[IF_MATCH])
@_errors(*CHANGE_ERRORS)
@guarded
def decline(args, number):
    """The assigned technician declines before starting: it goes to the recorded fallbacks."""
    dispatch = find(number)
    require_if_match(dispatch)
    matching.decline(dispatch, current_user, args.get("reason"))
    return {"number": number, "detail": f"You declined {number}; it was passed on."}


@blp.route("/<string:number>/candidates", methods=["GET"])
@require(*MANAGERS)
@blp.response(200, CandidatesSchema)
@_errors(401, 403, 404, 409, 429)
def get_candidates(number):
    """Technicians ranked for the dispatch with each factor's value, weight and contribution, and who
    was excluded and why (Created and Assigned dispatches)."""
    dispatch = find(number)
    return candidates(dispatch)
