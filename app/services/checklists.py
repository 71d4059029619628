"""Checklists (dispatch detail rows): answering, defects, sign-off and repair certification.

- ``save_answer`` stores one answer as it is given. It is a compare-and-set: the caller
  says which value it saw, and if someone else changed the item since, nothing is saved
  and ``ChecklistConflict`` carries the current value and who set it.
- An inspection item is either OK or a defect with a description (a driver vehicle
  inspection report, 49 CFR 396.11).
- ``sign_off`` records who completed the checklist and when. With defects it also opens
  a repair work order for the asset and takes the asset out of service.
- ``certify_repair`` is the manager's certification that the defects were repaired (or
  that no repair was needed); only then does the asset return to service.
- ``unsigned_checklists`` is what stops a dispatch from being Completed too early.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.checklists.fields import (
    INSPECTION_DEFECT,
    INSPECTION_OK,
    ChecklistField,
    FieldKind,
    checklist_fields,
    field_named,
    groups_of,
)
from app.extensions import db
from app.models import (
    AllDispatchDetail,
    Asset,
    AssetStatus,
    ChecklistDefect,
    Dispatch,
    DispatchDetailVirtual,
    DispatchPriority,
    DispatchStatus,
    Event,
    RepairCertification,
    Role,
    User,
    WorkType,
    utcnow,
)
from app.models.dispatching.build import detail_types
from app.services import lifecycle, webhook_subscriptions
from app.services.actors import acting_as
from app.services.local_time import format_local
from app.services.errors import ConcurrentUpdate, NotFound, PermissionDenied, ValidationError
from app.services.transaction import transaction

DESCRIPTION_MAX = 2000


class ChecklistConflict(ConcurrentUpdate):
    """Someone else changed the item first; nothing was saved."""

    def __init__(self, message: str, field: str, current: ItemState) -> None:
        super().__init__(message, field)
        self.current = current


@dataclass
class ItemState:
    """One item of a checklist as it stands: its value and, for inspections, its defect."""

    field: ChecklistField
    value: Any
    defect: ChecklistDefect | None = None

    @property
    def display(self) -> str:
        """What the form shows, and what the browser sends back as the value it saw."""
        if self.field.kind == FieldKind.INSPECTION:
            if self.value:
                return INSPECTION_OK
            return INSPECTION_DEFECT if self.defect is not None else ""
        return self.field.display(self.value)

    @property
    def answered(self) -> bool:
        if self.field.kind == FieldKind.INSPECTION:
            return bool(self.value) or self.defect is not None
        if self.field.kind == FieldKind.CHECK:
            return bool(self.value)
        return self.value not in (None, "")


@dataclass
class Checklist:
    """A checklist row with its definition, answers, defects and progress."""

    detail: DispatchDetailVirtual
    items: dict[str, ItemState]
    defects: list[ChecklistDefect] = field(default_factory=list)
    loaded = True  # its type's plugin is loaded (see UnloadedChecklist)

    @property
    def label(self) -> str:
        return self.detail.label

    @property
    def id(self) -> int:
        return self.detail.detail_id

    @property
    def groups(self) -> list[tuple[str, list[ItemState]]]:
        fields = tuple(item.field for item in self.items.values())
        return [(name, [self.items[f.name] for f in group]) for name, group in groups_of(fields)]

    @property
    def counted(self) -> list[ItemState]:
        """Items progress is measured on: the required ones, or all when none is required."""
        required = [item for item in self.items.values() if item.field.required]
        return required or list(self.items.values())

    @property
    def answered(self) -> int:
        return sum(item.answered for item in self.counted)

    @property
    def total(self) -> int:
        return len(self.counted)

    @property
    def missing(self) -> list[str]:
        return [item.field.label for item in self.items.values() if item.field.required and not item.answered]

    @property
    def signed_off(self) -> bool:
        return self.detail.is_signed_off

    @property
    def signed_off_at(self) -> datetime | None:
        return getattr(self.detail, self.detail.signed_off_at_column)

    @property
    def signed_off_by_id(self) -> int | None:
        return getattr(self.detail, self.detail.signed_off_by_column)


# --- Reading ------------------------------------------------------------------------------


@dataclass
class UnloadedChecklist:
    """A checklist row whose type no loaded plugin provides (disabled, downgraded, uninstalled).

    Its answers stay in the plugin's table, which Motorpool cannot read without the plugin;
    the master row still says what it was and whether it was signed off, so it is shown
    read-only and still keeps its dispatch from being Completed while unsigned.
    """

    master: AllDispatchDetail
    defects: list[ChecklistDefect] = field(default_factory=list)
    loaded = False

    @property
    def id(self) -> int:
        return self.master.id

    @property
    def label(self) -> str:
        return self.master.display_label

    @property
    def table_name(self) -> str:
        return self.master.table_name

    @property
    def dispatch(self) -> Dispatch:
        return self.master.dispatch

    @property
    def signed_off(self) -> bool:
        return self.master.signed_off_at is not None

    @property
    def signed_off_at(self) -> datetime | None:
        return self.master.signed_off_at

    @property
    def signed_off_by_id(self) -> int | None:
        return self.master.signed_off_by_id

    @property
    def explanation(self) -> str:
        return (f"The plugin that provides this {self.label.lower()} (table {self.table_name}) is not loaded, "
                "so its answers cannot be shown or changed. An admin can enable or reinstall the plugin "
                "(Admin → Plugins, then restart Motorpool).")


class ChecklistUnavailable(ConcurrentUpdate):
    """The checklist exists but its type's plugin is not loaded; nothing can change it."""

    def __init__(self, checklist: UnloadedChecklist) -> None:
        super().__init__(checklist.explanation)
        self.checklist = checklist


