"""The asset register: asset types, makes/models, major locations and assets."""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from app.blueprints.admin import bp
from app.blueprints.admin.forms import (
    AssetForm,
    AssetTypeForm,
    LocationForm,
    MakeModelForm,
)
from app.blueprints.admin.helpers import form_page, get_or_404, render_htmx, toggle
from app.blueprints.inputs import query_int, query_text
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import Asset, AssetType, MajorLocation, MakeModel, Skill
from app.services import assets as service

# --- Asset types -------------------------------------------------------------------------


def _asset_types_page(error: str | None = None) -> str:
    asset_types = db.session.scalars(select(AssetType).order_by(AssetType.is_active.desc(), AssetType.name)).all()
    asset_counts = dict(db.session.execute(
        select(Asset.asset_type_id, func.count()).where(Asset.is_active.is_(True)).group_by(Asset.asset_type_id)
    ).all())
    return render_template("admin/asset_types.html", asset_types=asset_types, asset_counts=asset_counts, error=error)


def _skill_choices() -> list[tuple[str, str]]:
    return [("", "None")] + [(name, name) for name in db.session.scalars(select(Skill.name).order_by(Skill.name))]


@bp.get("/asset-types")
@roles_required("admin")
def asset_types():
    return _asset_types_page()


@bp.route("/asset-types/new", methods=["GET", "POST"])
@roles_required("admin")
def asset_type_new():
    form = AssetTypeForm()
    form.default_skill.choices = _skill_choices()

    return form_page(
        form,
        save=lambda f: service.create_asset_type(f.name.data, f.description.data, default_skill=f.default_skill.data),
        done=lambda t: (f"Added the asset type {t.name}. Configure its checklists below.",
                        url_for("admin.detail_set", kind="asset-types", owner_id=t.id)),
        title="New asset type", action=url_for("admin.asset_type_new"), back=url_for("admin.asset_types"),
    )


