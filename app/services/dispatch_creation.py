"""What happens when a dispatch is created, whichever way it is created.

``complete_new_dispatches`` runs inside the session's flush (see ``session_hooks``) for
every new ``Dispatch``: from the form, the CLI, the demo seeder, or plain ORM code that
adds a dispatch and commits. In the same transaction it

- refuses bad input (unknown priority, a status other than Created, a missing title, an
  asset that does not exist, a due date before creation, a detail type nobody provides);
- gives the dispatch its number and copies the asset's location;
- refuses an operation work order for an asset that is out of service (repair work
  orders are allowed);
- creates one concrete detail row per configured detail type, each with its
  ``AllDispatchDetail`` master row (repair work orders get none: the asset is not being
  operated, and its inspection is what found the defect);
- writes the initial ``Event`` and the first ``DispatchStatusHistory`` row.

If anything is refused the flush raises and nothing of the dispatch is written.
Everything is done in a constant number of queries per flush, so bulk creation stays fast.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.orm import Session, selectinload

from app.models import (
    AllDispatchDetail,
    Asset,
    AssetStatus,
    Dispatch,
    DispatchPriority,
    DispatchStatus,
    DispatchStatusHistory,
    Event,
    Skill,
    User,
    WorkType,
    utcnow,
)
from app.services import actors
from app.models.dispatching.build import DetailType
from app.services.detail_sets import configured_keys, merge_keys, resolve_keys
from app.services.dispatch_numbers import format_dispatch_number, reserve_dispatch_numbers
from app.services.local_time import format_local
from app.services import text as text_rules
from app.services.errors import ValidationError
from app.services.text import any_same_text

PRIORITIES = [p.value for p in DispatchPriority]
WORK_TYPES = [w.value for w in WorkType]
TITLE_MAX = text_rules.column_limit(text_rules.column_of(Dispatch, "title"))
#: How far ahead a date a person enters may be (a due date in year 9999 is a typo, and
#: would overflow the SLA and travel arithmetic).
DATE_HORIZON_YEARS = 5


def date_horizon(now: datetime) -> datetime:
    """The latest date a person may enter, from ``now``."""
    return now + timedelta(days=365 * DATE_HORIZON_YEARS + DATE_HORIZON_YEARS // 4 + 1)


def horizon_hint() -> str:
    return f"At most {DATE_HORIZON_YEARS} years ahead."


@dataclass
class DispatchSpec:
    """A dispatch to create in bulk: the same fields and rules as a ``Dispatch``."""

    title: str
    asset: Asset | None
    priority: str | None = DispatchPriority.NORMAL.value
    description: str | None = None
    due_date: datetime | None = None
    created_date: datetime | None = None
    status: str | None = DispatchStatus.CREATED.value
    dispatch_number: str | None = None
    required_skill: str | None = None
    estimated_duration_hours: float | None = 2.0
    sla_due_at: datetime | None = None
    work_type: str | None = WorkType.OPERATION.value
    id: int | None = field(default=None, init=False)


def _one_of(dispatch: Dispatch | DispatchSpec, name: str, what: str, allowed: list[str], default: str) -> None:
    """Fill ``name`` with its default when unset; refuse a value outside ``allowed``."""
    if getattr(dispatch, name) is None:
        setattr(dispatch, name, default)
    value = getattr(dispatch, name)
    if value not in allowed:
        raise ValidationError(f"Unknown {what} {value!r}; choose one of {', '.join(allowed)}.", field=name)


def validate_fields(dispatch: Dispatch | DispatchSpec, now: datetime) -> None:
    """The rules on a new dispatch's own fields."""
    title = (dispatch.title or "").strip()
    if not title:
        raise ValidationError("A title is required: say in a few words what is to be done.", field="title")
    text_rules.check(Dispatch, "title", title)
    text_rules.check(Dispatch, "description", dispatch.description)
    dispatch.title = title
    _one_of(dispatch, "priority", "priority", PRIORITIES, DispatchPriority.NORMAL.value)
    if dispatch.status is None:
        dispatch.status = DispatchStatus.CREATED.value
    if dispatch.status not in [s.value for s in DispatchStatus]:
        raise ValidationError(
            f"Unknown status {dispatch.status!r}; a new dispatch starts as {DispatchStatus.CREATED.value!r}.",
            field="status",
        )
    if dispatch.status != DispatchStatus.CREATED:
        raise ValidationError(
            f"A new dispatch starts as {DispatchStatus.CREATED.value!r}, not {dispatch.status!r}; "
            "assign or start it once it exists.",
            field="status",
        )
    for name, label in (("created_date", "creation date"), ("due_date", "due date")):
        value = getattr(dispatch, name)
        if value is not None and value.utcoffset() is None:
            raise ValidationError(
                f"The {label} {value:%Y-%m-%d %H:%M} has no time zone; give it as a timezone-aware "
                "datetime (UTC).",
                field=name,
            )
    _one_of(dispatch, "work_type", "work type", WORK_TYPES, WorkType.OPERATION.value)
    if dispatch.estimated_duration_hours is None:
        dispatch.estimated_duration_hours = 2.0
    if not dispatch.estimated_duration_hours > 0:
        raise ValidationError(
            f"The estimated duration must be more than 0 hours, not {dispatch.estimated_duration_hours}.",
            field="estimated_duration_hours",
        )
    if dispatch.created_date is None:
        dispatch.created_date = now
    # In UTC, as it is stored: the number's year is the year of the stored creation date.
    dispatch.created_date = dispatch.created_date.astimezone(UTC)
    if dispatch.due_date is not None and dispatch.due_date < dispatch.created_date:
        raise ValidationError(
            f"The due date {format_local(dispatch.due_date)} is before the dispatch is created "
            f"({format_local(dispatch.created_date)}); choose a later due date.",
            field="due_date",
        )
    if dispatch.due_date is not None and dispatch.due_date > date_horizon(now):
        raise ValidationError(
            f"The due date {format_local(dispatch.due_date, 'date')} is more than {DATE_HORIZON_YEARS} years ahead; "
            f"choose a date before {format_local(date_horizon(now), 'date')}.",
            field="due_date",
        )