def details_of(dispatch_ids: list[int]) -> dict[int, list[DispatchDetailVirtual]]:
    """The concrete checklist rows of these dispatches whose type is loaded: one query per table in use."""
    return {dispatch_id: [row for row in rows if isinstance(row, DispatchDetailVirtual)]
            for dispatch_id, rows in _rows_of(dispatch_ids).items()}


def _rows_of(dispatch_ids: list[int]) -> dict[int, list[DispatchDetailVirtual | AllDispatchDetail]]:
    """Every detail row of these dispatches in master-row order: the concrete row when its
    type is loaded, else the master row (one query for the master rows, one per loaded table)."""
    if not dispatch_ids:
        return {}
    masters = db.session.scalars(
        select(AllDispatchDetail).where(AllDispatchDetail.dispatch_id.in_(dispatch_ids)).order_by(AllDispatchDetail.id)
    ).all()
    registry = detail_types()
    concrete: dict[int, DispatchDetailVirtual] = {}
    for table_name in sorted({m.table_name for m in masters}):
        detail_type = registry.by_table_name(table_name)
        if detail_type is None:  # its plugin is not loaded; the master row stands in for it
            continue
        model = detail_type.model
        for row in db.session.scalars(select(model).where(model.dispatch_id.in_(dispatch_ids))):
            concrete[row.detail_id] = row
    found: dict[int, list[DispatchDetailVirtual | AllDispatchDetail]] = defaultdict(list)
    for master in masters:
        found[master.dispatch_id].append(concrete.get(master.id, master))
    return found


def checklists_of(dispatch_ids: list[int]) -> dict[int, list[Checklist | UnloadedChecklist]]:
    """Checklists (answers, defects, progress) of several dispatches in a constant number of queries.

    A row whose type's plugin is not loaded comes as an ``UnloadedChecklist``.
    """
    rows = _rows_of(dispatch_ids)
    master_ids = [r.detail_id if isinstance(r, DispatchDetailVirtual) else r.id for rs in rows.values() for r in rs]
    defects: dict[int, list[ChecklistDefect]] = defaultdict(list)
    if master_ids:
        for defect in db.session.scalars(
            select(ChecklistDefect).where(ChecklistDefect.detail_id.in_(master_ids)).order_by(ChecklistDefect.id)
        ):
            defects[defect.detail_id].append(defect)
    return {
        dispatch_id: [
            _checklist(row, defects.get(row.detail_id, [])) if isinstance(row, DispatchDetailVirtual)
            else UnloadedChecklist(row, defects.get(row.id, []))
            for row in found
        ]
        for dispatch_id, found in rows.items()
    }


