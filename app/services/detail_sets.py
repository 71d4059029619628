"""Which dispatch detail types (checklists) an asset type and a make/model are configured with.

A dispatch gets the active types of its asset's type, then the active additional types of
its make/model that the type does not already give, in the order they were configured.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import (
    AssetType,
    AssetTypeDispatchDetailTableSet,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
)
from app.models.dispatching.build import DetailType, detail_types
from app.services.errors import NotFound, ValidationError
from app.services.transaction import transaction

TypeSetRow = AssetTypeDispatchDetailTableSet | ModelAdditionalDispatchDetailTableSet

def _pending_rows(session: Session, model: type[TypeSetRow]) -> list[TypeSetRow]:
    """Table-set rows added to the session but not flushed yet (created in the same unit of work)."""
    return [obj for obj in session.new if isinstance(obj, model)]

def configured_keys(
    session: Session,
    asset_types: Iterable[AssetType],
    make_models: Iterable[MakeModel | None],
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Active detail type keys per asset type and per make/model, in configuration order.

    Two queries whatever the number of types and models, so that creating dispatches in
    bulk does not query once per dispatch. Keys are returned per ``id(obj)``, which
    works for rows the session has not flushed yet.
    """
    asset_types = [t for t in asset_types if t is not None]
    make_models = [m for m in make_models if m is not None]
    by_type: dict[int, list[str]] = defaultdict(list)
    by_model: dict[int, list[str]] = defaultdict(list)

    # Rows are loaded as objects, not columns: a row the session holds with changes not
    # flushed yet (deactivated, or deleted, in the same unit of work) counts as changed.
    type_by_id = {t.id: t for t in asset_types if t.id is not None}
    if type_by_id:
        rows = session.scalars(
            select(AssetTypeDispatchDetailTableSet)
            .where(AssetTypeDispatchDetailTableSet.asset_type_id.in_(type_by_id))
            .order_by(AssetTypeDispatchDetailTableSet.id)
        )
        for row in rows:
            if row.is_active and row not in session.deleted and row.asset_type_id in type_by_id:
                by_type[id(type_by_id[row.asset_type_id])].append(row.dispatch_detail_table_type)
    model_by_id = {m.id: m for m in make_models if m.id is not None}
    if model_by_id:
        rows = session.scalars(
            select(ModelAdditionalDispatchDetailTableSet)
            .where(ModelAdditionalDispatchDetailTableSet.make_model_id.in_(model_by_id))
            .order_by(ModelAdditionalDispatchDetailTableSet.id)
        )
        for row in rows:
            if row.is_active and row not in session.deleted and row.make_model_id in model_by_id:
                by_model[id(model_by_id[row.make_model_id])].append(row.dispatch_detail_table_type)

    # Rows not flushed yet, e.g. a type set and a dispatch created in one transaction.
    for row in _pending_rows(session, AssetTypeDispatchDetailTableSet):
        owner = row.asset_type or type_by_id.get(row.asset_type_id)
        if owner is not None and row.is_active is not False:
            by_type[id(owner)].append(row.dispatch_detail_table_type)
    for row in _pending_rows(session, ModelAdditionalDispatchDetailTableSet):
        owner = row.make_model or model_by_id.get(row.make_model_id)
        if owner is not None and row.is_active is not False:
            by_model[id(owner)].append(row.dispatch_detail_table_type)
    return by_type, by_model

def merge_keys(type_keys: Iterable[str], model_keys: Iterable[str]) -> list[str]:
    """The asset type's keys, then the model's additions; each key once."""
    return list(dict.fromkeys([*type_keys, *model_keys]))

def resolve_keys(keys: Iterable[str], where: str) -> list[DetailType]:
    """Registered detail types for ``keys``; refuses a key no loaded plugin provides."""
    registry = detail_types()
    resolved = []
    for key in keys:
        detail_type = registry.get(key)
        if detail_type is None:
            raise ValidationError(
                f"{where} is configured with the detail type {key!r}, which no enabled plugin "
                f"provides (known types: {', '.join(registry.keys()) or 'none'}). Enable the plugin "
                f"that provides it, or remove {key!r} from the detail set.",
                field="asset_id",
            )
        resolved.append(detail_type)
    return resolved

def planned_detail_types(asset_type: AssetType, make_model: MakeModel | None) -> list[DetailType]:
    """What a new dispatch for an asset of this type and model will get (the preview)."""
    by_type, by_model = configured_keys(db.session, [asset_type], [make_model])
    keys = merge_keys(by_type.get(id(asset_type), []), by_model.get(id(make_model), []) if make_model else [])
    where = f"Asset type {asset_type.name!r}" + (f" / model {make_model.display_name!r}" if make_model else "")
    return resolve_keys(keys, where)

# --- Configuration (admin) ---------------------------------------------------------------

def _require_registered(key: str, field: str = "dispatch_detail_table_type") -> str:
    key = (key or "").strip()
    registry = detail_types()
    if key not in registry:
        raise ValidationError(
            f"There is no detail type {key!r}. Choose one of: {', '.join(registry.keys()) or 'none'}.",
            field=field,
        )
    return key

def add_type_to_asset_type(asset_type: AssetType, key: str) -> AssetTypeDispatchDetailTableSet:
    key = _require_registered(key)
    with transaction():
        existing = db.session.scalar(
            select(AssetTypeDispatchDetailTableSet).where(
                AssetTypeDispatchDetailTableSet.asset_type_id == asset_type.id,
                AssetTypeDispatchDetailTableSet.dispatch_detail_table_type == key,
            )
        )
        if existing is not None:
            existing.is_active = True
            return existing
        row = AssetTypeDispatchDetailTableSet(asset_type=asset_type, dispatch_detail_table_type=key)
        db.session.add(row)
        return row

