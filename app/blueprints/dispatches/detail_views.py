"""The dispatch page (status buttons, assignment panel, timeline) and the technician's My work."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.blueprints.dispatches import bp
from app.blueprints.dispatches.forms import AssignForm, PositionForm, StatusForm
from app.blueprints.dispatches.helpers import error_status, first_error, is_htmx
from app.blueprints.dispatches.panels import assignment_panel, current_metric, factors, fallback_names, weights
from app.blueprints.inputs import query_text
from app.blueprints.security import MY_WORK_PERMISSIONS_POLICY, roles_required
from app.extensions import db
from app.models import DispatchStatus, Role
from app.services import dispatches as dispatch_service
from app.services import matching, metrics, queries
from app.services import technicians as technician_service
from app.services.errors import DomainError, NotFound, ValidationError
from app.services.numbers import parse_decimal, parse_int

S = DispatchStatus
#: The steps a technician takes on their own dispatches.
TECHNICIAN_TARGETS = (S.EN_ROUTE, S.IN_PROGRESS, S.COMPLETED)
BUTTON_LABELS = {S.EN_ROUTE: "En route", S.IN_PROGRESS: "Start work", S.COMPLETED: "Complete",
                 S.CANCELLED: "Cancel work order", S.CREATED: "Unassign"}


def _is_manager() -> bool:
    return current_user.role in (Role.ADMIN, Role.MANAGER)


def status_buttons(dispatch) -> list[str]:
    """The statuses this user may move the dispatch to from here (Assigned and Unassign have their own panel)."""
    allowed = [s for s in dispatch_service.allowed_next(dispatch.status) if s not in (S.ASSIGNED, S.CREATED)]
    if not _is_manager():
        allowed = [s for s in allowed if s in TECHNICIAN_TARGETS]
    return allowed


def render_show(dispatch_id: int, *, error: str | None = None, status: int = 200, reason: str = "",
                cancel_error: str | None = None, confirm_cancel: bool = False):
    dispatch = queries.dispatch_for_page(dispatch_id, current_user)
    panel = assignment_panel(dispatch) if _is_manager() and not dispatch.is_final else None
    metric = current_metric(dispatch)
    context = {
        "dispatch": dispatch,
        "error": error,
        "reason": reason,
        "cancel_error": cancel_error,
        "confirm_cancel": confirm_cancel or cancel_error is not None,
        "buttons": status_buttons(dispatch),
        "labels": BUTTON_LABELS,
        "is_manager": _is_manager(),
        "panel": panel,
        "metric": metric,
        "fallback_names": fallback_names(metric, panel),
        "weights": weights(),
        "panel_factors": factors,
        "can_certify": "checklists.certify_repair" in current_app.view_functions,
        "can_unassign": _is_manager() and S.CREATED in dispatch_service.allowed_next(dispatch.status),
    }
    return render_template("dispatches/show.html", **context), status


def render_my_work(*, error: str | None = None, status: int = 200, position_error: str | None = None):
    work = queries.my_work(current_user)
    own = metrics.technicians_now(technician_id=current_user.id)
    response = current_app.make_response((render_template(
        "dispatches/my_work.html", work=work, figures=own[0] if own else None, error=error, labels=BUTTON_LABELS,
        allowed_next=dispatch_service.allowed_next, targets=TECHNICIAN_TARGETS, position_form=PositionForm(),
        position_error=position_error, last_position=technician_service.last_position(current_user)), status))
    response.headers["Permissions-Policy"] = MY_WORK_PERMISSIONS_POLICY
    return response


@bp.get("/mine")
@login_required
def my_work():
    """A technician's open work, most urgent first, with the next steps as buttons."""
    if current_user.role != Role.TECHNICIAN:
        return redirect(url_for("dispatches.index"))
    return render_my_work()


