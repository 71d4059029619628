"""Dispatch creation: whichever way a dispatch is created, it gets the same rows or nothing.

Each rule is checked on every path a dispatch can be created by: the service
(``create_dispatch``), plain ORM code that adds a ``Dispatch`` (by ``asset_id`` or by
``asset``) and commits, and the bulk path (``bulk_create_dispatches``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    AllDispatchDetail,
    Asset,
    AssetTypeDispatchDetailTableSet,
    Base,
    Dispatch,
    DispatchNumberSequence,
    DispatchStatusHistory,
    Event,
    ModelAdditionalDispatchDetailTableSet,
    TruckDispatchChecklist,
    User,
    VehicleDispatch,
    utcnow,
)
from app.models.dispatching.build import detail_types
from app.services import dispatches
from app.services.actors import SYSTEM_EMAIL, acting_as
from app.services.dispatch_creation import DispatchSpec, bulk_create_dispatches
from app.services.errors import ValidationError
from app.services.transaction import transaction
from tests.factories import (
    AssetFactory,
    AssetTypeDispatchDetailTableSetFactory,
    AssetTypeFactory,
    MajorLocationFactory,
    MakeModelFactory,
    ManagerFactory,
    ModelAdditionalDispatchDetailTableSetFactory,
)

TRUCK = "truck_checklist"
VEHICLE = "vehicle_dispatch"
TRUCK_TABLE = "truck_dispatch_checklists"
VEHICLE_TABLE = "vehicle_dispatches"
UNKNOWN = "hovercraft_checklist"

NUMBER_PATTERN = re.compile(r"^D-(\d{4})-(\d{6})$")


# --- Helpers -----------------------------------------------------------------------------


def make_asset(
    type_keys: tuple[str, ...] = (),
    model_keys: tuple[str, ...] = (),
    *,
    inactive_type_keys: tuple[str, ...] = (),
    inactive_model_keys: tuple[str, ...] = (),
    with_model: bool = True,
    with_location: bool = True,
) -> Asset:
    """An asset whose type and model are configured with the given detail types, in order."""
    asset_type = AssetTypeFactory()
    for key in type_keys:
        AssetTypeDispatchDetailTableSetFactory(asset_type=asset_type, dispatch_detail_table_type=key)
    for key in inactive_type_keys:
        AssetTypeDispatchDetailTableSetFactory(asset_type=asset_type, dispatch_detail_table_type=key, is_active=False)
    make_model = None
    if with_model:
        make_model = MakeModelFactory(asset_type=asset_type)
        for key in model_keys:
            ModelAdditionalDispatchDetailTableSetFactory(make_model=make_model, dispatch_detail_table_type=key)
        for key in inactive_model_keys:
            ModelAdditionalDispatchDetailTableSetFactory(
                make_model=make_model, dispatch_detail_table_type=key, is_active=False
            )
    location = MajorLocationFactory() if with_location else None
    return AssetFactory(asset_type=asset_type, make_model=make_model, major_location=location)


def via_service(asset: Asset | None, title: str = "Deliver pallets", **fields) -> Dispatch:
    return dispatches.create_dispatch(title=title, asset_id=asset.id if asset else None, **fields)


def via_orm_asset_id(asset: Asset | None, title: str = "Deliver pallets", **fields) -> Dispatch:
    dispatch = Dispatch(title=title, asset_id=asset.id if asset else None, **fields)
    db.session.add(dispatch)
    db.session.commit()
    return dispatch


def via_orm_asset(asset: Asset | None, title: str = "Deliver pallets", **fields) -> Dispatch:
    dispatch = Dispatch(title=title, asset=asset, **fields)
    db.session.add(dispatch)
    db.session.commit()
    return dispatch


def via_bulk(asset: Asset | None, title: str = "Deliver pallets", **fields) -> Dispatch:
    with transaction():
        [dispatch_id] = bulk_create_dispatches(db.session, [DispatchSpec(title=title, asset=asset, **fields)])
    return db.session.get(Dispatch, dispatch_id)


Creator = Callable[..., Dispatch]

ALL_PATHS: dict[str, Creator] = {
    "service": via_service,
    "orm_asset_id": via_orm_asset_id,
    "orm_asset": via_orm_asset,
    "bulk": via_bulk,
}
# The service takes neither a status nor a creation date.
PATHS_WITH_ALL_FIELDS = {name: path for name, path in ALL_PATHS.items() if name != "service"}


def _count_all(connection) -> dict[str, int]:
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


def committed_counts() -> dict[str, int]:
    """Row counts of every table as another connection sees them (committed data only)."""
    with db.engine.connect() as connection:
        return _count_all(connection)


@contextmanager
def refused(error: type[Exception], *words: str, field: str | None = None, path: str = "") -> Iterator[None]:
    """The block must raise ``error`` naming ``words``, and leave every table as it was."""
    before = committed_counts()
    with pytest.raises(error) as info:
        yield
    message = str(info.value).lower()
    for word in words:
        assert word.lower() in message, f"{path}: {word!r} missing from the error message: {info.value}"
    if field is not None:
        assert info.value.field == field, path
    assert committed_counts() == before, path
    db.session.rollback()
    assert _count_all(db.session) == before, path
    assert committed_counts() == before, path


def detail_tables(dispatch: Dispatch) -> list[str]:
    return [master.table_name for master in dispatch.all_details]


def concrete_rows_by_master(dispatch: Dispatch) -> dict[int, list]:
    """For each master row of the dispatch, the concrete rows that point at it."""
    registry = detail_types()
    found = {}
    for master in dispatch.all_details:
        model = registry.by_table_name(master.table_name).model
        found[master.id] = db.session.scalars(select(model).where(model.detail_id == master.id)).all()
    return found


def configure_by_raw_sql(table: str, owner_column: str, owner_id: int, key: str, active: bool = True) -> None:
    """Write a detail-set row around the ORM, as a manual fix-up or a removed plugin leaves it."""
    now = datetime.now(UTC).replace(tzinfo=None)
    db.session.execute(
        text(
            f"INSERT INTO {table} ({owner_column}, dispatch_detail_table_type, is_active, created_at, updated_at) "
            "VALUES (:owner, :key, :active, :now, :now)"
        ),
        {"owner": owner_id, "key": key, "active": active, "now": now},
    )
    db.session.commit()


@contextmanager
def statement_log(fail_inserting_into: str | None = None) -> Iterator[list[str]]:
    """Record the SQL sent to the database; optionally fail when a row is inserted into a table."""
    statements: list[str] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)
        table = fail_inserting_into
        if table and statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            raise RuntimeError(f"simulated failure inserting into {table}")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


def known_types() -> str:
    """The registered keys as error messages list them (installed plugins may add to the built-ins)."""
    keys = detail_types().keys()
    assert {TRUCK, VEHICLE} <= set(keys)
    return ", ".join(keys)


def parse_number(number: str) -> tuple[int, int]:
    match = NUMBER_PATTERN.match(number)
    assert match, f"{number!r} is not of the form D-YYYY-NNNNNN"
    return int(match.group(1)), int(match.group(2))


# --- Detail rows from the asset type and make/model --------------------------------------


def assert_detail_tables(config: dict, expected: list[str]) -> None:
    asset = make_asset(**config)
    for name, create in ALL_PATHS.items():
        assert detail_tables(create(asset)) == expected, f"{name} with {config}"


def test_one_detail_row_per_active_type_of_the_asset_type_in_configuration_order(system_actor):
    assert_detail_tables({"type_keys": (TRUCK, VEHICLE)}, [TRUCK_TABLE, VEHICLE_TABLE])
    assert_detail_tables({"type_keys": (VEHICLE, TRUCK)}, [VEHICLE_TABLE, TRUCK_TABLE])
    assert_detail_tables({"type_keys": (VEHICLE,), "with_model": False}, [VEHICLE_TABLE])


def test_make_model_additions_come_after_the_asset_type_types(system_actor):
    assert_detail_tables({"type_keys": (TRUCK,), "model_keys": (VEHICLE,)}, [TRUCK_TABLE, VEHICLE_TABLE])
    assert_detail_tables({"type_keys": (VEHICLE,), "model_keys": (TRUCK,)}, [VEHICLE_TABLE, TRUCK_TABLE])
    assert_detail_tables({"model_keys": (VEHICLE,)}, [VEHICLE_TABLE])


def test_type_configured_on_both_asset_type_and_model_is_created_once(system_actor):
    assert_detail_tables({"type_keys": (TRUCK,), "model_keys": (TRUCK, VEHICLE)}, [TRUCK_TABLE, VEHICLE_TABLE])
    assert_detail_tables({"type_keys": (VEHICLE, TRUCK), "model_keys": (TRUCK,)}, [VEHICLE_TABLE, TRUCK_TABLE])

    dispatch_count = len(ALL_PATHS) * 2
    assert db.session.scalar(select(func.count()).select_from(TruckDispatchChecklist)) == dispatch_count
    assert db.session.scalar(select(func.count()).select_from(VehicleDispatch)) == dispatch_count
    assert db.session.scalar(select(func.count()).select_from(AllDispatchDetail)) == dispatch_count * 2


def test_inactive_set_rows_are_ignored(system_actor):
    assert_detail_tables({"type_keys": (TRUCK,), "inactive_type_keys": (VEHICLE,)}, [TRUCK_TABLE])
    assert_detail_tables({"type_keys": (TRUCK,), "inactive_model_keys": (VEHICLE,)}, [TRUCK_TABLE])
    assert_detail_tables({"inactive_type_keys": (TRUCK,), "model_keys": (VEHICLE,)}, [VEHICLE_TABLE])
    assert_detail_tables({"inactive_type_keys": (TRUCK,), "inactive_model_keys": (VEHICLE,)}, [])


def test_inactive_type_row_does_not_hide_the_same_type_active_on_the_model(system_actor):
    assert_detail_tables({"inactive_type_keys": (TRUCK,), "model_keys": (TRUCK,)}, [TRUCK_TABLE])


def test_unconfigured_asset_type_gets_no_detail_rows_but_event_and_history(system_actor):
    asset = make_asset()
    for name, create in ALL_PATHS.items():
        dispatch = create(asset)
        assert (dispatch.all_details, len(dispatch.events), len(dispatch.status_history)) == ([], 1, 1), name
    assert db.session.scalar(select(func.count()).select_from(AllDispatchDetail)) == 0


def test_each_concrete_row_is_linked_to_its_own_master_row_and_starts_blank(system_actor):
    asset = make_asset((TRUCK,), (VEHICLE,))
    for name, create in ALL_PATHS.items():
        dispatch = create(asset)
        rows = concrete_rows_by_master(dispatch)
        assert len(rows) == 2, name
        for master in dispatch.all_details:
            assert master.dispatch_id == dispatch.id, name
            [concrete] = rows[master.id]
            assert concrete.__tablename__ == master.table_name, name
            assert concrete.dispatch_id == dispatch.id, name
            assert concrete.detail is master and concrete.dispatch is dispatch, name
        [checklist] = dispatch.truckdispatchchecklist_details
        [vehicle] = dispatch.vehicledispatch_details
        assert not any(getattr(checklist, column) for column in (
            "tires_checked", "lights_checked", "brakes_checked", "fluids_checked", "cargo_secured", "permits_obtained"
        )), name
        assert (checklist.completed_by_id, checklist.completed_date) == (None, None), name
        assert (vehicle.safety_check_completed, vehicle.fuel_level_start, vehicle.passenger_count) == (False, None, None)

    master_ids = db.session.scalars(select(AllDispatchDetail.id)).all()
    linked = [*db.session.scalars(select(TruckDispatchChecklist.detail_id)),
              *db.session.scalars(select(VehicleDispatch.detail_id))]
    assert sorted(linked) == sorted(master_ids)


def test_backrefs_of_the_data_model(system_actor):
    asset = make_asset((TRUCK,), (VEHICLE,))
    for name, create in ALL_PATHS.items():
        dispatch = create(asset)
        [truck_master, vehicle_master] = dispatch.all_details
        [checklist] = dispatch.truckdispatchchecklist_details
        [vehicle] = dispatch.vehicledispatch_details
        assert truck_master.truckdispatchchecklist_records == [checklist], name
        assert truck_master.vehicledispatch_records == [], name
        assert vehicle_master.vehicledispatch_records == [vehicle], name
        assert [h.status_to for h in dispatch.status_history] == ["Created"], name
        assert dispatch.asset is db.session.get(Asset, asset.id), name
    asset = db.session.get(Asset, asset.id)
    assert [row.dispatch_detail_table_type for row in asset.asset_type.dispatch_detail_table_sets] == [TRUCK]
    assert [row.dispatch_detail_table_type for row in asset.make_model.additional_dispatch_detail_table_sets] == [
        VEHICLE
    ]


def test_several_dispatches_in_one_flush_each_get_their_own_rows(system_actor):
    truck = make_asset((TRUCK,))
    van = make_asset((VEHICLE,), (TRUCK,))
    bare = make_asset()
    batch = [Dispatch(title=f"Job {n}", asset=asset) for n, asset in enumerate([truck, van, bare, truck])]
    db.session.add_all(batch)
    db.session.commit()

    assert [detail_tables(d) for d in batch] == [[TRUCK_TABLE], [VEHICLE_TABLE, TRUCK_TABLE], [], [TRUCK_TABLE]]
    assert [len(d.events) for d in batch] == [1, 1, 1, 1]
    assert [len(d.status_history) for d in batch] == [1, 1, 1, 1]
    assert sorted(parse_number(d.dispatch_number)[1] for d in batch) == [1, 2, 3, 4]


def test_configuration_and_dispatch_created_in_one_unit_of_work(system_actor):
    location = MajorLocationFactory()
    asset_type = AssetTypeFactory.build(name="Tanker")
    make_model = MakeModelFactory.build(make="MAN", model="TGX", asset_type=asset_type)
    db.session.add_all(
        [
            AssetTypeDispatchDetailTableSet(asset_type=asset_type, dispatch_detail_table_type=TRUCK),
            ModelAdditionalDispatchDetailTableSet(make_model=make_model, dispatch_detail_table_type=VEHICLE),
        ]
    )
    asset = Asset(asset_tag="TNK-1", name="Tanker 1", asset_type=asset_type, make_model=make_model,
                  major_location=location)
    dispatch = Dispatch(title="First run", asset=asset)
    db.session.add(dispatch)
    db.session.commit()

    assert detail_tables(dispatch) == [TRUCK_TABLE, VEHICLE_TABLE]
    assert dispatch.dispatch_location_id == location.id


def test_deactivating_a_type_in_the_same_unit_of_work_is_honoured(system_actor):
    asset = make_asset((TRUCK, VEHICLE))
    [truck_row, _] = asset.asset_type.dispatch_detail_table_sets
    truck_row.is_active = False
    dispatch = Dispatch(title="After deactivation", asset=asset)
    db.session.add(dispatch)
    db.session.commit()

    assert detail_tables(dispatch) == [VEHICLE_TABLE]


def test_removing_a_type_in_the_same_unit_of_work_is_honoured(system_actor):
    asset = make_asset((TRUCK,), (VEHICLE,))
    db.session.delete(asset.make_model.additional_dispatch_detail_table_sets[0])
    dispatch = Dispatch(title="After removal", asset=asset)
    db.session.add(dispatch)
    db.session.commit()

    assert detail_tables(dispatch) == [TRUCK_TABLE]


# --- Location, event and history ---------------------------------------------------------


def test_copies_the_asset_location(system_actor):
    located = make_asset((TRUCK,))
    unlocated = make_asset((TRUCK,), with_location=False)
    assert located.major_location_id is not None
    for name, create in ALL_PATHS.items():
        dispatch = create(located)
        assert (dispatch.dispatch_location_id, dispatch.major_location_id) == (located.major_location_id,) * 2, name
        dispatch = create(unlocated)
        assert (dispatch.dispatch_location_id, dispatch.major_location_id) == (None, None), name


def test_a_chosen_location_is_kept_and_the_asset_location_still_recorded(system_actor):
    asset = make_asset((TRUCK,))
    elsewhere = MajorLocationFactory()
    for create in (via_service, via_orm_asset_id, via_orm_asset):
        dispatch = create(asset, major_location_id=elsewhere.id)
        assert dispatch.major_location_id == elsewhere.id, create.__name__
        assert dispatch.dispatch_location_id == asset.major_location_id, create.__name__


def test_dispatch_location_stays_when_the_asset_moves(system_actor):
    asset = make_asset((TRUCK,))
    original = asset.major_location_id
    created = [create(asset).id for create in ALL_PATHS.values()]
    asset.major_location = MajorLocationFactory()
    db.session.commit()

    db.session.expire_all()
    assert [db.session.get(Dispatch, i).dispatch_location_id for i in created] == [original] * len(created)


def test_writes_the_initial_event(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        dispatch = create(asset, title=f"Deliver pallets to North Depot ({name})")
        [event_row] = db.session.scalars(select(Event).where(Event.dispatch_id == dispatch.id)).all()
        assert event_row.event_type == "dispatch.created", name
        assert event_row.asset_id == asset.id, name
        assert event_row.user_id == system_actor.id, name
        assert dispatch.event_id == event_row.id and dispatch.event is event_row, name
        assert dispatch.events == [event_row], name
        assert dispatch.dispatch_number in event_row.description, name
        assert f"Deliver pallets to North Depot ({name})" in event_row.description, name
        assert event_row.occurred_at == dispatch.created_date, name
    assert db.session.scalar(select(func.count()).select_from(Event)) == len(ALL_PATHS)


def test_writes_the_first_status_history_row(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        dispatch = create(asset)
        [history] = db.session.scalars(
            select(DispatchStatusHistory).where(DispatchStatusHistory.dispatch_id == dispatch.id)
        ).all()
        assert (history.status_from, history.status_to) == (None, "Created"), name
        assert history.changed_by_id == system_actor.id, name
        assert history.changed_date == dispatch.created_date, name
        assert dispatch.status_history == [history], name


def test_acting_user_is_recorded_on_the_event_history_and_every_new_row(app):
    manager = ManagerFactory()
    asset = make_asset((TRUCK,), (VEHICLE,))
    for name, create in ALL_PATHS.items():
        with acting_as(manager):
            dispatch = create(asset)
        assert dispatch.status_history[0].changed_by_id == manager.id, name
        assert dispatch.event.user_id == manager.id, name
        new_rows = [dispatch, dispatch.event, *dispatch.status_history, *dispatch.all_details,
                    *dispatch.truckdispatchchecklist_details, *dispatch.vehicledispatch_details]
        assert len(new_rows) == 7, name
        assert {(row.created_by_id, row.updated_by_id) for row in new_rows} == {(manager.id, manager.id)}, name


@pytest.mark.parametrize("create", [via_orm_asset_id, via_bulk], ids=["flush_hook", "bulk"])
def test_without_an_acting_user_creation_is_recorded_as_the_system_user(app, create):
    asset = make_asset((TRUCK,))
    assert db.session.scalar(select(User).where(User.email == SYSTEM_EMAIL)) is None

    dispatch = create(asset)

    system = db.session.scalar(select(User).where(User.email == SYSTEM_EMAIL))
    assert system is not None and system.is_system
    assert dispatch.status_history[0].changed_by_id == system.id
    assert dispatch.event.user_id == system.id


def test_new_dispatch_defaults(system_actor):
    asset = make_asset()
    for name, create in ALL_PATHS.items():
        before = utcnow()
        dispatch = create(asset)
        after = utcnow()
        assert (dispatch.priority, dispatch.status) == ("Normal", "Created"), name
        assert before - timedelta(seconds=1) <= dispatch.created_date <= after + timedelta(seconds=1), name
        assert dispatch.created_date.utcoffset() == timedelta(0), name
        assert (dispatch.assigned_user_id, dispatch.assigned_date) == (None, None), name
        assert (dispatch.started_date, dispatch.completed_date, dispatch.due_date) == (None, None, None), name


def test_accepted_field_values_are_stored(system_actor):
    asset = make_asset()
    due = utcnow() + timedelta(days=3)
    for name, create in ALL_PATHS.items():
        assert create(asset, title="  Tyre replacement run  ").title == "Tyre replacement run", name
        assert create(asset, title="x" * 200).title == "x" * 200, name
        for priority in ("Low", "Normal", "High", "Critical"):
            assert create(asset, priority=priority).priority == priority, name
        dispatch_id = create(asset, due_date=due).id
        db.session.expire_all()
        assert db.session.get(Dispatch, dispatch_id).due_date == due, name


def test_due_date_equal_to_creation_is_accepted(system_actor):
    asset = make_asset()
    moment = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for name, create in PATHS_WITH_ALL_FIELDS.items():
        dispatch = create(asset, created_date=moment, due_date=moment)
        assert dispatch.due_date == dispatch.created_date == moment, name


def test_dispatch_without_an_asset_gets_event_and_history_only(system_actor):
    for name, create in ALL_PATHS.items():
        dispatch = create(None)
        assert (dispatch.asset_id, dispatch.all_details, dispatch.event.asset_id) == (None, [], None), name
        assert [h.status_to for h in dispatch.status_history] == ["Created"], name


# --- Bulk creation writes what the ORM path writes ---------------------------------------


def row_snapshot(dispatch_id: int) -> dict:
    """What a dispatch's creation wrote, without ids and numbers that differ between runs."""
    dispatch = db.session.get(Dispatch, dispatch_id)
    masters = dispatch.all_details
    concrete = concrete_rows_by_master(dispatch)
    [event_row] = dispatch.events
    [history] = dispatch.status_history
    children = [*masters, *(row for rows in concrete.values() for row in rows), event_row, history]
    return {
        "fields": (dispatch.title, dispatch.description, dispatch.priority, dispatch.status, dispatch.due_date),
        "asset_id": dispatch.asset_id,
        "locations": (dispatch.major_location_id, dispatch.dispatch_location_id),
        "detail_tables": [m.table_name for m in masters],
        "concrete": [
            [(row.__tablename__, row.dispatch_id == dispatch.id) for row in concrete[m.id]] for m in masters
        ],
        "event": (
            event_row.event_type,
            event_row.asset_id,
            event_row.user_id,
            event_row.id == dispatch.event_id,
            event_row.occurred_at == dispatch.created_date,
            event_row.description.replace(dispatch.dispatch_number, "<number>"),
        ),
        "history": (
            history.status_from,
            history.status_to,
            history.change_reason,
            history.changed_by_id,
            history.changed_date == dispatch.created_date,
        ),
        "audit": {(row.created_by_id, row.updated_by_id) for row in [dispatch, *children]},
    }


