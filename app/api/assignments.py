"""``/api/v1/assignments``: recent assignments (the matching engine's records, newest first)."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.api.auth import MANAGERS, require
from app.api.dispatch_schemas import AssignmentPageSchema
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import refusals
from app.api.schemas import PageQuerySchema, page_body
from app.api.serialise import assignment
from app.extensions import db
from app.models import DispatchMetric
from app.services.queries import Page

blp = Blueprint("api_assignments", __name__, description="Recent assignments and their scores.")
URL_PREFIX = "/assignments"


@blp.route("", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, AssignmentPageSchema, headers=PAGE_HEADERS)
@refusals(blp, 401, 403, 422, 429)
def list_assignments(args):
    """Assignments from dispatch_metrics, newest first: a count and one page query."""
    total = db.session.scalar(select(func.count(DispatchMetric.id))) or 0
    rows = db.session.scalars(
        select(DispatchMetric).options(joinedload(DispatchMetric.dispatch), joinedload(DispatchMetric.technician))
        .order_by(DispatchMetric.created_at.desc(), DispatchMetric.id.desc())
        .limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])
    ).all()
    page = Page(items=list(rows), page=args["page"], per_page=args["per_page"], total=total)
    return paged(page_body(page.items, page, [assignment(m) for m in rows]), page)
