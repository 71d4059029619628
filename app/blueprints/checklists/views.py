"""Checklist pages: answer items as they are given, report defects, sign off; certify repairs.

Each item saves on its own (htmx posts the item when it changes) and answers with the
item's fragment plus the progress bar out of band. Without JavaScript the whole form is
posted and every changed item is saved the same way. Refusals come back next to the item;
a conflicting edit comes back with the current value and who set it (409).
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.blueprints.checklists import bp
from app.blueprints.security import roles_required
from app.checklists.fields import INSPECTION_DEFECT, FieldKind
from app.extensions import db
from app.models import Asset, AssetStatus, RepairCertification, Role
from app.services import checklists
from app.services.errors import DomainError, NotFound, PermissionDenied


@bp.app_context_processor
def checklist_helpers() -> dict:
    # The dispatch and "my work" pages show checklists through these.
    return {"dispatch_checklists": checklists.checklists_for, "can_edit_checklists": checklists.can_edit}


def _visible_checklist(detail_id: int) -> checklists.Checklist:
    """The checklist, if the user may see it: technicians only see their own dispatches'.

    One whose plugin is not loaded raises ``ChecklistUnavailable`` (409 with its explanation)
    for those who may see it; ``show`` renders it read-only instead.
    """
    try:
        checklist = checklists.get_checklist(detail_id)
    except NotFound:
        abort(404)
    except checklists.ChecklistUnavailable as unavailable:
        _require_visible(unavailable.checklist.dispatch)
        raise
    _require_visible(checklist.detail.dispatch)
    return checklist


def _require_visible(dispatch) -> None:
    if current_user.role == Role.TECHNICIAN and dispatch.assigned_user_id != current_user.id:
        abort(404)


def _submitted(item: checklists.ItemState) -> tuple[str | None, str | None]:
    """The answer and defect description the form sent for an item."""
    name = item.field.name
    if item.field.kind == FieldKind.CHECK:
        return ("true" if request.form.get(name) else ""), None
    return request.form.get(name), request.form.get(f"{name}__description")


def _changed(item: checklists.ItemState, raw: str | None, description: str | None) -> bool:
    if (raw or "").strip() != item.display:
        return True
    current = item.defect.description if item.defect is not None else None
    return item.field.kind == FieldKind.INSPECTION and raw == INSPECTION_DEFECT and (description or "").strip() != current


def _render(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, **context), status))
    response.vary.add("HX-Request")
    return response


@bp.get("/<int:detail_id>")
@login_required
def show(detail_id: int):
    try:
        checklist = _visible_checklist(detail_id)
    except checklists.ChecklistUnavailable as unavailable:
        return _render("checklists/unloaded.html", checklist=unavailable.checklist,
                       dispatch=unavailable.checklist.dispatch)
    return _render("checklists/show.html", checklist=checklist, dispatch=checklist.detail.dispatch, errors={})


def _save_changed(detail_id: int) -> tuple[checklists.Checklist, dict[str, str], dict, int]:
    """Save every item the posted form changed, each by the same rules as a single answer."""
    checklist = _visible_checklist(detail_id)
    errors: dict[str, str] = {}
    typed: dict[str, tuple[str | None, str | None]] = {}
    saved = 0
    for item in list(checklist.items.values()):
        if f"{item.field.name}__seen" not in request.form:
            continue  # not on the form that was posted (an unticked box is absent, its "seen" field is not)
        raw, description = _submitted(item)
        if not _changed(item, raw, description):
            continue
        try:
            _save(checklist, item, raw, description)
            saved += 1
        except DomainError as error:
            db.session.rollback()
            errors[item.field.name] = error.message
            typed[item.field.name] = (raw, description)
        checklist = checklists.get_checklist(detail_id)
    return checklist, errors, typed, saved


def _save(checklist: checklists.Checklist, item: checklists.ItemState, raw: str | None, description: str | None):
    name = item.field.name
    return checklists.save_answer(checklist, name, raw, seen=request.form.get(f"{name}__seen"), actor=current_user,
                                  description=description,
                                  seen_description=request.form.get(f"{name}__seen_description"))


@bp.post("/<int:detail_id>")
@login_required
def save_all(detail_id: int):
    """Without JavaScript: save every item the form changed."""
    checklist, errors, typed, saved = _save_changed(detail_id)
    if errors:
        return _render("checklists/show.html", 422, checklist=checklist, dispatch=checklist.detail.dispatch,
                       errors=errors, typed=typed)
    flash(f"Saved {saved} answer(s)." if saved else "Nothing had changed.", "info")
    return redirect(url_for("checklists.show", detail_id=detail_id))


@bp.post("/<int:detail_id>/items/<name>")
@login_required
def answer(detail_id: int, name: str):
    """Save one item as it is given (htmx); answers with the item and the progress bar."""
    checklist = _visible_checklist(detail_id)
    item = checklist.items.get(name)
    if item is None:
        abort(404)
    raw, description = _submitted(item)
    status, error, typed = 200, None, None
    try:
        item = _save(checklist, item, raw, description)
    except checklists.ChecklistConflict as conflict:
        status, error, item = 409, conflict.message, conflict.current
    except DomainError as refused:
        db.session.rollback()
        status, error, typed = 422, refused.message, (raw, description)
    checklist = checklists.get_checklist(detail_id)
    if not request.headers.get("HX-Request"):
        if error:
            flash(error, "error")
        return redirect(url_for("checklists.show", detail_id=detail_id))
    return _render("checklists/_answer.html", status, checklist=checklist, item=checklist.items[name],
                   error=error, typed={name: typed} if typed else {}, editable=True)


@bp.post("/<int:detail_id>/sign-off")
@login_required
def sign_off(detail_id: int):
    """Save what the form still holds (an answer typed just before), then sign off."""
    checklist, errors, typed, _saved = _save_changed(detail_id)
    dispatch = checklist.detail.dispatch
    if not errors:
        try:
            repair = checklists.sign_off(checklist, current_user)
        except DomainError as error:
            db.session.rollback()
            status = 403 if isinstance(error, PermissionDenied) else 422
            checklist = checklists.get_checklist(detail_id)
            return _render("checklists/show.html", status, checklist=checklist, dispatch=checklist.detail.dispatch,
                           errors={"sign_off": error.message})
    else:
        return _render("checklists/show.html", 422, checklist=checklist, dispatch=dispatch,
                       errors={**errors, "sign_off": "Not signed off: correct the answers marked below first."},
                       typed=typed)
    flash(f"{checklist.label} signed off.", "info")
    if repair is not None:
        flash(f"Defects reported: repair work order {repair.dispatch_number} was opened and "
              f"{dispatch.asset.asset_tag} is out of service until a manager certifies the repair.", "error")
    return redirect(url_for("dispatches.show", dispatch_id=dispatch.id))


# --- Out of service and repair certification (managers) ------------------------------------


@bp.get("/out-of-service")
@roles_required("admin", "manager")
def out_of_service():
    assets = db.session.scalars(
        select(Asset).where(Asset.status == AssetStatus.OUT_OF_SERVICE.value).order_by(Asset.asset_tag)
    ).all()
    defects = {asset.id: checklists.open_defects_of(asset) for asset in assets}
    return _render("checklists/out_of_service.html", assets=assets, defects=defects)


@bp.route("/assets/<int:asset_id>/certify", methods=["GET", "POST"])
@roles_required("admin", "manager")
def certify_repair(asset_id: int):
    asset = db.session.get(Asset, asset_id)
    if asset is None:
        abort(404)
    error, status = None, 200
    form = {"outcome": request.form.get("outcome", ""), "notes": request.form.get("notes", "")}
    if request.method == "POST":
        try:
            checklists.certify_repair(asset, current_user, form["outcome"], form["notes"])
        except DomainError as refused:
            db.session.rollback()
            error, status = refused, 422
        else:
            flash(f"{asset.asset_tag} is back in service; the certification is recorded.", "info")
            return redirect(url_for("checklists.out_of_service"))
    return _render("checklists/certify.html", status, asset=asset, defects=checklists.open_defects_of(asset),
                   error=error, form=form, outcomes=[c.value for c in RepairCertification])