def test_bulk_writes_the_same_rows_as_the_orm_path(system_actor):
    assets = [
        make_asset((TRUCK,)),
        make_asset((VEHICLE,), (TRUCK,)),
        make_asset((TRUCK,), (TRUCK, VEHICLE), inactive_type_keys=(VEHICLE,)),
        make_asset(inactive_model_keys=(TRUCK,), with_location=False),
        make_asset((), (VEHICLE,)),
    ]
    due = utcnow() + timedelta(days=2)
    fields = [
        {"title": f"Job {n}", "priority": priority, "description": "Bring the manifest", "due_date": due}
        for n, priority in enumerate(["Low", "Normal", "High", "Critical", "Normal"])
    ]

    orm = [Dispatch(asset=asset, **f) for asset, f in zip(assets, fields, strict=True)]
    db.session.add_all(orm)
    db.session.commit()
    orm_ids = [d.id for d in orm]
    with transaction():
        bulk_ids = bulk_create_dispatches(
            db.session, [DispatchSpec(asset=asset, **f) for asset, f in zip(assets, fields, strict=True)]
        )
    db.session.expire_all()

    orm_snapshots = [row_snapshot(i) for i in orm_ids]
    assert [row_snapshot(i) for i in bulk_ids] == orm_snapshots
    assert orm_snapshots[2]["detail_tables"] == [TRUCK_TABLE, VEHICLE_TABLE]
    assert orm_snapshots[3]["detail_tables"] == []
    assert orm_snapshots[0]["audit"] == {(system_actor.id, system_actor.id)}