def _load_assets(session: Session, dispatches: list[Dispatch]) -> None:
    """Attach each dispatch's asset, loading all of them (and their types) in one query."""
    wanted = {d.asset_id for d in dispatches if d.asset is None and d.asset_id is not None}
    if not wanted:
        return
    found = {
        asset.id: asset
        for asset in session.scalars(
            select(Asset)
            .where(Asset.id.in_(wanted))
            .options(selectinload(Asset.asset_type), selectinload(Asset.make_model))
        )
    }
    for dispatch in dispatches:
        if dispatch.asset is None and dispatch.asset_id is not None:
            asset = found.get(dispatch.asset_id)
            if asset is None:
                raise ValidationError(
                    f"Asset #{dispatch.asset_id} does not exist; choose an asset from the asset register.",
                    field="asset_id",
                )
            dispatch.asset = asset


def _copy_location(dispatch: Dispatch, asset: Asset) -> None:
    """Copy the asset's location onto the dispatch, without loading the location row."""
    location_id = asset.major_location_id
    location = None
    if location_id is None and inspect(asset).pending:
        location = asset.major_location
    if dispatch.dispatch_location_id is None and dispatch.dispatch_location is None:
        if location_id is not None:
            dispatch.dispatch_location_id = location_id
        elif location is not None:
            dispatch.dispatch_location = location
    if dispatch.major_location_id is None and dispatch.major_location is None:
        if location_id is not None:
            dispatch.major_location_id = location_id
        elif location is not None:
            dispatch.major_location = location


def _number(session: Session, dispatches: list[Dispatch] | list[DispatchSpec]) -> None:
    by_year: dict[int, list[Dispatch]] = defaultdict(list)
    for dispatch in dispatches:
        if not dispatch.dispatch_number:
            by_year[dispatch.created_date.year].append(dispatch)
    for year, batch in sorted(by_year.items()):
        for dispatch, number in zip(batch, reserve_dispatch_numbers(session, year, len(batch)), strict=True):
            dispatch.dispatch_number = format_dispatch_number(year, number)


def apply_matching_defaults(session: Session, dispatches: list[Dispatch] | list[DispatchSpec]) -> None:
    """Required skill from the asset type when not given (and known); SLA due time from priority."""
    for dispatch in dispatches:
        if not dispatch.required_skill and dispatch.asset is not None and dispatch.asset.asset_type is not None:
            dispatch.required_skill = dispatch.asset.asset_type.default_skill
        if dispatch.required_skill:
            dispatch.required_skill = dispatch.required_skill.strip()
    wanted = {d.required_skill for d in dispatches if d.required_skill}
    if wanted:
        # Skill names are unique whatever their case; the dispatch takes the skill's own spelling.
        known = {name.lower(): name for name in session.scalars(
            select(Skill.name).where(any_same_text(Skill.name, sorted(set(wanted)))))}
        for name in sorted(w for w in wanted if w.lower() not in known):
            raise ValidationError(
                f"There is no skill {name!r}. Choose an existing skill, or ask an admin to add it.",
                field="required_skill",
            )
        for dispatch in dispatches:
            if dispatch.required_skill:
                dispatch.required_skill = known[dispatch.required_skill.lower()]
    sla_hours = current_app.config["MOTORPOOL_SLA_HOURS"]
    for dispatch in dispatches:
        if dispatch.sla_due_at is None:
            dispatch.sla_due_at = dispatch.due_date or dispatch.created_date + timedelta(
                hours=float(sla_hours[dispatch.priority])
            )


