"""What happens when a dispatch is created, whichever way it is created.

``complete_new_dispatches`` runs inside the session's flush (see ``session_hooks``) for
every new ``Dispatch``: from the form, the CLI, the demo seeder, or plain ORM code that
adds a dispatch and commits. In the same transaction it

- refuses bad input (unknown priority, a status other than Created, a missing title, an
  asset that does not exist, a due date before creation, a detail type nobody provides);
- gives the dispatch its number and copies the asset's location;
- creates one concrete detail row per configured detail type, each with its
  ``AllDispatchDetail`` master row;
- writes the initial ``Event`` and the first ``DispatchStatusHistory`` row.

If anything is refused the flush raises and nothing of the dispatch is written.
Everything is done in a constant number of queries per flush, so bulk creation stays fast.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, selectinload

from app.models import (
    AllDispatchDetail,
    Asset,
    Dispatch,
    DispatchPriority,
    DispatchStatus,
    DispatchStatusHistory,
    Event,
    User,
    utcnow,
)
from app.services import actors
from app.services.detail_sets import configured_keys, merge_keys, resolve_keys
from app.services.dispatch_numbers import format_dispatch_number, reserve_dispatch_numbers
from app.services.errors import ValidationError

PRIORITIES = [p.value for p in DispatchPriority]
TITLE_MAX = 200


def validate_fields(dispatch: Dispatch, now: datetime) -> None:
    """The rules on a new dispatch's own fields."""
    title = (dispatch.title or "").strip()
    if not title:
        raise ValidationError("A title is required: say in a few words what is to be done.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"The title is {len(title)} characters long; keep it to {TITLE_MAX}.", field="title")
    dispatch.title = title
    if dispatch.priority is None:
        dispatch.priority = DispatchPriority.NORMAL.value
    if dispatch.priority not in PRIORITIES:
        raise ValidationError(
            f"Unknown priority {dispatch.priority!r}; choose one of {', '.join(PRIORITIES)}.", field="priority"
        )
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
    if dispatch.created_date is None:
        dispatch.created_date = now
    if dispatch.due_date is not None and dispatch.due_date < dispatch.created_date:
        raise ValidationError(
            f"The due date {dispatch.due_date:%Y-%m-%d %H:%M} UTC is before the dispatch is created "
            f"({dispatch.created_date:%Y-%m-%d %H:%M} UTC); choose a later due date.",
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


def _number(session: Session, dispatches: list[Dispatch]) -> None:
    by_year: dict[int, list[Dispatch]] = defaultdict(list)
    for dispatch in dispatches:
        if not dispatch.dispatch_number:
            by_year[dispatch.created_date.year].append(dispatch)
    for year, batch in sorted(by_year.items()):
        for dispatch, number in zip(batch, reserve_dispatch_numbers(session, year, len(batch)), strict=True):
            dispatch.dispatch_number = format_dispatch_number(year, number)


def complete_new_dispatches(session: Session, dispatches: list[Dispatch]) -> None:
    now = utcnow()
    for dispatch in dispatches:
        validate_fields(dispatch, now)
    _load_assets(session, dispatches)

    with_assets = [d for d in dispatches if d.asset is not None]
    by_type, by_model = configured_keys(
        session, {d.asset.asset_type for d in with_assets}, {d.asset.make_model for d in with_assets}
    )
    plans = {}
    for dispatch in with_assets:
        asset = dispatch.asset
        if asset.asset_type is None:
            raise ValidationError(f"Asset {asset.asset_tag!r} has no asset type; give it one first.", field="asset_id")
        key = (id(asset.asset_type), id(asset.make_model))
        if key not in plans:
            where = f"Asset type {asset.asset_type.name!r}"
            if asset.make_model is not None:
                where += f" / model {asset.make_model.display_name!r}"
            plans[key] = resolve_keys(
                merge_keys(by_type.get(key[0], []), by_model.get(key[1], []) if asset.make_model else []),
                where,
            )

    _number(session, dispatches)
    actor = _actor(session)
    for dispatch in dispatches:
        asset = dispatch.asset
        if asset is not None:
            _copy_location(dispatch, asset)
            for detail_type in plans[(id(asset.asset_type), id(asset.make_model))]:
                master = AllDispatchDetail(table_name=detail_type.table_name, dispatch=dispatch)
                session.add(master)
                session.add(detail_type.model(dispatch=dispatch, detail=master))
        event = Event(
            event_type="dispatch.created",
            description=f"Dispatch {dispatch.dispatch_number} created: {dispatch.title}",
            occurred_at=dispatch.created_date,
            dispatch=dispatch,
            asset=asset,
            user=actor,
        )
        dispatch.event = event
        session.add(event)
        session.add(
            DispatchStatusHistory(
                dispatch=dispatch,
                status_from=None,
                status_to=dispatch.status,
                change_reason="Dispatch created",
                changed_by=actor,
                changed_date=dispatch.created_date,
            )
        )


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