# --- Refused input: a clear error, and nothing written -----------------------------------


def test_unknown_priority_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        for priority in ("Urgent", "normal", ""):
            with refused(ValidationError, f"unknown priority {priority!r}", "Low, Normal, High, Critical",
                         field="priority", path=name):
                create(asset, priority=priority)


def test_unknown_status_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in PATHS_WITH_ALL_FIELDS.items():
        with refused(ValidationError, "unknown status 'Paused'", "starts as 'Created'", field="status", path=name):
            create(asset, status="Paused")


def test_new_dispatch_in_a_status_other_than_created_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in PATHS_WITH_ALL_FIELDS.items():
        for status in ("Assigned", "En Route", "In Progress", "Completed", "Cancelled"):
            with refused(ValidationError, f"starts as 'Created', not {status!r}", "assign or start it once it exists",
                         field="status", path=name):
                create(asset, status=status)


def test_empty_title_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        for title in ("", "   "):
            with refused(ValidationError, "title is required", "say in a few words what is to be done",
                         field="title", path=name):
                create(asset, title=title)


def test_title_longer_than_two_hundred_characters_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        with refused(ValidationError, "201 characters long", "the limit is 200", field="title", path=name):
            create(asset, title="x" * 201)


def test_asset_that_does_not_exist_is_refused(system_actor):
    make_asset((TRUCK,))
    missing = db.session.scalar(select(func.max(Asset.id))) + 1000
    for create in (via_service, via_orm_asset_id):
        with refused(ValidationError, f"Asset #{missing} does not exist", "choose an asset from the asset register",
                     field="asset_id", path=create.__name__):
            create(Asset(id=missing))