def is_repair(dispatch: Dispatch | DispatchSpec) -> bool:
    return dispatch.work_type == WorkType.REPAIR


def refuse_operation_of_out_of_service_assets(dispatches: list[Dispatch] | list[DispatchSpec]) -> None:
    """An out-of-service asset may only get repair work orders until its repair is certified."""
    for dispatch in dispatches:
        asset = dispatch.asset
        if asset is not None and asset.status == AssetStatus.OUT_OF_SERVICE and not is_repair(dispatch):
            raise ValidationError(
                f"Asset {asset.asset_tag} is out of service until a manager certifies its repair; "
                "create a repair work order for it, or certify the repair first.",
                field="asset_id",
            )


def plan_key(asset: Asset) -> tuple[int, int]:
    return id(asset.asset_type), id(asset.make_model)


def plan_detail_types(session: Session, assets: list[Asset]) -> dict[tuple[int, int], list[DetailType]]:
    """The detail types each distinct (asset type, make/model) pair gets; refuses unknown ones."""
    by_type, by_model = configured_keys(
        session, {a.asset_type for a in assets}, {a.make_model for a in assets}
    )
    plans: dict[tuple[int, int], list[DetailType]] = {}
    for asset in assets:
        if asset.asset_type is None:
            raise ValidationError(f"Asset {asset.asset_tag!r} has no asset type; give it one first.", field="asset_id")
        key = plan_key(asset)
        if key in plans:
            continue
        where = f"Asset type {asset.asset_type.name!r}"
        model_keys: list[str] = []
        if asset.make_model is not None:
            where += f" / model {asset.make_model.display_name!r}"
            model_keys = by_model.get(key[1], [])
        plans[key] = resolve_keys(merge_keys(by_type.get(key[0], []), model_keys), where)
    return plans


def initial_event_values(dispatch: Dispatch | DispatchSpec) -> dict:
    return {
        "event_type": "dispatch.created",
        "description": f"Dispatch {dispatch.dispatch_number} created: {dispatch.title}",
        "occurred_at": dispatch.created_date,
    }


def initial_history_values(dispatch: Dispatch | DispatchSpec) -> dict:
    return {
        "status_from": None,
        "status_to": dispatch.status,
        "change_reason": "Dispatch created",
        "changed_date": dispatch.created_date,
    }


def complete_new_dispatches(session: Session, dispatches: list[Dispatch]) -> None:
    now = utcnow()
    for dispatch in dispatches:
        validate_fields(dispatch, now)
    _load_assets(session, dispatches)
    refuse_operation_of_out_of_service_assets(dispatches)
    apply_matching_defaults(session, dispatches)

    plans = plan_detail_types(session, [d.asset for d in dispatches if d.asset is not None and not is_repair(d)])

    _number(session, dispatches)
    actor = _actor(session)
    for dispatch in dispatches:
        asset = dispatch.asset
        if asset is not None:
            _copy_location(dispatch, asset)
            for detail_type in [] if is_repair(dispatch) else plans[plan_key(asset)]:
                master = AllDispatchDetail(table_name=detail_type.table_name, label=detail_type.label, dispatch=dispatch)
                session.add(master)
                session.add(detail_type.model(dispatch=dispatch, detail=master))
        event = Event(**initial_event_values(dispatch), dispatch=dispatch, asset=asset, user=actor)
        dispatch.event = event
        session.add(event)
        session.add(DispatchStatusHistory(**initial_history_values(dispatch), dispatch=dispatch, changed_by=actor))


def _actor(session: Session) -> User:
    """The user the creation is recorded as; inside a flush, so nothing may flush here."""
    actor_id = actors.current_actor_id()
    if actor_id is not None:
        user = session.get(User, actor_id)
        if user is not None:
            return user
    cached = session.info.get("motorpool_system_user")
    if cached is not None and cached in session:
        return cached
    user = session.scalar(select(User).where(User.email == actors.SYSTEM_EMAIL))
    if user is None:
        user = actors.new_system_user()
        session.add(user)
    session.info["motorpool_system_user"] = user
    return user