def _position_values(form: PositionForm) -> tuple[float, float, float | None, datetime]:
    """The shared position as the service takes it; a value that is not a number says which."""
    def text(field) -> str:
        return (field.data or "").strip()

    if not text(form.latitude) or not text(form.longitude) or not text(form.taken_at_ms):
        raise ValidationError("No position came with the request: allow this site to use your location, then press "
                              "“Share my location” again.")
    latitude = parse_decimal(text(form.latitude), label="Latitude", field="latitude")
    longitude = parse_decimal(text(form.longitude), label="Longitude", field="longitude")
    accuracy = parse_decimal(text(form.accuracy_m), label="Accuracy", field="accuracy_m") if text(form.accuracy_m) else None
    taken_ms = parse_int(text(form.taken_at_ms), label="The time of the position", field="reported_at", minimum=0,
                         maximum=10**14)
    try:
        reported_at = datetime.fromtimestamp(taken_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValidationError("The time of the position is not a date this server can read.",
                              field="reported_at") from None
    return latitude, longitude, accuracy, reported_at


@bp.post("/mine/position")
@login_required
def share_position():
    """Record the location the technician's browser gave (My work's "Share my location")."""
    if current_user.role != Role.TECHNICIAN:
        abort(403)
    form = PositionForm()
    if not form.validate_on_submit():
        return render_my_work(position_error="The form had expired; reload the page and share your location again.",
                              status=400)
    try:
        position = technician_service.report_position(current_user, *_position_values(form))
    except DomainError as error:
        db.session.rollback()
        return render_my_work(position_error=error.message, status=400)
    minutes = current_app.config["MOTORPOOL_POSITION_MAX_AGE_MINUTES"]
    flash(f"Location shared (within {position.accuracy_m:,.0f} m). For the next {minutes} minutes new work is "
          "matched from here rather than from your home base." if position.accuracy_m is not None else
          f"Location shared. For the next {minutes} minutes new work is matched from here rather than from your "
          "home base.", "info")
    return redirect(url_for("dispatches.my_work"))


@bp.get("/<int:dispatch_id>")
@login_required
def show(dispatch_id: int):
    if request.args.get("part") == "assign-options" and _is_manager():
        # The manual picker's search: technicians whose name contains the text (one query).
        search = query_text("assign_search", limit=100, label="The technician search") or None
        technicians, more = queries.technician_choices(search)
        response = current_app.make_response(render_template(
            "dispatches/_technician_options.html", technicians=technicians, more_technicians=more,
            technician_search=search or "", selected=None, for_assignment=True))
        response.vary.add("HX-Request")
        return response
    return render_show(dispatch_id)


@bp.get("/<int:dispatch_id>/print")
@login_required
def print_view(dispatch_id: int):
    """The work order as a sheet for the cab; who may see the dispatch page may print it."""
    dispatch = queries.dispatch_for_page(dispatch_id, current_user)
    return render_template("dispatches/print.html", dispatch=dispatch)


def _load_for_change(dispatch_id: int):
    """The dispatch a POST acts on; technicians only reach their own (others: 404)."""
    dispatch = dispatch_service.get_dispatch(dispatch_id)
    if current_user.role == Role.TECHNICIAN and dispatch.assigned_user_id != current_user.id:
        raise NotFound(dispatch_service.not_yours_message(dispatch, current_user))
    return dispatch


@bp.post("/<int:dispatch_id>/status")
@login_required
def change_status(dispatch_id: int):
    """One status button: moves the dispatch or shows why not (nothing changes then)."""
    form = StatusForm()
    dispatch = _load_for_change(dispatch_id)
    target = (form.status.data or "").strip()
    if not _is_manager() and target not in TECHNICIAN_TARGETS:
        abort(403)
    back_to_my_work = form.return_to.data == "my_work" and current_user.role == Role.TECHNICIAN
    from_confirmation = form.return_to.data == "cancel" and target == S.CANCELLED
    try:
        if not form.validate_on_submit():
            from app.services.errors import ValidationError

            raise ValidationError(first_error(form), field="status")
        number = dispatch.dispatch_number
        dispatch_service.require_unchanged(dispatch, form.version.data)
        dispatch_service.change_status(dispatch, target, form.reason.data)
    except DomainError as error:
        db.session.rollback()
        if back_to_my_work:
            return render_my_work(error=error.message, status=error_status(error))
        if from_confirmation:
            return render_cancel(dispatch_id, error=error.message, status=error_status(error),
                                 reason=form.reason.data or "")
        return render_show(dispatch_id, error=error.message, status=error_status(error), reason=form.reason.data or "")
    flash(f"{number} is now {target}." if target != S.CREATED else f"{number} was unassigned.", "info")
    if back_to_my_work:
        return redirect(url_for("dispatches.my_work"), code=303)
    return redirect(url_for("dispatches.show", dispatch_id=dispatch_id), code=303)


def render_cancel(dispatch_id: int, *, error: str | None = None, status: int = 200, reason: str = ""):
    """The cancellation's confirmation: in place on the dispatch page (htmx), or its own page."""
    if is_htmx():
        # The confirmation form swaps #dispatch-detail: the page again, with the panel still open.
        return render_show(dispatch_id, cancel_error=error, confirm_cancel=True, status=status, reason=reason)
    dispatch = queries.dispatch_for_page(dispatch_id, current_user)
    return render_template("dispatches/cancel.html", dispatch=dispatch, cancel_error=error, reason=reason), status


@bp.get("/<int:dispatch_id>/cancel")
@roles_required("admin", "manager")
def cancel(dispatch_id: int):
    """Ask before cancelling: a reason, then "Cancel work order" or "Keep it"."""
    dispatch = dispatch_service.get_dispatch(dispatch_id)
    dispatch_service.check_transition(dispatch.status, S.CANCELLED)  # a final one says so (409)
    if is_htmx():
        response = current_app.make_response(render_template(
            "dispatches/_cancel_confirm.html", dispatch=dispatch, cancel_error=None, reason=""))
    else:
        response = current_app.make_response(render_cancel(dispatch_id))
    response.vary.add("HX-Request")
    return response


@bp.post("/<int:dispatch_id>/assign")
@roles_required("admin", "manager")
def assign(dispatch_id: int):
    """Assign or reassign to a chosen technician; the engine's view of the choice is recorded."""
    form = AssignForm()
    dispatch = dispatch_service.get_dispatch(dispatch_id)
    if not form.validate_on_submit():
        return render_show(dispatch_id, error=first_error(form), status=422)
    try:
        number = dispatch.dispatch_number
        dispatch_service.require_unchanged(dispatch, form.version.data)
        metric = matching.assign_to(dispatch, form.technician_id.data, reason=form.reason.data)
        name = dispatch.assigned_user.name
    except DomainError as error:
        db.session.rollback()
        return render_show(dispatch_id, error=error.message, status=error_status(error), reason=form.reason.data or "")
    flash(f"{number} assigned to {name}" + (" (an override of the engine, recorded in the history)."
                                            if metric.mode == matching.OVERRIDE else "."), "info")
    return redirect(url_for("dispatches.show", dispatch_id=dispatch_id), code=303)