def test_bulk_refuses_an_asset_that_is_not_stored(system_actor):
    deleted = make_asset((TRUCK,), with_model=False)
    deleted_id = deleted.id
    assert deleted.asset_type is not None and deleted.make_model is None
    db.session.expunge(deleted)
    db.session.execute(text("DELETE FROM assets WHERE id = :id"), {"id": deleted_id})
    db.session.commit()
    with (
        refused(ValidationError, f"Asset #{deleted_id} does not exist", "choose an asset from the asset register",
                field="asset_id"),
        transaction(),
    ):
        bulk_create_dispatches(db.session, [DispatchSpec(title="Ghost run", asset=deleted)])

    unsaved = Asset(asset_tag="NEW-1", name="Not saved", asset_type=AssetTypeFactory())
    with (
        refused(ValidationError, "'NEW-1' has not been saved", "add it to the asset register", field="asset_id"),
        transaction(),
    ):
        bulk_create_dispatches(db.session, [DispatchSpec(title="Ghost run", asset=unsaved)])


def test_service_refuses_a_location_that_does_not_exist(system_actor):
    asset = make_asset((TRUCK,))
    with refused(ValidationError, "Location #987654 does not exist", field="major_location_id"):
        via_service(asset, major_location_id=987654)


def test_due_date_before_creation_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        with refused(ValidationError, "due date", "before the dispatch is created", "choose a later due date",
                     field="due_date", path=name):
            create(asset, due_date=utcnow() - timedelta(hours=1))
    created = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    for name, create in PATHS_WITH_ALL_FIELDS.items():
        with refused(ValidationError, "due date 2026-05-10 11:59 UTC", "created (2026-05-10 12:00 UTC)",
                     field="due_date", path=name):
            create(asset, created_date=created, due_date=created - timedelta(minutes=1))


