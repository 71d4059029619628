"""Detail sets: which checklists (dispatch detail types) an asset type or a make/model gives.

Every change is an ``hx-post`` that answers with the updated fragment (set, offered types
and the preview of what a new dispatch gets); without JavaScript the same forms post and
redirect back to the page, which includes the same fragment.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from app.blueprints.admin import bp
from app.blueprints.admin.helpers import get_or_404, is_htmx, render_htmx
from app.blueprints.security import roles_required
from app.extensions import db
from app.models import (
    AssetType,
    AssetTypeDispatchDetailTableSet,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
)
from app.models.dispatching.build import DetailType, detail_types
from app.services import detail_sets as service
from app.services.errors import DomainError

KINDS = {
    "asset-types": (AssetType, AssetTypeDispatchDetailTableSet, "asset_type_id"),
    "make-models": (MakeModel, ModelAdditionalDispatchDetailTableSet, "make_model_id"),
}


@dataclass
class PreviewLine:
    label: str
    types: list[DetailType]
    error: str | None = None


def _owner(kind: str, owner_id: int):
    if kind not in KINDS:
        abort(404)
    return get_or_404(KINDS[kind][0], owner_id)


def _rows(kind: str, owner) -> list:
    model, column = KINDS[kind][1], KINDS[kind][2]
    return db.session.scalars(select(model).where(getattr(model, column) == owner.id).order_by(model.id)).all()


def _plan(label: str, asset_type: AssetType, make_model: MakeModel | None) -> PreviewLine:
    try:
        return PreviewLine(label, service.planned_detail_types(asset_type, make_model))
    except DomainError as error:  # a configured type whose plugin is not loaded
        return PreviewLine(label, [], error.message)


def _preview(kind: str, owner) -> list[PreviewLine]:
    if kind == "asset-types":
        lines = [_plan(f"Any {owner.name} without a model of its own", owner, None)]
        models = db.session.scalars(
            select(MakeModel).where(MakeModel.asset_type_id == owner.id, MakeModel.is_active.is_(True))
            .order_by(MakeModel.make, MakeModel.model)
        )
        lines += [_plan(model.display_name, owner, model) for model in models]
        return lines
    return [_plan(f"{owner.display_name} ({owner.asset_type.name})", owner.asset_type, owner)]


def _context(kind: str, owner, error: str | None = None, message: str | None = None) -> dict:
    registry = detail_types()
    rows = _rows(kind, owner)
    configured = {row.dispatch_detail_table_type for row in rows}
    if kind == "make-models":
        title = f"{owner.display_name}: additional checklists"
        inherited = [row for row in _rows("asset-types", owner.asset_type) if row.is_active]
    else:
        title = f"{owner.name}: checklists"
        inherited = []
    return {
        "kind": kind,
        "owner": owner,
        "title": title,
        "rows": [(row, registry.get(row.dispatch_detail_table_type)) for row in rows],
        "inherited": [(row, registry.get(row.dispatch_detail_table_type)) for row in inherited],
        "offered": [t for t in registry if t.key not in configured],
        "preview": _preview(kind, owner),
        "error": error,
        "message": message,
    }


def _respond(kind: str, owner, *, error: str | None = None, message: str | None = None):
    """After a change: the fragment for htmx, else a redirect (or the full page with a refusal)."""
    if error is not None:
        db.session.rollback()
        return render_htmx("admin/_detail_set.html", "admin/detail_set.html", 422,
                           **_context(kind, owner, error=error))
    if is_htmx():
        return render_htmx("admin/_detail_set.html", "admin/detail_set.html", **_context(kind, owner, message=message))
    flash(message, "info")
    return redirect(url_for("admin.detail_set", kind=kind, owner_id=owner.id))


@bp.get("/<any('asset-types', 'make-models'):kind>/<int:owner_id>/detail-set")
@roles_required("admin")
def detail_set(kind: str, owner_id: int):
    owner = _owner(kind, owner_id)
    return render_htmx("admin/_detail_set.html", "admin/detail_set.html", **_context(kind, owner))


@bp.post("/<any('asset-types', 'make-models'):kind>/<int:owner_id>/detail-set")
@roles_required("admin")
def detail_set_add(kind: str, owner_id: int):
    owner = _owner(kind, owner_id)
    key = request.form.get("dispatch_detail_table_type", "")
    add = service.add_type_to_asset_type if kind == "asset-types" else service.add_type_to_make_model
    try:
        row = add(owner, key)
    except DomainError as error:
        return _respond(kind, owner, error=error.message)
    label = detail_types().get(row.dispatch_detail_table_type).label
    return _respond(kind, owner, message=f"Added {label}.")


def _row(kind: str, owner, row_id: int):
    model, column = KINDS[kind][1], KINDS[kind][2]
    row = db.session.get(model, row_id)
    if row is None or getattr(row, column) != owner.id:
        abort(404, "That checklist is not in this set; it may have been removed already.")
    return row


def _row_label(row) -> str:
    detail_type = detail_types().get(row.dispatch_detail_table_type)
    return detail_type.label if detail_type else row.dispatch_detail_table_type


@bp.post("/<any('asset-types', 'make-models'):kind>/<int:owner_id>/detail-set/<int:row_id>/active")
@roles_required("admin")
def detail_set_active(kind: str, owner_id: int, row_id: int):
    owner = _owner(kind, owner_id)
    row = _row(kind, owner, row_id)
    value = request.form.get("active")
    if value not in {"0", "1"}:
        abort(400, "Send active=1 or active=0.")
    try:
        service.set_table_set_active(row, value == "1")
    except DomainError as error:
        db.session.rollback()
        return _respond(kind, owner, error=error.message)
    return _respond(kind, owner, message=f"{_row_label(row)} is {'active' if value == '1' else 'inactive'}.")


@bp.post("/<any('asset-types', 'make-models'):kind>/<int:owner_id>/detail-set/<int:row_id>/remove")
@roles_required("admin")
def detail_set_remove(kind: str, owner_id: int, row_id: int):
    owner = _owner(kind, owner_id)
    row = _row(kind, owner, row_id)
    label = _row_label(row)
    try:
        service.remove_table_set(row)
    except DomainError as error:
        return _respond(kind, owner, error=error.message)
    return _respond(kind, owner, message=f"Removed {label}; dispatches already created keep their checklists.")