def add_type_to_make_model(make_model: MakeModel, key: str) -> ModelAdditionalDispatchDetailTableSet:
    key = _require_registered(key)
    with transaction():
        existing = db.session.scalar(
            select(ModelAdditionalDispatchDetailTableSet).where(
                ModelAdditionalDispatchDetailTableSet.make_model_id == make_model.id,
                ModelAdditionalDispatchDetailTableSet.dispatch_detail_table_type == key,
            )
        )
        if existing is not None:
            existing.is_active = True
            return existing
        row = ModelAdditionalDispatchDetailTableSet(make_model=make_model, dispatch_detail_table_type=key)
        db.session.add(row)
        return row

def set_table_set_active(row: TypeSetRow, active: bool) -> None:
    """Activate or deactivate a type in a set; only a type a loaded plugin provides can be active."""
    if active and row.dispatch_detail_table_type not in detail_types():
        raise ValidationError(
            f"No enabled plugin provides {row.dispatch_detail_table_type!r}, so it cannot be activated; "
            "enable its plugin (and restart) or remove it from the set.",
            field="dispatch_detail_table_type",
        )
    with transaction():
        row.is_active = active

def remove_table_set(row: TypeSetRow) -> None:
    """Remove a type from a set; dispatches already created keep their checklist rows."""
    with transaction():
        db.session.delete(row)

def validate_table_set_rows(session: Session) -> None:
    """Refuse table-set rows, however they were written, whose key no plugin registers."""
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, (AssetTypeDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet)):
            state = inspect(obj)
            if state.deleted:
                continue
            history = state.attrs.dispatch_detail_table_type.history
            if obj in session.new or history.has_changes():
                # Stored as checked (without surrounding blanks), so dispatch creation finds it.
                key = _require_registered(obj.dispatch_detail_table_type)
                if key != obj.dispatch_detail_table_type:
                    obj.dispatch_detail_table_type = key

def get_asset_type(asset_type_id: int) -> AssetType:
    asset_type = db.session.get(AssetType, asset_type_id)
    if asset_type is None:
        raise NotFound(f"Asset type #{asset_type_id} does not exist.")
    return asset_type

# --- By name (command line) --------------------------------------------------------------

def detail_type_key(name: str) -> str:
    """The key of the registered detail type called ``name`` (its key or its label, any case)."""
    wanted = (name or "").strip().lower()
    for detail_type in detail_types():
        if wanted in {detail_type.key.lower(), detail_type.label.lower()}:
            return detail_type.key
    return _require_registered(name)

def rows_of(owner: AssetType | MakeModel) -> list[TypeSetRow]:
    """The configured rows of a type's or a model's set, in configuration order."""
    if isinstance(owner, AssetType):
        model, column = AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.asset_type_id
    else:
        model, column = ModelAdditionalDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet.make_model_id
    return list(db.session.scalars(select(model).where(column == owner.id).order_by(model.id)))

def add_to_set(owner: AssetType | MakeModel, name: str) -> TypeSetRow:
    key = detail_type_key(name)
    return add_type_to_asset_type(owner, key) if isinstance(owner, AssetType) else add_type_to_make_model(owner, key)

def remove_from_set(owner: AssetType | MakeModel, name: str) -> str:
    """Remove the type called ``name`` from the set; the key removed."""
    wanted = (name or "").strip().lower()
    registry = detail_types()
    for row in rows_of(owner):
        detail_type = registry.get(row.dispatch_detail_table_type)
        names = {row.dispatch_detail_table_type.lower()} | ({detail_type.label.lower()} if detail_type else set())
        if wanted in names:
            remove_table_set(row)
            return row.dispatch_detail_table_type
    configured = ", ".join(row.dispatch_detail_table_type for row in rows_of(owner)) or "none"
    raise ValidationError(f"{name!r} is not in this set (configured: {configured}).", field="dispatch_detail_table_type")

# --- By key (API) ------------------------------------------------------------------------

def add_new_to_set(owner: AssetType | MakeModel, key: str, field: str = "key") -> TypeSetRow:
    """Add a registered type the set does not hold yet; a key already in it (active or not) is refused.

    The page offers only types not in the set; a caller naming one by key is told, rather than
    having an inactive entry silently switched back on.
    """
    key = _require_registered(key, field)
    for row in rows_of(owner):
        if row.dispatch_detail_table_type == key:
            state = "" if row.is_active else " (inactive: set its active to true to use it again)"
            raise ValidationError(f"{key!r} is already in this set{state}; each type is in a set once.", field=field)
    return add_type_to_asset_type(owner, key) if isinstance(owner, AssetType) else add_type_to_make_model(owner, key)

def row_for_key(owner: AssetType | MakeModel, key: str) -> TypeSetRow:
    """The set's row for exactly ``key`` (also one whose plugin is not loaded), else NotFound."""
    rows = rows_of(owner)
    for row in rows:
        if row.dispatch_detail_table_type == key:
            return row
    configured = ", ".join(row.dispatch_detail_table_type for row in rows) or "none"
    raise NotFound(f"{key!r} is not in this set (configured: {configured}).")

def planned_keys(owner: AssetType | MakeModel) -> list[str]:
    """The keys a new dispatch gets from this set: a type's own, or its type's then a model's additions."""
    asset_type, make_model = (owner, None) if isinstance(owner, AssetType) else (owner.asset_type, owner)
    by_type, by_model = configured_keys(db.session, [asset_type], [make_model])
    return merge_keys(by_type.get(id(asset_type), []), by_model.get(id(make_model), []) if make_model else [])