def test_naive_due_date_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in ALL_PATHS.items():
        with refused(ValidationError, "due date 2030-01-01 12:00 has no time zone", "timezone-aware", "UTC",
                     field="due_date", path=name):
            create(asset, due_date=datetime(2030, 1, 1, 12, 0))


def test_naive_creation_date_is_refused(system_actor):
    asset = make_asset((TRUCK,))
    for name, create in PATHS_WITH_ALL_FIELDS.items():
        with refused(ValidationError, "creation date 2026-01-01 12:00 has no time zone", "timezone-aware",
                     field="created_date", path=name):
            create(asset, created_date=datetime(2026, 1, 1, 12, 0))


def test_unknown_detail_type_on_the_asset_type_refuses_the_whole_dispatch(system_actor):
    for valid_beside in ((), (TRUCK,), (TRUCK, VEHICLE)):
        asset = make_asset(valid_beside, (VEHICLE,))
        configure_by_raw_sql("asset_type_dispatch_detail_table_sets", "asset_type_id", asset.asset_type_id, UNKNOWN)
        for name, create in ALL_PATHS.items():
            with refused(ValidationError, f"Asset type {asset.asset_type.name!r}",
                         f"configured with the detail type {UNKNOWN!r}", "no enabled plugin provides",
                         f"known types: {known_types()}", f"remove {UNKNOWN!r} from the detail set",
                         field="asset_id", path=f"{name} beside {valid_beside}"):
                create(asset)


