"""The Phase 3 data model as the migrations build it, its constraints, audit columns and factories."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import Inspector
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.util import md5_hex

from app.extensions import db
from app.models import (
    Base,
    AllDispatchDetail,
    Asset,
    AssetType,
    AssetTypeDispatchDetailTableSet,
    Dispatch,
    DispatchStatusHistory,
    Event,
    MajorLocation,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
    TruckDispatchChecklist,
    User,
    UserCreatedBase,
    VehicleDispatch,
    utcnow,
)
from app.models.base import UTCDateTime
from app.services import assets as asset_service
from app.services.actors import acting_as
from tests import factories
from tests.factories import (
    AssetFactory,
    DispatchFactory,
    EventFactory,
    ManagerFactory,
    TechnicianFactory,
    VehicleDispatchFactory,
    configured_truck_type,
)

AUDIT_COLUMNS = {"id", "created_at", "updated_at", "created_by_id", "updated_by_id"}

SEED_TABLES = {
    Dispatch: "dispatches",
    AllDispatchDetail: "all_dispatch_details",
    AssetTypeDispatchDetailTableSet: "asset_type_dispatch_detail_table_sets",
    ModelAdditionalDispatchDetailTableSet: "model_additional_dispatch_detail_table_sets",
    VehicleDispatch: "vehicle_dispatches",
    TruckDispatchChecklist: "truck_dispatch_checklists",
    DispatchStatusHistory: "dispatch_status_history",
    Asset: "assets",
    AssetType: "asset_types",
    MakeModel: "make_models",
    MajorLocation: "major_locations",
    Event: "events",
    User: "users",
}

# Columns the Phase 3 data model declares per table, each with whether the migrated column is nullable: the
# seed's nullable=False columns, and those with a default (priority, status, flags), are NOT NULL.
SEED_COLUMNS: dict[str, dict[str, bool]] = {
    "dispatches": {
        "dispatch_number": False, "title": False, "description": True, "priority": False, "status": False,
        "created_date": False, "assigned_date": True, "started_date": True, "completed_date": True,
        "due_date": True, "asset_id": True, "assigned_user_id": True, "major_location_id": True,
        "event_id": True, "dispatch_location_id": True,
    },
    "all_dispatch_details": {"table_name": False, "dispatch_id": False},
    "asset_type_dispatch_detail_table_sets": {
        "asset_type_id": False, "dispatch_detail_table_type": False, "is_active": False,
    },
    "model_additional_dispatch_detail_table_sets": {
        "make_model_id": False, "dispatch_detail_table_type": False, "is_active": False,
    },
    "vehicle_dispatches": {
        "dispatch_id": False, "detail_id": False, "destination_address": True, "route_notes": True,
        "fuel_level_start": True, "fuel_level_end": True, "mileage_start": True, "mileage_end": True,
        "driver_notes": True, "passenger_count": True, "safety_check_completed": False,
        "safety_check_date": True, "safety_check_by_id": True,
    },
    "truck_dispatch_checklists": {
        "dispatch_id": False, "detail_id": False, "tires_checked": False, "lights_checked": False,
        "brakes_checked": False, "fluids_checked": False, "safety_equipment_checked": False,
        "cargo_secured": False, "weight_distribution_verified": False, "load_manifest_verified": False,
        "registration_current": False, "insurance_current": False, "permits_obtained": False,
        "checklist_notes": True, "completed_by_id": True, "completed_date": True,
    },
    "dispatch_status_history": {
        "dispatch_id": False, "status_from": True, "status_to": False, "change_reason": True,
        "changed_by_id": False, "changed_date": False,
    },
}

# (table, column, referred table) for every foreign key the Phase 3 data model draws.
SEED_FOREIGN_KEYS = [
    ("dispatches", "asset_id", "assets"),
    ("dispatches", "assigned_user_id", "users"),
    ("dispatches", "major_location_id", "major_locations"),
    ("dispatches", "event_id", "events"),
    ("dispatches", "dispatch_location_id", "major_locations"),
    ("all_dispatch_details", "dispatch_id", "dispatches"),
    ("asset_type_dispatch_detail_table_sets", "asset_type_id", "asset_types"),
    ("model_additional_dispatch_detail_table_sets", "make_model_id", "make_models"),
    ("vehicle_dispatches", "dispatch_id", "dispatches"),
    ("vehicle_dispatches", "detail_id", "all_dispatch_details"),
    ("vehicle_dispatches", "safety_check_by_id", "users"),
    ("truck_dispatch_checklists", "dispatch_id", "dispatches"),
    ("truck_dispatch_checklists", "detail_id", "all_dispatch_details"),
    ("truck_dispatch_checklists", "completed_by_id", "users"),
    ("dispatch_status_history", "dispatch_id", "dispatches"),
    ("dispatch_status_history", "changed_by_id", "users"),
]


@pytest.fixture
def schema(database_url: str) -> Iterator[Inspector]:
    """The migrated schema of the test database, read back from the database itself."""
    engine = create_engine(database_url)
    try:
        yield inspect(engine)
    finally:
        engine.dispose()


def conventional(name: str, schema: Inspector) -> str:
    """A naming-convention name as the database holds it: too long ones are shortened with a hash."""
    limit = schema.dialect.max_identifier_length
    return name if len(name) <= limit else f"{name[:limit - 8]}_{md5_hex(name)[-4:]}"


def _tables(schema: Inspector) -> list[str]:
    return [name for name in schema.get_table_names() if name != "alembic_version"]


def _indexed_leading_columns(schema: Inspector, table: str) -> set[str]:
    leading = {index["column_names"][0] for index in schema.get_indexes(table) if index["column_names"]}
    leading |= {constraint["column_names"][0] for constraint in schema.get_unique_constraints(table)}
    leading |= set(schema.get_pk_constraint(table)["constrained_columns"][:1])
    return leading


# --- Tables and columns as the Phase 3 data model lays them out ----------------------------------------


@pytest.mark.parametrize("model", SEED_TABLES, ids=lambda model: model.__name__)
def test_table_names_are_those_of_seed_004(model):
    assert model.__tablename__ == SEED_TABLES[model]


def test_every_seed_table_exists_in_the_migrated_database(schema):
    assert set(SEED_TABLES.values()) | {"dispatch_number_sequences"} <= set(_tables(schema))


@pytest.mark.parametrize("table", SEED_COLUMNS)
def test_seed_columns_exist_with_their_nullability(schema, table):
    columns = {column["name"]: column for column in schema.get_columns(table)}

    assert set(SEED_COLUMNS[table]) | AUDIT_COLUMNS <= set(columns)
    assert {name: columns[name]["nullable"] for name in SEED_COLUMNS[table]} == SEED_COLUMNS[table]


def test_every_table_but_the_number_sequence_has_the_audit_columns(schema):
    for table in _tables(schema):
        if table in ("dispatch_number_sequences", "pool_version", "daily_trends", "daily_rollups", "daily_cost_groups"):
            continue  # counters bumped inside other writes, and caches the reads fill: nobody authors them
        names = {column["name"] for column in schema.get_columns(table)}
        assert AUDIT_COLUMNS <= names, table
        audit_targets = {
            fk["constrained_columns"][0]: fk["referred_table"]
            for fk in schema.get_foreign_keys(table)
            if fk["constrained_columns"][0] in {"created_by_id", "updated_by_id"}
        }
        assert audit_targets == {"created_by_id": "users", "updated_by_id": "users"}, table


def test_seed_foreign_keys_exist_under_conventional_names(schema):
    for table, column, referred in SEED_FOREIGN_KEYS:
        names = {
            fk["name"] for fk in schema.get_foreign_keys(table)
            if fk["constrained_columns"] == [column] and fk["referred_table"] == referred
        }
        assert names == {conventional(f"fk_{table}_{column}_{referred}", schema)}, (table, column)


def test_every_constraint_follows_the_naming_convention(schema):
    for table in _tables(schema):
        for fk in schema.get_foreign_keys(table):
            expected = f"fk_{table}_{fk['constrained_columns'][0]}_{fk['referred_table']}"
            assert fk["name"] == conventional(expected, schema), table
        for unique in schema.get_unique_constraints(table):
            expected = f"uq_{table}_{'_'.join(unique['column_names'])}"
            assert unique["name"] == conventional(expected, schema), table
        for check in schema.get_check_constraints(table):
            assert check["name"].startswith(f"ck_{table}_"), (table, check)
        assert schema.get_pk_constraint(table)["name"] == conventional(f"pk_{table}", schema), table


def test_check_constraints_exist_under_conventional_names(schema):
    def checks(table: str) -> set[str]:
        return {check["name"] for check in schema.get_check_constraints(table)}

    assert {"ck_dispatches_priority_known", "ck_dispatches_status_known"} <= checks("dispatches")
    assert {
        "ck_vehicle_dispatches_fuel_level_start_percent",
        "ck_vehicle_dispatches_fuel_level_end_percent",
        "ck_vehicle_dispatches_mileage_end_not_before_start",
        "ck_vehicle_dispatches_passenger_count_not_negative",
    } <= checks("vehicle_dispatches")


def test_unique_constraints_of_the_data_model(schema):
    def uniques(table: str) -> set[tuple[str, ...]]:
        return {tuple(u["column_names"]) for u in schema.get_unique_constraints(table)}

    assert ("dispatch_number",) in uniques("dispatches")
    assert ("detail_id",) in uniques("vehicle_dispatches")
    assert ("detail_id",) in uniques("truck_dispatch_checklists")
    assert ("asset_type_id", "dispatch_detail_table_type") in uniques("asset_type_dispatch_detail_table_sets")
    assert ("make_model_id", "dispatch_detail_table_type") in uniques("model_additional_dispatch_detail_table_sets")


def test_every_foreign_key_column_is_indexed(schema):
    unindexed = [
        f"{table}.{fk['constrained_columns'][0]}"
        for table in _tables(schema)
        for fk in schema.get_foreign_keys(table)
        if fk["constrained_columns"][0] not in _indexed_leading_columns(schema, table)
    ]
    assert unindexed == []


def test_dispatch_list_columns_are_indexed(schema):
    indexes = {index["name"]: index["column_names"] for index in schema.get_indexes("dispatches")}

    for column in ("status", "priority", "created_date", "due_date"):
        assert indexes.get(f"ix_dispatches_{column}") == [column]
    assert indexes["ix_dispatches_assigned_user_id_status"] == ["assigned_user_id", "status"]
    assert indexes["ix_dispatches_status_priority"] == ["status", "priority"]


# --- The database refuses bad values however they are written ----------------------------


def _assert_raw_update_refused(table: str, assignment: str, row_id: int) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(text(f"UPDATE {table} SET {assignment} WHERE id = :id"), {"id": row_id})
        db.session.flush()
    db.session.rollback()


def test_database_refuses_unknown_priority_and_status_written_by_raw_sql(system_actor):
    dispatch = DispatchFactory()
    for assignment in ("priority = 'Urgent'", "priority = 'normal'", "status = 'Paused'", "status = 'created'",
                       "title = NULL", "dispatch_number = NULL"):
        _assert_raw_update_refused("dispatches", assignment, dispatch.id)

    db.session.expire_all()
    stored = db.session.get(Dispatch, dispatch.id)
    assert (stored.priority, stored.status, stored.title) == ("Normal", "Created", dispatch.title)
    db.session.execute(text("UPDATE dispatches SET priority = 'Critical' WHERE id = :id"), {"id": dispatch.id})
    db.session.commit()
    assert db.session.get(Dispatch, dispatch.id).priority == "Critical"


def test_database_refuses_out_of_range_vehicle_values_written_by_raw_sql(system_actor):
    vehicle = VehicleDispatchFactory(fuel_level_start=50.0, mileage_start=1000.0)
    for assignment in ("fuel_level_start = 100.5", "fuel_level_start = -1", "fuel_level_end = 101",
                       "fuel_level_end = -0.1", "passenger_count = -1", "mileage_end = 999.9"):
        _assert_raw_update_refused("vehicle_dispatches", assignment, vehicle.id)

    db.session.execute(
        text("UPDATE vehicle_dispatches SET fuel_level_start = 0, fuel_level_end = 100, mileage_end = 1000, "
             "passenger_count = 0 WHERE id = :id"),
        {"id": vehicle.id},
    )
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(VehicleDispatch, vehicle.id)
    assert (stored.fuel_level_start, stored.fuel_level_end, stored.mileage_end, stored.passenger_count) == (
        0, 100, 1000, 0
    )


def test_database_refuses_a_duplicate_dispatch_number(system_actor):
    first, second = DispatchFactory(), DispatchFactory()
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("UPDATE dispatches SET dispatch_number = :number WHERE id = :id"),
            {"number": first.dispatch_number, "id": second.id},
        )
    db.session.rollback()
    assert db.session.scalar(select(func.count(func.distinct(Dispatch.dispatch_number)))) == 2


def test_database_refuses_two_concrete_rows_for_one_master_row(system_actor):
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=configured_truck_type()))
    [master] = dispatch.all_details
    with pytest.raises(IntegrityError):
        db.session.add(TruckDispatchChecklist(dispatch=dispatch, detail=master))
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(TruckDispatchChecklist)) == 1


def test_database_refuses_a_detail_row_without_a_dispatch(system_actor):
    with pytest.raises(IntegrityError):
        db.session.execute(
            text("INSERT INTO all_dispatch_details (table_name, dispatch_id, created_at, updated_at) "
                 "VALUES ('vehicle_dispatches', :missing, :now, :now)"),
            {"missing": 424242, "now": datetime(2026, 1, 1)},
        )
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AllDispatchDetail)) == 0


# --- Audit columns -----------------------------------------------------------------------


def _assert_utc(value: datetime, near: datetime) -> None:
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert abs(value - near) < timedelta(seconds=30)


def test_audit_columns_are_filled_from_the_acting_user_and_follow_updates(app):
    manager, technician = ManagerFactory(), TechnicianFactory()
    with acting_as(manager):
        location = MajorLocation(name="North Depot")
        db.session.add(location)
        db.session.commit()
    created_at, updated_at = location.created_at, location.updated_at

    assert (location.created_by_id, location.updated_by_id) == (manager.id, manager.id)
    _assert_utc(created_at, utcnow())
    _assert_utc(updated_at, utcnow())

    with acting_as(technician):
        location.address = "12 Foundry Road"
        db.session.commit()

    db.session.expire_all()
    location = db.session.get(MajorLocation, location.id)
    assert (location.created_by_id, location.updated_by_id) == (manager.id, technician.id)
    assert location.created_at == created_at
    assert location.updated_at > updated_at


def test_unchanged_rows_keep_their_updated_by(app):
    manager, technician = ManagerFactory(), TechnicianFactory()
    with acting_as(manager):
        location = MajorLocation(name="South Yard")
        db.session.add(location)
        db.session.commit()
    assert location.name == "South Yard"
    with acting_as(technician):
        location.name = "South Yard"
        db.session.add(MajorLocation(name="East Hub"))
        db.session.commit()

    db.session.expire_all()
    assert db.session.get(MajorLocation, location.id).updated_by_id == manager.id


def test_command_line_work_is_recorded_as_the_system_user(system_actor):
    location = asset_service.create_location("West Works", latitude=53.8, longitude=-1.6)
    asset_type = asset_service.create_asset_type("Trailer")

    for row in (location, asset_type):
        assert (row.created_by_id, row.updated_by_id) == (system_actor.id, system_actor.id)
    assert system_actor.is_system and not system_actor.is_active


def test_timestamps_read_back_as_aware_utc(app, system_actor):
    due = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    dispatch_id = DispatchFactory(due_date=due).id
    db.session.remove()

    dispatch = db.session.get(Dispatch, dispatch_id)
    now = utcnow()
    for value in (dispatch.created_at, dispatch.updated_at, dispatch.created_date, dispatch.event.occurred_at,
                  dispatch.event.created_at, dispatch.status_history[0].changed_date):
        _assert_utc(value, now)
    assert dispatch.due_date == due
    assert dispatch.due_date.tzinfo is not None and dispatch.due_date.utcoffset() == timedelta(0)


def test_aware_datetimes_in_other_zones_are_stored_as_utc(system_actor):
    plus_five = timezone(timedelta(hours=5))
    event_row = EventFactory(occurred_at=datetime(2030, 1, 1, 12, 0, tzinfo=plus_five))

    raw = db.session.execute(text("SELECT occurred_at FROM events WHERE id = :id"), {"id": event_row.id}).scalar_one()
    if isinstance(raw, str):  # SQLite keeps timestamps as text
        raw = datetime.fromisoformat(raw)
    assert raw == datetime(2030, 1, 1, 7, 0)
    db.session.expire_all()
    assert db.session.get(Event, event_row.id).occurred_at == datetime(2030, 1, 1, 7, 0, tzinfo=UTC)


def test_naive_datetime_is_refused_and_nothing_is_written(system_actor):
    asset = AssetFactory()
    events_before = db.session.scalar(select(func.count()).select_from(Event))
    with pytest.raises(StatementError, match="naive datetime .* use an aware datetime"):
        db.session.add(Event(event_type="asset.note", description="Naive", occurred_at=datetime(2030, 1, 1),
                             asset=asset))
        db.session.commit()
    db.session.rollback()

    assert db.session.scalar(select(func.count()).select_from(Event)) == events_before


def test_utc_datetime_type_converts_both_ways():
    kind = UTCDateTime()
    dialect = None
    with pytest.raises(ValueError, match="naive datetime"):
        kind.process_bind_param(datetime(2026, 1, 1), dialect)
    assert kind.process_bind_param(None, dialect) is None
    assert kind.process_bind_param(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), dialect) == datetime(
        2026, 1, 1, 0
    )
    assert kind.process_result_value("2026-01-02 03:04:05.000006", dialect) == datetime(
        2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC
    )
    assert kind.process_result_value(datetime(2026, 1, 2), dialect) == datetime(2026, 1, 2, tzinfo=UTC)
    assert kind.process_result_value(None, dialect) is None


def test_an_update_from_a_stale_copy_of_a_dispatch_is_refused(make_app, system_actor):
    dispatch = DispatchFactory()
    dispatch_id, version = dispatch.id, dispatch.version_id
    other_app = make_app()
    with other_app.app_context():
        with acting_as(db.session.get(User, system_actor.id)):
            other_copy = db.session.get(Dispatch, dispatch_id)
            other_copy.title = "Changed elsewhere"
            db.session.commit()
        db.session.remove()

    dispatch.title = "Changed here"
    with pytest.raises(StaleDataError):
        db.session.commit()
    db.session.rollback()
    stored = db.session.get(Dispatch, dispatch_id)
    assert (stored.title, stored.version_id) == ("Changed elsewhere", version + 1)


# --- Factories ---------------------------------------------------------------------------


FACTORIES = sorted(
    (
        value
        for value in vars(factories).values()
        if isinstance(value, type)
        and issubclass(value, factories.BaseFactory)
        and not value._meta.abstract
    ),
    key=lambda factory: factory.__name__,
)


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda factory: factory.__name__)
def test_every_factory_builds_a_valid_stored_row(system_actor, factory):
    system_id = system_actor.id
    built = factory()
    model, row_id = type(built), sa_inspect(built).identity
    db.session.remove()

    stored = db.session.get(model, row_id)
    assert stored is not None
    if isinstance(stored, UserCreatedBase):
        assert stored.created_by_id == system_id
        assert stored.created_at is not None and stored.updated_at is not None


def test_every_model_of_the_data_model_has_a_factory():
    covered = {factory._meta.model for factory in FACTORIES}
    assert set(SEED_TABLES) - covered == set()


def test_every_core_model_has_a_factory():
    core = {mapper.class_ for mapper in Base.registry.mappers if mapper.class_.__module__.startswith("app.models")}
    covered = {factory._meta.model for factory in FACTORIES}
    assert {model.__name__ for model in core - covered} == set()


def test_configured_truck_type_gives_dispatches_a_truck_checklist(system_actor):
    truck = configured_truck_type()
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=truck))

    assert truck.name == "Truck"
    assert [m.table_name for m in dispatch.all_details] == ["truck_dispatch_checklists"]
    assert len(dispatch.truckdispatchchecklist_details) == 1
    assert dispatch.dispatch_number.startswith("D-")