def _checklist(detail: DispatchDetailVirtual, defects: list[ChecklistDefect]) -> Checklist:
    by_item = {d.item: d for d in defects}
    items = {
        f.name: ItemState(f, getattr(detail, f.name), by_item.get(f.name) if f.kind == FieldKind.INSPECTION else None)
        for f in checklist_fields(type(detail))
    }
    return Checklist(detail=detail, items=items, defects=defects)


def checklists_for(dispatch: Dispatch) -> list[Checklist | UnloadedChecklist]:
    return checklists_of([dispatch.id]).get(dispatch.id, [])


def get_checklist(detail_id: int) -> Checklist:
    """A checklist by its master row id (``AllDispatchDetail.id``), as the pages address it.

    Raises ``ChecklistUnavailable`` (with the row) when its type's plugin is not loaded.
    """
    master = db.session.get(AllDispatchDetail, detail_id)
    if master is None:
        raise NotFound(f"Checklist #{detail_id} does not exist.")
    detail_type = detail_types().by_table_name(master.table_name)
    if detail_type is None:
        defects = db.session.scalars(
            select(ChecklistDefect).where(ChecklistDefect.detail_id == detail_id).order_by(ChecklistDefect.id)
        ).all()
        raise ChecklistUnavailable(UnloadedChecklist(master, list(defects)))
    model = detail_type.model
    detail = db.session.scalar(
        select(model).where(model.detail_id == detail_id).options(selectinload(model.dispatch))
    )
    if detail is None:
        raise NotFound(f"Checklist #{detail_id} does not exist.")
    defects = db.session.scalars(select(ChecklistDefect).where(ChecklistDefect.detail_id == detail_id)).all()
    return _checklist(detail, list(defects))


def unsigned_checklists(dispatch: Dispatch) -> list[str]:
    """Names of the dispatch's checklists that are not signed off yet, loaded or not (one query).

    It reads the master rows only: they exist for every detail row whatever plugin is loaded.
    """
    registry = detail_types()
    names = []
    for table_name, label in db.session.execute(
        select(AllDispatchDetail.table_name, AllDispatchDetail.label)
        .where(AllDispatchDetail.dispatch_id == dispatch.id, AllDispatchDetail.signed_off_at.is_(None))
        .order_by(AllDispatchDetail.id)
    ):
        detail_type = registry.by_table_name(table_name)
        if detail_type is not None:
            names.append(detail_type.label)
        else:
            names.append(f"{label or table_name} (its plugin is not loaded)")
    return names


# --- Permissions ----------------------------------------------------------------------------


def can_edit(dispatch: Dispatch, actor: User) -> bool:
    return actor.role in (Role.ADMIN, Role.MANAGER) or dispatch.assigned_user_id == actor.id


def _require_editable(checklist: Checklist, actor: User) -> None:
    detail, dispatch = checklist.detail, checklist.detail.dispatch
    if not can_edit(dispatch, actor):
        raise PermissionDenied(f"Only the technician assigned to {dispatch.dispatch_number}, a manager or an admin "
                               "can fill in its checklists.")
    if dispatch.is_final:
        raise ValidationError(f"{dispatch.dispatch_number} is {dispatch.status}; its checklists can no longer change.")
    if detail.is_signed_off:
        who = db.session.get(User, checklist.signed_off_by_id)
        raise ValidationError(
            f"This {detail.label.lower()} was signed off by {who.name if who else 'someone'} on "
            f"{format_local(checklist.signed_off_at)}; it can no longer change."
        )


# --- Answering ------------------------------------------------------------------------------