def test_unknown_detail_type_on_the_make_model_refuses_the_whole_dispatch(system_actor):
    asset = make_asset((TRUCK,), (VEHICLE,))
    configure_by_raw_sql("model_additional_dispatch_detail_table_sets", "make_model_id", asset.make_model_id, UNKNOWN)
    for name, create in ALL_PATHS.items():
        with refused(ValidationError, f"model {asset.make_model.display_name!r}", repr(UNKNOWN),
                     "no enabled plugin provides", "remove", path=name):
            create(asset)


def test_inactive_unknown_detail_type_does_not_refuse_the_dispatch(system_actor):
    asset = make_asset((TRUCK,))
    configure_by_raw_sql("asset_type_dispatch_detail_table_sets", "asset_type_id", asset.asset_type_id, UNKNOWN,
                         active=False)
    for name, create in ALL_PATHS.items():
        assert detail_tables(create(asset)) == [TRUCK_TABLE], name


def test_one_bad_dispatch_in_a_flush_refuses_all_of_them(system_actor):
    good = make_asset((TRUCK,))
    bad = make_asset((VEHICLE,))
    configure_by_raw_sql("asset_type_dispatch_detail_table_sets", "asset_type_id", bad.asset_type_id, UNKNOWN)
    with refused(ValidationError, UNKNOWN):
        db.session.add_all([Dispatch(title="Fine", asset=good), Dispatch(title="Not fine", asset=bad)])
        db.session.commit()
    with refused(ValidationError, "unknown priority"):
        db.session.add_all([Dispatch(title="Fine", asset=good), Dispatch(title="Bad", asset=good, priority="Soon")])
        db.session.commit()


