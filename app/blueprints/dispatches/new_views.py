"""The new work order form: searchable asset choice and a preview before saving."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from app.blueprints.dispatches import bp
from app.blueprints.dispatches.forms import DispatchForm
from app.blueprints.dispatches.helpers import is_htmx
from app.blueprints.dispatches.panels import Panel, suggestions
from app.blueprints.inputs import query_int, query_text
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import Asset, Skill, WorkType, utcnow
from app.services.dispatch_creation import date_horizon
from app.services import matching, queries
from app.services.detail_sets import configured_keys, planned_detail_types
from app.services.dispatches import create_dispatch
from app.services.errors import DomainError

ASSET_SEARCH_LIMIT = 50


@dataclass
class Preview:
    """What a work order for the chosen asset will get, shown before it is saved."""

    asset: Asset
    checklists: list[tuple[str, str]] = field(default_factory=list)  # (label, where it comes from)
    checklist_error: str | None = None
    repair: bool = False
    suggestions: Panel | None = None


def _choices(form: DispatchForm) -> None:
    form.asset_id.choices = [(0, "Choose an asset…")] + [
        (asset.id, f"{asset.asset_tag} — {asset.name}") for asset in queries.active_assets()
    ]
    form.required_skill.choices = [("", "The asset type's default")] + [
        (name, name) for name in db.session.scalars(select(Skill.name).order_by(Skill.name))
    ]


def build_preview(form: DispatchForm) -> Preview | None:
    """Checklists, location, service state and suggested technicians for the form's asset."""
    asset_id = form.asset_id.data
    asset = db.session.get(Asset, asset_id) if isinstance(asset_id, int) and asset_id > 0 else None
    if asset is None:
        return None
    preview = Preview(asset=asset, repair=form.work_type.data == WorkType.REPAIR)
    if not preview.repair:
        try:
            planned = planned_detail_types(asset.asset_type, asset.make_model)
            by_type, _ = configured_keys(db.session, [asset.asset_type], [])
            from_type = set(by_type.get(id(asset.asset_type), []))
            model = asset.make_model.display_name if asset.make_model else ""
            preview.checklists = [
                (t.label, f"asset type {asset.asset_type.name}" if t.key in from_type else f"model {model}")
                for t in planned
            ]
        except DomainError as error:
            preview.checklist_error = error.message
    duration = form.estimated_duration_hours.data
    due = form.due_date.data  # UTC, read in the user's zone by the field
    if due is not None and due > date_horizon(utcnow()):
        due = None  # refused when the form is sent; the preview ranks as if no due date was given
    ranking = matching.rank_unsaved(
        asset,
        priority=form.priority.data,
        required_skill=form.required_skill.data or None,
        estimated_duration_hours=duration if isinstance(duration, float) and 0 < duration <= 1000 else None,
        due_date=due,
    )
    preview.suggestions = suggestions(ranking)
    return preview


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin", "manager")
def new():
    """Create a work order; a refusal is shown next to the field, with what was typed kept."""
    form = DispatchForm()
    _choices(form)
    if form.validate_on_submit():
        try:
            dispatch = create_dispatch(
                title=form.title.data,
                asset_id=form.asset_id.data or None,
                priority=form.priority.data,
                description=form.description.data,
                due_date=form.due_date.data,
                required_skill=form.required_skill.data or None,
                estimated_duration_hours=form.estimated_duration_hours.data,
                work_type=form.work_type.data,
            )
        except DomainError as error:
            db.session.rollback()
            field_ = getattr(form, error.field or "", None)
            (field_.errors if field_ is not None else form.form_errors).append(error.message)
        else:
            checklists = len(dispatch.all_details)
            flash(f"Created {dispatch.dispatch_number} with {checklists} checklist(s).", "info")
            return redirect(url_for("dispatches.show", dispatch_id=dispatch.id), code=303)
    status = 422 if request.method == "POST" else 200
    preview = build_preview(form) if request.method == "POST" else None
    return render_template("dispatches/new.html", form=form, preview=preview), status


@bp.route("/new/preview", methods=["GET", "POST"])
@roles_required("admin", "manager")
def preview():
    """What the work order will get, before saving: the fragment for htmx, else the whole form.

    htmx asks with GET and the form's values; without JavaScript the form's Preview button
    posts the form here (with its CSRF token) and gets the form back with the preview.
    """
    formdata = request.form if request.method == "POST" else request.args  # CSRFProtect checks every POST
    form = DispatchForm(formdata=formdata, meta={"csrf": False})
    _choices(form)
    form.validate()  # parses the values; errors are shown only when the form is sent
    result = build_preview(form)
    if is_htmx():
        return render_template("dispatches/_preview.html", preview=result)
    for field_ in form:
        field_.errors = []
    return render_template("dispatches/new.html", form=form, preview=result)


@bp.get("/new/assets")
@roles_required("admin", "manager")
def asset_options():
    """``<option>``s of the active assets whose tag or name contains the search text."""
    search = query_text("asset_search", limit=100, label="The asset search")
    selected = query_int("asset_id", label="The asset", minimum=0)
    assets = queries.active_assets(search or None, limit=ASSET_SEARCH_LIMIT)
    return render_template("dispatches/_asset_options.html", assets=assets, selected=selected, search=search,
                           limit=ASSET_SEARCH_LIMIT)