def save_answer(checklist: Checklist, name: str, raw: str | None, *, seen: str | None, actor: User,
                description: str | None = None, seen_description: str | None = None) -> ItemState:
    """Store one answer if the item still holds the value the user saw (``seen``).

    Refused (nothing saved) when the value is invalid, the checklist is signed off or the
    dispatch is final, or someone changed the item meanwhile (``ChecklistConflict``). For a
    defect, ``seen_description`` (when given) is the description the user saw; a different
    stored one is a conflict too.
    """
    _require_editable(checklist, actor)
    detail = checklist.detail
    model = type(detail)
    item_field = field_named(model, name)
    seen = (seen or "").strip()
    if item_field.kind == FieldKind.INSPECTION:
        new_value, new_description = _parse_inspection(item_field, raw, description)
        expected = seen == INSPECTION_OK if seen in (INSPECTION_OK, INSPECTION_DEFECT, "") else None
    else:
        new_value, new_description = item_field.parse(raw), None
        expected = _seen_value(item_field, seen)
        if item_field.not_below:
            _check_not_below(checklist, item_field, new_value)
        _check_others_not_below(checklist, item_field, new_value)

    if expected is _Unmatchable:
        raise _conflict(checklist, item_field)
    now = utcnow()
    try:
        with acting_as(actor), transaction():
            # Compare-and-set: the row is only written if the item still holds what the user saw.
            column = getattr(model, item_field.name)
            condition = column.is_(None) if expected is None else column == expected
            if item_field.kind == FieldKind.CHECK and not expected:
                condition = column.is_not(True)
            written = db.session.execute(
                update(model)
                .where(model.id == detail.id, condition, getattr(model, detail.signed_off_at_column).is_(None))
                .values({item_field.name: new_value, "updated_at": now, "updated_by_id": actor.id})
                .execution_options(synchronize_session=False)
            ).rowcount
            if written != 1:
                raise _Stale
            if item_field.kind == FieldKind.INSPECTION:
                _save_defect(checklist, item_field, seen, new_description, seen_description)
            db.session.add(Event(event_type="checklist.answered", dispatch_id=detail.dispatch_id,
                                 asset_id=detail.dispatch.asset_id, user=actor,
                                 description=f"{detail.label}: {item_field.label} set to "
                                             f"{_describe(item_field, new_value, new_description)}"))
    except (_Stale, IntegrityError):
        db.session.rollback()
        raise _conflict(checklist, item_field) from None
    db.session.expire(detail)
    return get_checklist(detail.detail_id).items[item_field.name]


def _parse_inspection(item_field: ChecklistField, raw: str | None, description: str | None) -> tuple[bool, str | None]:
    state = (raw or "").strip().lower()
    if state == INSPECTION_OK:
        return True, None
    if state == INSPECTION_DEFECT:
        text = (description or "").strip()
        if not text:
            raise ValidationError(
                f"Describe the defect found on {item_field.label.lower()}: what is wrong and where. "
                "A defect cannot be reported without a description.",
                field=item_field.name,
            )
        if len(text) > DESCRIPTION_MAX:
            raise ValidationError(f"The defect description is {len(text)} characters long; keep it to "
                                  f"{DESCRIPTION_MAX}.", field=item_field.name)
        return False, text
    if state == "":
        return False, None
    raise ValidationError(f"{item_field.label}: answer {INSPECTION_OK!r} or {INSPECTION_DEFECT!r}, not {raw!r}.",
                          field=item_field.name)


def _seen_value(item_field: ChecklistField, seen: str) -> Any:
    if item_field.kind == FieldKind.CHECK:
        return seen == "true"
    try:
        return item_field.parse(seen) if seen else None
    except ValidationError:
        return _Unmatchable  # the value seen cannot be what is stored: report a conflict


class _Unmatchable:
    """A value no column holds."""


class _Stale(Exception):
    """The item no longer holds the value the user saw."""


def _check_not_below(checklist: Checklist, item_field: ChecklistField, value: Any) -> None:
    other = checklist.items[item_field.not_below]
    if value is not None and other.value is not None and value < other.value:
        raise ValidationError(
            f"{item_field.label} ({item_field.display(value)}) cannot be less than {other.field.label.lower()} "
            f"({other.display}); check both readings.",
            field=item_field.name,
        )


def _check_others_not_below(checklist: Checklist, item_field: ChecklistField, value: Any) -> None:
    for item in checklist.items.values():
        if item.field.not_below == item_field.name and value is not None and item.value is not None \
                and item.value < value:
            raise ValidationError(
                f"{item_field.label} ({item_field.display(value)}) cannot be more than {item.field.label.lower()} "
                f"({item.display}); check both readings.",
                field=item_field.name,
            )