def test_one_bad_spec_in_a_bulk_refuses_all_of_them(system_actor):
    good = make_asset((TRUCK,))
    bad = make_asset((VEHICLE,))
    configure_by_raw_sql("asset_type_dispatch_detail_table_sets", "asset_type_id", bad.asset_type_id, UNKNOWN)
    bad_specs = {
        "title": DispatchSpec(title="", asset=good),
        "priority": DispatchSpec(title="Bad priority", asset=good, priority="Whenever"),
        "status": DispatchSpec(title="Bad status", asset=good, status="Completed"),
        "detail type": DispatchSpec(title="Bad type", asset=bad),
    }
    for name, bad_spec in bad_specs.items():
        with refused(ValidationError, path=name), transaction():
            bulk_create_dispatches(db.session, [DispatchSpec(title="Fine", asset=good), bad_spec])


def test_a_refused_orm_dispatch_can_be_corrected_and_saved(system_actor):
    asset = make_asset((TRUCK,))
    dispatch = Dispatch(title="Move vehicle", asset=asset, priority="Urgent")
    db.session.add(dispatch)
    with pytest.raises(ValidationError):
        db.session.commit()
    dispatch.priority = "High"
    db.session.commit()

    assert detail_tables(dispatch) == [TRUCK_TABLE]
    assert parse_number(dispatch.dispatch_number)[1] == 1


# --- A failure half-way through the flush leaves nothing ---------------------------------


def test_failure_inserting_a_detail_row_leaves_nothing_of_the_dispatch(system_actor):
    asset = make_asset((TRUCK,), (VEHICLE,))
    for name, create in ALL_PATHS.items():
        with (
            statement_log(fail_inserting_into=VEHICLE_TABLE) as statements,
            refused(RuntimeError, "simulated failure", path=name),
        ):
            create(asset)
        inserted = [s.split("(")[0].split()[2] for s in statements if s.lstrip().upper().startswith("INSERT INTO")]
        assert inserted[-1] == VEHICLE_TABLE, name
        assert {"dispatches", "events", "all_dispatch_details", "dispatch_number_sequences"} <= set(inserted), name

    dispatch = via_service(asset)
    assert parse_number(dispatch.dispatch_number)[1] == 1
    assert detail_tables(dispatch) == [TRUCK_TABLE, VEHICLE_TABLE]


def test_check_constraint_failure_in_a_detail_row_leaves_nothing_of_the_dispatch(system_actor):
    asset = make_asset((TRUCK, VEHICLE))

    def overfill(mapper, connection, target):
        target.fuel_level_start = 150.0

    event.listen(VehicleDispatch, "before_insert", overfill)
    try:
        for create in (via_service, via_orm_asset_id, via_orm_asset):
            with refused(IntegrityError, "ck_vehicle_dispatches_fuel_level_start_percent", path=create.__name__):
                create(asset)
    finally:
        event.remove(VehicleDispatch, "before_insert", overfill)


# --- Dispatch numbers --------------------------------------------------------------------


def test_dispatch_numbers_have_the_documented_form_and_are_consecutive_across_paths(system_actor):
    asset = make_asset((TRUCK,))
    created = [create(asset) for create in ALL_PATHS.values()]
    with transaction():
        more = bulk_create_dispatches(db.session, [DispatchSpec(title=f"Bulk {n}", asset=asset) for n in range(3)])
    created += [db.session.get(Dispatch, i) for i in more]
    created.append(via_service(asset))

    year = created[0].created_date.year
    assert [parse_number(d.dispatch_number) for d in created] == [(year, n) for n in range(1, 9)]
    assert [d.dispatch_number for d in created][:2] == [f"D-{year}-000001", f"D-{year}-000002"]
    assert db.session.get(DispatchNumberSequence, year).last_number == 8


