"""The work-order list (managers and admins) with filters, sorting, paging and bulk status changes."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.dispatches import bp
from app.blueprints.dispatches.forms import BulkStatusForm
from app.blueprints.dispatches.helpers import (
    args_of,
    error_status,
    first_error,
    is_htmx,
    safe_list_url,
)
from app.blueprints.downloads import csv_response
from app.blueprints.formatting import display_zone
from app.blueprints.inputs import query_text
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import DispatchPriority, DispatchStatus, Role
from app.services import dispatches as dispatch_service
from app.services import queries
from app.services.errors import DomainError


def _render_list(filters: queries.DispatchFilters, *, fragment: bool, results=None, error: str | None = None,
                 status: int = 200):
    page = queries.dispatch_list(filters, per_page=current_app.config["DISPATCHES_PER_PAGE"])
    context = {
        "page": page,
        "filters": filters,
        "list_url": url_for("dispatches.index", **filters.args(page=page.page)),
        "sort_columns": queries.SORT_COLUMNS,
        "bulk_results": results,
        "bulk_error": error,
        # kept for templates that read the status filter directly
        "status": filters.status,
    }
    if fragment:
        response = current_app.make_response((render_template("dispatches/_table.html", **context), status))
    else:
        context.update(
            statuses=[s.value for s in DispatchStatus],
            priorities=[p.value for p in DispatchPriority],
            due_filters=queries.DUE_FILTERS,
            bulk_targets=dispatch_service.BULK_TARGETS,
            **queries.filter_choices(_technician_search(), filters.technician),
        )
        response = current_app.make_response((render_template("dispatches/index.html", **context), status))
    response.vary.add("HX-Request")
    return response


def _technician_search() -> str | None:
    return query_text("technician_search", limit=100, label="The technician search") or None


def _technician_options():
    """``<option>``s of the list's technician filter whose name contains the search text
    (``?part=technician-options``: asked by the filter's "find technician" box)."""
    technician = queries.DispatchFilters.from_args(request.args).technician
    technicians, more = queries.technician_choices(_technician_search(), technician)
    return render_template("dispatches/_technician_options.html", technicians=technicians, more_technicians=more,
                           technician_search=_technician_search() or "", selected=technician)


@bp.get("/")
@login_required
def index():
    """Every work order, filtered and sorted; an htmx request gets the table fragment only."""
    if current_user.role == Role.TECHNICIAN:
        return redirect(url_for("dispatches.my_work"))
    if request.args.get("part") == "technician-options":
        return _technician_options()
    return _render_list(queries.DispatchFilters.from_args(request.args), fragment=is_htmx())


@bp.get("/export.csv")
@login_required
def export_csv():
    """The list's rows for its filters as a streamed CSV; a technician's are their own work.

    The filters are parsed first, so a bad one is the list's 400 before any byte is sent."""
    filters = queries.DispatchFilters.from_args(request.args)
    zone = display_zone()
    rows = queries.dispatch_export_rows(filters, current_user, zone=zone)
    return csv_response("work-orders.csv", queries.export_header(zone), rows)


@bp.post("/bulk-status")
@roles_required("admin", "manager")
def bulk_status():
    """Move the selected dispatches to one status; each is changed or refused on its own."""
    form = BulkStatusForm()
    back = safe_list_url(form.next.data)
    filters = queries.DispatchFilters.from_args(args_of(back))
    if not form.validate_on_submit():
        message = first_error(form)
        if is_htmx():
            return _render_list(filters, fragment=True, error=message, status=422)
        flash(message, "error")
        return redirect(back, code=303)
    try:
        results = dispatch_service.bulk_change_status(form.dispatch_ids.data, form.status.data, form.reason.data)
    except DomainError as error:
        db.session.rollback()
        if is_htmx():
            return _render_list(filters, fragment=True, error=error.message, status=error_status(error))
        flash(error.message, "error")
        return redirect(back, code=303)
    if is_htmx():
        return _render_list(filters, fragment=True, results=results)
    changed = [r for r in results if r.ok]
    if changed:
        flash(f"{len(changed)} dispatch{'es' if len(changed) != 1 else ''} moved to {form.status.data}: "
              + ", ".join(r.dispatch_number for r in changed) + ".", "info")
    for result in results:
        if not result.ok:
            flash(f"{result.dispatch_number} unchanged: {result.message}", "error")
    return redirect(back, code=303)