def _save_defect(checklist: Checklist, item_field: ChecklistField, seen: str, description: str | None,
                 seen_description: str | None) -> None:
    """Make the defect row match the answer; the seen state must still hold (else conflict)."""
    detail = checklist.detail
    existing = db.session.scalar(
        select(ChecklistDefect).where(ChecklistDefect.detail_id == detail.detail_id,
                                      ChecklistDefect.item == item_field.name)
    )
    if (existing is not None) != (seen == INSPECTION_DEFECT):
        raise _Stale
    if description is None:
        if existing is not None:
            db.session.execute(delete(ChecklistDefect).where(ChecklistDefect.id == existing.id))
        return
    if existing is not None:
        if seen_description is not None and existing.description != seen_description.strip():
            raise _Stale  # someone else changed the description meanwhile
        existing.description = description
        return
    db.session.add(ChecklistDefect(dispatch_id=detail.dispatch_id, detail_id=detail.detail_id,
                                   asset_id=detail.dispatch.asset_id, item=item_field.name,
                                   item_label=item_field.label, description=description))
    db.session.flush()


def _conflict(checklist: Checklist, item_field: ChecklistField) -> ChecklistConflict:
    current = get_checklist(checklist.detail.detail_id)
    state = current.items[item_field.name]
    who = _last_to_answer(current, item_field)
    if current.detail.is_signed_off:
        message = f"This {current.label.lower()} was signed off meanwhile; your answer was not saved."
    else:
        shown = state.display or "no answer"
        message = (f"{who.name if who else 'Someone'} changed {item_field.label.lower()} to {shown!r} "
                   f"while you were editing; your answer was not saved. Check the current value and answer again.")
    return ChecklistConflict(message, item_field.name, state)


def _last_to_answer(checklist: Checklist, item_field: ChecklistField) -> User | None:
    """Who last answered this item (from the answer events), not who last touched the checklist."""
    detail = checklist.detail
    prefix = f"{detail.label}: {item_field.label} set to "
    return db.session.scalar(
        select(User).join(Event, Event.user_id == User.id)
        .where(Event.dispatch_id == detail.dispatch_id, Event.event_type == "checklist.answered",
               Event.description.startswith(prefix, autoescape=True))
        .order_by(Event.id.desc()).limit(1)
    )


def _describe(item_field: ChecklistField, value: Any, description: str | None) -> str:
    if item_field.kind == FieldKind.INSPECTION:
        return f"defect ({description})" if description else ("OK" if value else "no answer")
    return item_field.display(value) or "no answer"


# --- Sign-off, defects, repair --------------------------------------------------------------