@bp.route("/asset-types/<int:asset_type_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def asset_type_edit(asset_type_id: int):
    asset_type = get_or_404(AssetType, asset_type_id)
    form = AssetTypeForm(obj=asset_type)
    form.default_skill.choices = _skill_choices()
    if asset_type.default_skill and asset_type.default_skill not in dict(form.default_skill.choices):
        form.default_skill.choices.append((asset_type.default_skill, asset_type.default_skill))
    return form_page(
        form,
        save=lambda f: service.update_asset_type(asset_type, name=f.name.data, description=f.description.data,
                                                 default_skill=f.default_skill.data),
        done=lambda t: (f"Saved the asset type {t.name}.", url_for("admin.asset_types")),
        title=f"Edit asset type {asset_type.name}", action=url_for("admin.asset_type_edit", asset_type_id=asset_type.id),
        back=url_for("admin.asset_types"),
        links=[("Checklists (detail set)", url_for("admin.detail_set", kind="asset-types", owner_id=asset_type.id))],
    )


@bp.post("/asset-types/<int:asset_type_id>/active")
@roles_required("admin")
def asset_type_active(asset_type_id: int):
    asset_type = get_or_404(AssetType, asset_type_id)
    return toggle(asset_type, service.set_asset_type_active, name=f"The asset type {asset_type.name}",
                  target=url_for("admin.asset_types"), refused=_asset_types_page)


# --- Makes and models --------------------------------------------------------------------


def _make_models_page(error: str | None = None) -> str:
    make_models = db.session.scalars(
        select(MakeModel).join(MakeModel.asset_type)
        .options(contains_eager(MakeModel.asset_type))
        .order_by(MakeModel.is_active.desc(), MakeModel.make, MakeModel.model)
    ).all()
    return render_template("admin/make_models.html", make_models=make_models, error=error)


def _type_choices(current: AssetType | None = None) -> list[tuple[int, str]]:
    """Active asset types, plus the current one even if it has been deactivated since."""
    query = select(AssetType).order_by(AssetType.name)
    choices = [(t.id, t.name if t.is_active else f"{t.name} (inactive)") for t in db.session.scalars(query)
               if t.is_active or (current is not None and t.id == current.id)]
    return [(0, "Choose a type…")] + choices


def _chosen_type(form) -> AssetType | None:
    return db.session.get(AssetType, form.asset_type_id.data) if form.asset_type_id.data else None


@bp.get("/make-models")
@roles_required("admin")
def make_models():
    return _make_models_page()


@bp.route("/make-models/new", methods=["GET", "POST"])
@roles_required("admin")
def make_model_new():
    form = MakeModelForm()
    form.asset_type_id.choices = _type_choices()
    return form_page(
        form,
        save=lambda f: service.create_make_model(f.make.data, f.model.data, _chosen_type(f)),
        done=lambda m: (f"Added {m.display_name}.", url_for("admin.make_models")),
        title="New make / model", action=url_for("admin.make_model_new"), back=url_for("admin.make_models"),
    )


@bp.route("/make-models/<int:make_model_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def make_model_edit(make_model_id: int):
    make_model = get_or_404(MakeModel, make_model_id)
    form = MakeModelForm(obj=make_model)
    form.asset_type_id.choices = _type_choices(make_model.asset_type)
    return form_page(
        form,
        save=lambda f: service.update_make_model(make_model, make=f.make.data, model=f.model.data,
                                                 asset_type=_chosen_type(f)),
        done=lambda m: (f"Saved {m.display_name}.", url_for("admin.make_models")),
        title=f"Edit {make_model.display_name}", action=url_for("admin.make_model_edit", make_model_id=make_model.id),
        back=url_for("admin.make_models"),
        links=[("Additional checklists", url_for("admin.detail_set", kind="make-models", owner_id=make_model.id))],
    )


@bp.post("/make-models/<int:make_model_id>/active")
@roles_required("admin")
def make_model_active(make_model_id: int):
    make_model = get_or_404(MakeModel, make_model_id)
    return toggle(make_model, service.set_make_model_active, name=make_model.display_name,
                  target=url_for("admin.make_models"), refused=_make_models_page)


# --- Major locations ---------------------------------------------------------------------


def _locations_page(error: str | None = None) -> str:
    locations = db.session.scalars(
        select(MajorLocation).order_by(MajorLocation.is_active.desc(), MajorLocation.name)
    ).all()
    return render_template("admin/locations.html", locations=locations, error=error)


@bp.get("/locations")
@roles_required("admin")
def locations():
    return _locations_page()


@bp.route("/locations/new", methods=["GET", "POST"])
@roles_required("admin")
def location_new():
    form = LocationForm()
    return form_page(
        form,
        save=lambda f: service.create_location(f.name.data, (f.address.data or "").strip() or None,
                                               f.latitude.data, f.longitude.data),
        done=lambda loc: (f"Added the location {loc.name}.", url_for("admin.locations")),
        title="New location", action=url_for("admin.location_new"), back=url_for("admin.locations"),
    )


@bp.route("/locations/<int:location_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def location_edit(location_id: int):
    location = get_or_404(MajorLocation, location_id)
    form = LocationForm(obj=location)
    return form_page(
        form,
        save=lambda f: service.update_location(location, name=f.name.data, address=f.address.data,
                                               latitude=f.latitude.data, longitude=f.longitude.data),
        done=lambda loc: (f"Saved the location {loc.name}.", url_for("admin.locations")),
        title=f"Edit location {location.name}", action=url_for("admin.location_edit", location_id=location.id),
        back=url_for("admin.locations"),
    )


@bp.post("/locations/<int:location_id>/active")
@roles_required("admin")
def location_active(location_id: int):
    location = get_or_404(MajorLocation, location_id)
    return toggle(location, service.set_location_active, name=f"The location {location.name}",
                  target=url_for("admin.locations"), refused=_locations_page)


# --- Assets ------------------------------------------------------------------------------


def _asset_filters() -> dict:
    show = request.args.get("show", "active")
    return {
        "q": query_text("q", limit=100, label="The search"),
        "asset_type_id": query_int("asset_type_id", label="The asset type", minimum=0) or 0,
        "show": show if show in {"active", "inactive", "all"} else "active",
        "page": query_int("page", label="The page") or 1,
    }


def _assets_context(error: str | None = None) -> dict:
    filters = _asset_filters()
    result = service.asset_page(
        q=filters["q"], asset_type_id=filters["asset_type_id"] or None, show=filters["show"],
        page=filters["page"], per_page=current_app.config.get("ADMIN_ASSETS_PER_PAGE", 50),
    )
    asset_types = db.session.scalars(select(AssetType).order_by(AssetType.name)).all()
    return {"page": result, "filters": filters, "asset_types": asset_types, "error": error}


@bp.get("/assets")
@roles_required("admin")
def assets():
    return render_htmx("admin/_assets_table.html", "admin/assets.html", **_assets_context())


def _asset_choices(form: AssetForm, asset: Asset | None = None) -> None:
    form.asset_type_id.choices = _type_choices(asset.asset_type if asset else None)
    models = db.session.scalars(
        select(MakeModel).join(MakeModel.asset_type).options(contains_eager(MakeModel.asset_type)).order_by(MakeModel.make, MakeModel.model)
    )
    form.make_model_id.choices = [(0, "None")] + [
        (m.id, f"{m.display_name} ({m.asset_type.name}){'' if m.is_active else ' (inactive)'}") for m in models
        if m.is_active or (asset is not None and asset.make_model_id == m.id)
    ]
    form.major_location_id.choices = [(0, "None")] + [
        (loc.id, loc.name if loc.is_active else f"{loc.name} (inactive)")
        for loc in db.session.scalars(select(MajorLocation).order_by(MajorLocation.name))
        if loc.is_active or (asset is not None and asset.major_location_id == loc.id)
    ]


def _asset_values(form: AssetForm) -> dict:
    return {
        "asset_tag": form.asset_tag.data,
        "name": form.name.data,
        "asset_type": db.session.get(AssetType, form.asset_type_id.data) if form.asset_type_id.data else None,
        "make_model": db.session.get(MakeModel, form.make_model_id.data) if form.make_model_id.data else None,
        "location": db.session.get(MajorLocation, form.major_location_id.data) if form.major_location_id.data else None,
        "odometer": form.odometer.data,
    }


@bp.route("/assets/new", methods=["GET", "POST"])
@roles_required("admin")
def asset_new():
    form = AssetForm()
    _asset_choices(form)
    return form_page(
        form,
        save=lambda f: service.create_asset(**_asset_values(f)),
        done=lambda a: (f"Added {a.asset_tag} ({a.name}), In Service.", url_for("admin.assets")),
        title="New asset", action=url_for("admin.asset_new"), back=url_for("admin.assets"),
        note="A new asset starts In Service.",
    )


@bp.route("/assets/<int:asset_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def asset_edit(asset_id: int):
    asset = get_or_404(Asset, asset_id)
    form = AssetForm(obj=asset)
    if request.method == "GET":
        form.make_model_id.data = asset.make_model_id or 0
        form.major_location_id.data = asset.major_location_id or 0
    _asset_choices(form, asset)
    return form_page(
        form,
        save=lambda f: service.update_asset(asset, **_asset_values(f)),
        done=lambda a: (f"Saved {a.asset_tag}.", url_for("admin.assets")),
        title=f"Edit asset {asset.asset_tag}", action=url_for("admin.asset_edit", asset_id=asset.id),
        back=url_for("admin.assets"),
        readonly=[("Status", asset.status)],
        note="The status (In Service / Out of Service) is changed by repair certification, not here.",
    )


@bp.post("/assets/<int:asset_id>/active")
@roles_required("admin")
def asset_active(asset_id: int):
    asset = get_or_404(Asset, asset_id)
    return toggle(asset, service.set_asset_active, name=asset.asset_tag, target=url_for("admin.assets"),
                  refused=lambda message: render_template("admin/assets.html", **_assets_context(message)))