def _require_saved_assets(session: Session, assets: list[Asset]) -> None:
    """Bulk inserts write ``asset.id`` as it is: refuse assets that are not (or no longer) stored."""
    for asset in assets:
        if asset.id is None:
            raise ValidationError(
                f"Asset {asset.asset_tag!r} has not been saved; add it to the asset register first.",
                field="asset_id",
            )
    wanted = {asset.id for asset in assets}
    if not wanted:
        return
    missing = sorted(wanted - set(session.scalars(select(Asset.id).where(Asset.id.in_(wanted)))))
    if missing:
        raise ValidationError(
            f"Asset #{missing[0]} does not exist; choose an asset from the asset register.", field="asset_id"
        )


def bulk_create_dispatches(session: Session, specs: list[DispatchSpec]) -> list[int]:
    """Create many dispatches at once, by the same rules as ``complete_new_dispatches``.

    The rules (validation, detail-type plan, numbering, first event and history) are the
    same functions; only the writing differs: one multi-row INSERT per table instead of
    the ORM's unit of work, which is what makes seeding 100,000 dispatches take seconds.
    Assets must be given as loaded objects. Runs inside the caller's transaction.
    """
    if not specs:
        return []
    now = utcnow()
    for spec in specs:
        validate_fields(spec, now)
    _require_saved_assets(session, [s.asset for s in specs if s.asset is not None])
    refuse_operation_of_out_of_service_assets(specs)
    apply_matching_defaults(session, specs)
    plans = plan_detail_types(session, [s.asset for s in specs if s.asset is not None and not is_repair(s)])
    _number(session, specs)
    actor_id = actors.require_actor_id()
    audit = {"created_at": now, "updated_at": now, "created_by_id": actor_id, "updated_by_id": actor_id}

    dispatch_ids = session.scalars(
        insert(Dispatch).returning(Dispatch.id, sort_by_parameter_order=True),
        [
            {
                **audit,
                "dispatch_number": s.dispatch_number,
                "title": s.title,
                "description": s.description,
                "priority": s.priority,
                "status": s.status,
                "created_date": s.created_date,
                "due_date": s.due_date,
                "required_skill": s.required_skill,
                "estimated_duration_hours": s.estimated_duration_hours,
                "sla_due_at": s.sla_due_at,
                "work_type": s.work_type,
                "asset_id": s.asset.id if s.asset else None,
                "major_location_id": s.asset.major_location_id if s.asset else None,
                "dispatch_location_id": s.asset.major_location_id if s.asset else None,
            }
            for s in specs
        ],
    ).all()
    for spec, dispatch_id in zip(specs, dispatch_ids, strict=True):
        spec.id = dispatch_id

    event_ids = session.scalars(
        insert(Event).returning(Event.id, sort_by_parameter_order=True),
        [
            {**audit, **initial_event_values(s), "dispatch_id": s.id,
             "asset_id": s.asset.id if s.asset else None, "user_id": actor_id}
            for s in specs
        ],
    ).all()
    session.execute(
        update(Dispatch.__table__).where(Dispatch.__table__.c.id == bindparam("dispatch_id")),
        [{"dispatch_id": s.id, "event_id": event_id} for s, event_id in zip(specs, event_ids, strict=True)],
    )
    session.execute(
        insert(DispatchStatusHistory),
        [{**audit, **initial_history_values(s), "dispatch_id": s.id, "changed_by_id": actor_id} for s in specs],
    )

    # Detail rows: master rows first (their ids link the concrete rows), then per type.
    pairs = [(s, t) for s in specs if s.asset is not None and not is_repair(s) for t in plans[plan_key(s.asset)]]
    if pairs:
        master_ids = session.scalars(
            insert(AllDispatchDetail).returning(AllDispatchDetail.id, sort_by_parameter_order=True),
            [{**audit, "dispatch_id": s.id, "table_name": t.table_name, "label": t.label} for s, t in pairs],
        ).all()
        rows_by_model: dict[type, list[dict]] = defaultdict(list)
        for (spec, detail_type), master_id in zip(pairs, master_ids, strict=True):
            rows_by_model[detail_type.model].append({**audit, "dispatch_id": spec.id, "detail_id": master_id})
        for model, rows in rows_by_model.items():
            session.execute(insert(model), rows)
    return list(dispatch_ids)