def test_number_year_comes_from_the_creation_date_with_a_sequence_per_year(system_actor):
    asset = make_asset()
    steps = [
        (via_orm_asset, datetime(2024, 12, 31, 23, 59, tzinfo=UTC), "D-2024-000001"),
        (via_bulk, datetime(2025, 1, 1, tzinfo=UTC), "D-2025-000001"),
        (via_bulk, datetime(2024, 6, 1, tzinfo=UTC), "D-2024-000002"),
        (via_orm_asset_id, datetime(2025, 7, 1, tzinfo=UTC), "D-2025-000002"),
        (via_orm_asset, datetime(2024, 1, 1, tzinfo=UTC), "D-2024-000003"),
    ]
    for create, moment, expected in steps:
        assert create(asset, created_date=moment).dispatch_number == expected

    sequences = db.session.execute(
        select(DispatchNumberSequence.year, DispatchNumberSequence.last_number).order_by(DispatchNumberSequence.year)
    ).all()
    assert [tuple(row) for row in sequences] == [(2024, 3), (2025, 2)]


def test_number_year_is_the_utc_year_of_the_creation_date(system_actor):
    asset = make_asset()
    local_new_year = datetime(2026, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    for number, (name, create) in enumerate(PATHS_WITH_ALL_FIELDS.items(), start=1):
        dispatch_id = create(asset, created_date=local_new_year).id
        db.session.expire_all()
        dispatch = db.session.get(Dispatch, dispatch_id)
        assert dispatch.created_date == datetime(2025, 12, 31, 22, 30, tzinfo=UTC), name
        assert dispatch.dispatch_number == f"D-2025-{number:06d}", name


def test_bulk_reserves_one_block_per_year(system_actor):
    asset = make_asset((TRUCK,))
    via_service(asset)
    this_year = utcnow().year
    specs = [DispatchSpec(title=f"Job {n}", asset=asset) for n in range(4)]
    specs += [DispatchSpec(title=f"Old {n}", asset=asset, created_date=datetime(2020, 5, 1, tzinfo=UTC))
              for n in range(3)]

    with statement_log() as statements, transaction():
        bulk_create_dispatches(db.session, specs)

    assert len([s for s in statements if "dispatch_number_sequences" in s]) == 2
    assert [s.dispatch_number for s in specs] == [
        *(f"D-{this_year}-{n:06d}" for n in range(2, 6)),
        *(f"D-2020-{n:06d}" for n in range(1, 4)),
    ]
    assert db.session.get(DispatchNumberSequence, this_year).last_number == 5
    assert db.session.get(DispatchNumberSequence, 2020).last_number == 3
    assert via_service(asset).dispatch_number == f"D-{this_year}-000006"


def test_a_refused_creation_does_not_use_up_a_number(system_actor):
    asset = make_asset((TRUCK,))
    with pytest.raises(ValidationError):
        via_service(asset, priority="Urgent")
    with pytest.raises(ValidationError), transaction():
        bulk_create_dispatches(db.session, [DispatchSpec(title="A", asset=asset),
                                            DispatchSpec(title="B", asset=asset, priority="Urgent")])

    assert parse_number(via_service(asset).dispatch_number)[1] == 1


def test_sequential_creation_from_two_applications_does_not_collide(make_app, system_actor):
    asset_id = make_asset((TRUCK,)).id
    other_app = make_app()
    own_engine = db.engine
    numbers = [via_service(db.session.get(Asset, asset_id)).dispatch_number]
    for _ in range(2):
        with other_app.app_context():
            assert db.engine is not own_engine
            with acting_as(db.session.get(User, system_actor.id)):
                numbers.append(dispatches.create_dispatch(title="From the other app", asset_id=asset_id).dispatch_number)
            db.session.remove()
        numbers.append(via_service(db.session.get(Asset, asset_id)).dispatch_number)

    year = parse_number(numbers[0])[0]
    assert numbers == [f"D-{year}-{n:06d}" for n in range(1, 6)]


def test_concurrent_creation_from_two_applications_does_not_collide(make_app, system_actor):
    asset_id = make_asset((TRUCK,), (VEHICLE,)).id
    user_id = system_actor.id
    apps = [make_app(), make_app()]
    per_worker = 8
    barrier = threading.Barrier(len(apps))
    numbers: list[str] = []
    errors: list[Exception] = []

    def work(worker_app) -> None:
        try:
            with worker_app.app_context():
                with acting_as(db.session.get(User, user_id)):
                    barrier.wait(timeout=30)
                    for n in range(per_worker):
                        dispatch = dispatches.create_dispatch(title=f"Concurrent {n}", asset_id=asset_id)
                        numbers.append(dispatch.dispatch_number)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker_app,)) for worker_app in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    total = per_worker * len(apps)
    year = parse_number(numbers[0])[0]
    assert sorted(numbers) == [f"D-{year}-{n:06d}" for n in range(1, total + 1)]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Dispatch)) == total
    assert db.session.scalar(select(func.count()).select_from(TruckDispatchChecklist)) == total
    assert db.session.scalar(select(func.count()).select_from(VehicleDispatch)) == total
    assert db.session.get(DispatchNumberSequence, year).last_number == total


def test_numbers_are_kept_when_a_dispatch_is_edited(system_actor):
    dispatch = via_service(make_asset())
    number = dispatch.dispatch_number
    dispatch.title = "Renamed"
    dispatch.description = "Changed"
    db.session.commit()

    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).dispatch_number == number