def sign_off(detail: DispatchDetailVirtual | Checklist, actor: User) -> Dispatch | None:
    """Record who completed the checklist and when; refuses while required items are open.

    With defects, in the same transaction: a repair work order for the asset is opened and
    the asset goes out of service. Returns the repair work order, if one was opened.
    """
    checklist = detail if isinstance(detail, Checklist) else get_checklist(detail.detail_id)
    _require_editable(checklist, actor)
    if checklist.missing:
        raise ValidationError(
            f"The {checklist.label.lower()} cannot be signed off yet: answer "
            f"{', '.join(checklist.missing)} first.",
            field="sign_off",
        )
    row = checklist.detail
    dispatch = row.dispatch
    model = type(row)
    now = utcnow()
    repair: Dispatch | None = None
    with acting_as(actor), transaction():
        values = {row.signed_off_by_column: actor.id, row.signed_off_at_column: now,
                  "updated_at": now, "updated_by_id": actor.id}
        written = db.session.execute(
            update(model).where(model.id == row.id, getattr(model, row.signed_off_at_column).is_(None))
            .values(values).execution_options(synchronize_session=False)
        ).rowcount
        if written != 1:
            raise ValidationError(f"This {row.label.lower()} was already signed off; it cannot be signed off twice.",
                                  field="sign_off")
        # The master row carries the sign-off too: the completion rule reads only master rows.
        db.session.execute(
            update(AllDispatchDetail).where(AllDispatchDetail.id == row.detail_id)
            .values(signed_off_at=now, signed_off_by_id=actor.id, updated_at=now, updated_by_id=actor.id)
            .execution_options(synchronize_session=False)
        )
        # The row is now locked against answers: decide on what it holds now, not on what was
        # read before, so an answer or defect saved at the last moment is never skipped.
        checklist = _reread(row)
        db.session.refresh(dispatch, ["status"])
        if dispatch.is_final:
            raise ValidationError(f"{dispatch.dispatch_number} is {dispatch.status}; its checklists can no longer "
                                  "change.", field="sign_off")
        if checklist.missing:
            raise ValidationError(f"The {checklist.label.lower()} cannot be signed off yet: answer "
                                  f"{', '.join(checklist.missing)} first.", field="sign_off")
        open_defects = [d for d in checklist.defects if d.is_open and d.repair_dispatch_id is None]
        db.session.add(Event(event_type="checklist.signed_off", dispatch_id=dispatch.id, asset_id=dispatch.asset_id,
                             user=actor, occurred_at=now,
                             description=f"{row.label} signed off by {actor.name}"
                                         + (f" with {len(open_defects)} defect(s)" if open_defects else "")))
        checklist_data = {"detail_id": row.detail_id, "label": row.label, "open_defects": len(open_defects)}
        webhook_subscriptions.publish(
            "checklist.signed_off", dispatch_number=dispatch.dispatch_number, actor=actor, occurred_at=now,
            data=lambda: {"dispatch": webhook_subscriptions.dispatch_data(dispatch), "checklist": checklist_data})
        if open_defects and dispatch.asset is not None:
            repair = _open_repair(dispatch, open_defects, actor)
            reported = [{"item": d.item, "label": d.item_label, "description": d.description} for d in open_defects]
            webhook_subscriptions.publish(
                "checklist.defect_reported", dispatch_number=dispatch.dispatch_number, actor=actor, occurred_at=now,
                data=lambda: {"dispatch": webhook_subscriptions.dispatch_data(dispatch), "checklist": checklist_data,
                              "defects": reported, "repair_dispatch_number": repair.dispatch_number,
                              "asset_tag": dispatch.asset.asset_tag})
        db.session.expire(row)
        lifecycle.queue("motorpool_dispatch_detail_completed", dispatch=dispatch, detail=row, actor=actor)
    if repair is not None:
        with acting_as(actor):
            _auto_assign_later(repair)
    return repair


def _reread(row: DispatchDetailVirtual) -> Checklist:
    """The checklist as the database holds it inside the current transaction."""
    db.session.refresh(row)
    defects = db.session.scalars(
        select(ChecklistDefect).where(ChecklistDefect.detail_id == row.detail_id).order_by(ChecklistDefect.id)
        .execution_options(populate_existing=True)
    ).all()
    return _checklist(row, list(defects))


def _open_repair(dispatch: Dispatch, defects: list[ChecklistDefect], actor: User) -> Dispatch:
    from app.services.dispatches import create_dispatch

    asset = dispatch.asset
    items = ", ".join(d.item_label.lower() for d in defects)
    repair = create_dispatch(
        title=f"Repair {asset.asset_tag}: {items}"[:200],
        asset_id=asset.id,
        priority=DispatchPriority.HIGH.value,
        description="Defects reported on " + dispatch.dispatch_number + ":\n"
                    + "\n".join(f"- {d.item_label}: {d.description}" for d in defects),
        work_type=WorkType.REPAIR.value,
        auto_assign=False,  # inside this transaction; assignment is tried once it is committed
    )
    for defect in defects:
        defect.repair_dispatch_id = repair.id
    if asset.status != AssetStatus.OUT_OF_SERVICE:
        asset.status = AssetStatus.OUT_OF_SERVICE.value
        db.session.add(Event(event_type="asset.out_of_service", asset_id=asset.id, dispatch_id=dispatch.id, user=actor,
                             description=f"{asset.asset_tag} out of service: {items} reported defective on "
                                         f"{dispatch.dispatch_number}; repair work order {repair.dispatch_number}"))
    db.session.flush()
    return repair


def _auto_assign_later(repair: Dispatch) -> None:
    from flask import current_app

    from app.services.dispatches import try_auto_assign

    if current_app.config["MOTORPOOL_AUTO_ASSIGN"]:
        try_auto_assign(repair)


