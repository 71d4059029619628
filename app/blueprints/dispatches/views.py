from datetime import UTC

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.blueprints.dispatches import bp
from app.blueprints.dispatches.forms import DispatchForm
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import Asset, DispatchStatus, Skill
from app.services import queries
from app.services.dispatches import create_dispatch
from app.services.errors import DomainError


@bp.get("/")
@login_required
def index():
    """Read-only list of the dispatches the user may see, newest first."""
    status = request.args.get("status") or None
    if status not in {s.value for s in DispatchStatus}:
        status = None
    page = request.args.get("page", 1, type=int) or 1
    result = queries.dispatch_page(
        current_user, status=status, page=page, per_page=current_app.config["DISPATCHES_PER_PAGE"]
    )
    template = "dispatches/_table.html" if request.headers.get("HX-Request") else "dispatches/index.html"
    response = current_app.make_response(
        render_template(template, page=result, status=status, statuses=[s.value for s in DispatchStatus])
    )
    response.vary.add("HX-Request")
    return response


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin", "manager")
def new():
    """Create a work order; a refusal is shown next to the field, with what was typed kept."""
    form = DispatchForm()
    form.asset_id.choices = [(0, "Choose an asset…")] + [
        (asset.id, f"{asset.asset_tag} — {asset.name}")
        for asset in db.session.scalars(select(Asset).where(Asset.is_active.is_(True)).order_by(Asset.asset_tag))
    ]
    form.required_skill.choices = [("", "The asset type's default")] + [
        (name, name) for name in db.session.scalars(select(Skill.name).order_by(Skill.name))
    ]
    if form.validate_on_submit():
        try:
            dispatch = create_dispatch(
                title=form.title.data,
                asset_id=form.asset_id.data or None,
                priority=form.priority.data,
                description=form.description.data,
                due_date=form.due_date.data.replace(tzinfo=UTC) if form.due_date.data else None,
                required_skill=form.required_skill.data or None,
                estimated_duration_hours=form.estimated_duration_hours.data,
            )
        except DomainError as error:
            db.session.rollback()
            field = getattr(form, error.field or "", None)
            (field.errors if field is not None else form.form_errors).append(error.message)
        else:
            flash(f"Created {dispatch.dispatch_number} with {len(dispatch.all_details)} checklist(s).", "info")
            return redirect(url_for("dispatches.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("dispatches/new.html", form=form), status