def open_defects_of(asset: Asset) -> list[ChecklistDefect]:
    return list(db.session.scalars(
        select(ChecklistDefect)
        # Reported defects: their checklist was signed off, which opened the repair work order.
        .where(ChecklistDefect.asset_id == asset.id, ChecklistDefect.certification.is_(None),
               ChecklistDefect.repair_dispatch_id.is_not(None))
        .options(selectinload(ChecklistDefect.repair_dispatch), selectinload(ChecklistDefect.dispatch))
        .order_by(ChecklistDefect.id)
    ))


def defects_repaired_by(repair: Dispatch) -> list[ChecklistDefect]:
    """The defects a repair work order was opened for, oldest first (certified or not)."""
    return list(db.session.scalars(
        select(ChecklistDefect).where(ChecklistDefect.repair_dispatch_id == repair.id)
        .options(selectinload(ChecklistDefect.dispatch)).order_by(ChecklistDefect.id)))


def certify_repair_of(repair: Dispatch, actor: User, outcome: str, notes: str | None = None) -> list[ChecklistDefect]:
    """``certify_repair`` reached from the repair work order rather than the asset.

    The work order must be one a sign-off opened for defects that still wait for certification;
    the certification then covers every open defect of its asset, as on the page. Returns the
    defects certified.
    """
    if actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied("Only a manager or an admin can certify a repair.")
    own = defects_repaired_by(repair)
    if not own:
        raise ValidationError(f"{repair.dispatch_number} was not opened for reported defects, so there is no repair "
                              "to certify on it; certify on the repair work order a checklist sign-off opened.",
                              field="outcome")
    if all(d.certification is not None for d in own):
        done = max(d.certified_at for d in own)
        raise ValidationError(f"The defects of {repair.dispatch_number} were already certified "
                              f"({own[0].certification}, {format_local(done)}); there is nothing left to certify.",
                              field="outcome")
    waiting = open_defects_of(repair.asset)
    certify_repair(repair.asset, actor, outcome, notes)
    return waiting


def certify_repair(asset: Asset, actor: User, outcome: str, notes: str | None = None) -> Asset:
    """A manager certifies the asset's open defects repaired (or that no repair was needed).

    Recorded on each defect with who and when; the asset returns to service. "Repaired" is
    refused while a repair work order for the defects is still open; "no repair needed"
    needs a note saying why, and cancels the open repair work orders.
    """
    from app.services.dispatches import change_status

    if actor.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied("Only a manager or an admin can certify a repair.")
    if outcome not in {c.value for c in RepairCertification}:
        raise ValidationError(f"Unknown certification {outcome!r}; choose "
                              f"{' or '.join(repr(c.value) for c in RepairCertification)}.", field="outcome")
    notes = (notes or "").strip() or None
    defects = open_defects_of(asset)
    if not defects:
        raise ValidationError(f"{asset.asset_tag} has no defects waiting for certification.", field="outcome")
    repairs = {d.repair_dispatch.id: d.repair_dispatch for d in defects if d.repair_dispatch is not None}
    still_open = [r for r in repairs.values() if not r.is_final]
    not_done = [r for r in repairs.values() if r.status != DispatchStatus.COMPLETED]
    if outcome == RepairCertification.REPAIRED and not_done:
        listed = ", ".join(f"{r.dispatch_number} ({r.status})" for r in not_done)
        raise ValidationError(f"Repair work order {listed} is not completed; a repair is certified once its work "
                              "order is completed. Otherwise certify that no repair was needed.", field="outcome")
    if outcome == RepairCertification.NOT_NEEDED and not notes:
        raise ValidationError("Say why no repair is needed (for example: the defect could not be reproduced).",
                              field="notes")
    now = utcnow()
    with acting_as(actor), transaction():
        for repair in still_open:
            change_status(repair, DispatchStatus.CANCELLED.value, reason=f"No repair needed: {notes}")
        for defect in defects:
            defect.certification = outcome
            defect.certified_at = now
            defect.certified_by_id = actor.id
            defect.certification_notes = notes
        asset.status = AssetStatus.IN_SERVICE.value
        db.session.add(Event(event_type="asset.returned_to_service", asset_id=asset.id, user=actor, occurred_at=now,
                             description=f"{asset.asset_tag} returned to service by {actor.name}: "
                                         f"{outcome} ({len(defects)} defect(s))" + (f": {notes}" if notes else "")))
        db.session.flush()
    return asset
