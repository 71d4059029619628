"""Detail table sets: which dispatch detail types an asset type and a make/model are configured with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import (
    AllDispatchDetail,
    AssetTypeDispatchDetailTableSet,
    Base,
    Dispatch,
    ModelAdditionalDispatchDetailTableSet,
    TruckDispatchChecklist,
    User,
    VehicleDispatch,
)
from app.models.dispatching.build import (
    DetailTypeError,
    build_detail_type_registry,
    detail_types,
)
from app.services import detail_sets, dispatches
from app.services.actors import acting_as
from app.services.errors import ValidationError
from tests.factories import AssetFactory, AssetTypeFactory, MakeModelFactory

TRUCK = "truck_checklist"
VEHICLE = "vehicle_dispatch"
UNKNOWN = "hovercraft_checklist"
BUILTIN_CHECKLISTS_PLUGIN = "app.plugins.builtin.checklists"


def _count_all(connection) -> dict[str, int]:
    return {
        table.name: connection.execute(select(func.count()).select_from(table)).scalar_one()
        for table in Base.metadata.sorted_tables
    }


def committed_counts() -> dict[str, int]:
    with db.engine.connect() as connection:
        return _count_all(connection)


@contextmanager
def refused(error: type[Exception], *words: str, field: str | None = None) -> Iterator[None]:
    """The block must raise ``error`` naming ``words``, and leave every table as it was."""
    before = committed_counts()
    with pytest.raises(error) as info:
        yield
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} missing from the error message: {message}"
    if field is not None:
        assert info.value.field == field
    assert committed_counts() == before
    db.session.rollback()
    assert _count_all(db.session) == before


def known_types() -> str:
    """The registered keys as error messages list them (installed plugins may add to the built-ins)."""
    return ", ".join(detail_types().keys())


def type_rows() -> list[tuple[int, str, bool]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(
                AssetTypeDispatchDetailTableSet.asset_type_id,
                AssetTypeDispatchDetailTableSet.dispatch_detail_table_type,
                AssetTypeDispatchDetailTableSet.is_active,
            ).order_by(AssetTypeDispatchDetailTableSet.id)
        )
    ]


def model_rows() -> list[tuple[int, str, bool]]:
    return [
        tuple(row)
        for row in db.session.execute(
            select(
                ModelAdditionalDispatchDetailTableSet.make_model_id,
                ModelAdditionalDispatchDetailTableSet.dispatch_detail_table_type,
                ModelAdditionalDispatchDetailTableSet.is_active,
            ).order_by(ModelAdditionalDispatchDetailTableSet.id)
        )
    ]


def insert_unknown_type_row(asset_type_id: int, key: str = UNKNOWN) -> int:
    now = datetime.now(UTC).replace(tzinfo=None)
    db.session.execute(
        text(
            "INSERT INTO asset_type_dispatch_detail_table_sets "
            "(asset_type_id, dispatch_detail_table_type, is_active, created_at, updated_at) "
            "VALUES (:owner, :key, :active, :now, :now)"
        ),
        {"owner": asset_type_id, "key": key, "active": True, "now": now},
    )
    db.session.commit()
    return db.session.scalar(
        select(AssetTypeDispatchDetailTableSet.id).where(AssetTypeDispatchDetailTableSet.dispatch_detail_table_type == key)
    )


def created_tables(asset) -> list[str]:
    dispatch = dispatches.create_dispatch(title="Check the set", asset_id=asset.id)
    return [master.table_name for master in dispatch.all_details]


# --- The registry of detail types --------------------------------------------------------


def test_registry_holds_the_built_in_types(app):
    registry = detail_types()

    assert {TRUCK, VEHICLE} <= set(registry.keys())
    assert registry.keys() == sorted(registry.keys())
    truck, vehicle = registry.get(TRUCK), registry.get(VEHICLE)
    assert (truck.model, truck.table_name, truck.label) == (
        TruckDispatchChecklist, "truck_dispatch_checklists", "Truck dispatch checklist"
    )
    assert (vehicle.model, vehicle.table_name, vehicle.label) == (VehicleDispatch, "vehicle_dispatches", "Vehicle dispatch")
    assert truck.plugin == vehicle.plugin == BUILTIN_CHECKLISTS_PLUGIN
    assert registry.by_table_name("vehicle_dispatches") is vehicle
    assert registry.get(UNKNOWN) is None and UNKNOWN not in registry


def test_registry_accepts_the_same_model_twice_once():
    registry = build_detail_type_registry([("one", [TruckDispatchChecklist]), ("two", [TruckDispatchChecklist])])

    assert len(registry) == 1
    assert registry.get(TRUCK).plugin == "one"


@pytest.mark.parametrize("contribution", [object, "truck_checklist", dict], ids=["object", "string", "dict"])
def test_registry_refuses_what_is_not_a_detail_model(contribution):
    with pytest.raises(DetailTypeError, match="from plugin 'broken' is not a DispatchDetailVirtual subclass"):
        build_detail_type_registry([("broken", [contribution])])


# --- Configuring through the service -----------------------------------------------------


def test_add_type_to_asset_type_stores_an_active_row_recorded_as_the_actor(system_actor):
    asset_type = AssetTypeFactory()
    row = detail_sets.add_type_to_asset_type(asset_type, TRUCK)

    assert type_rows() == [(asset_type.id, TRUCK, True)]
    assert (row.created_by_id, row.updated_by_id) == (system_actor.id, system_actor.id)
    assert [r.dispatch_detail_table_type for r in asset_type.dispatch_detail_table_sets] == [TRUCK]


def test_add_type_to_make_model_stores_an_active_row_recorded_as_the_actor(system_actor):
    make_model = MakeModelFactory()
    row = detail_sets.add_type_to_make_model(make_model, VEHICLE)

    assert model_rows() == [(make_model.id, VEHICLE, True)]
    assert (row.created_by_id, row.updated_by_id) == (system_actor.id, system_actor.id)
    assert [r.dispatch_detail_table_type for r in make_model.additional_dispatch_detail_table_sets] == [VEHICLE]


def test_adding_a_configured_type_again_keeps_one_row_and_reactivates_it(system_actor):
    asset_type = AssetTypeFactory()
    make_model = MakeModelFactory(asset_type=asset_type)
    type_row = detail_sets.add_type_to_asset_type(asset_type, TRUCK)
    model_row = detail_sets.add_type_to_make_model(make_model, VEHICLE)
    detail_sets.set_table_set_active(type_row, False)
    detail_sets.set_table_set_active(model_row, False)

    assert detail_sets.add_type_to_asset_type(asset_type, TRUCK).id == type_row.id
    assert detail_sets.add_type_to_make_model(make_model, VEHICLE).id == model_row.id
    assert type_rows() == [(asset_type.id, TRUCK, True)]
    assert model_rows() == [(make_model.id, VEHICLE, True)]


def test_service_stores_the_key_without_surrounding_blanks(system_actor):
    asset_type = AssetTypeFactory()
    make_model = MakeModelFactory(asset_type=asset_type)
    detail_sets.add_type_to_asset_type(asset_type, f"  {TRUCK} ")
    detail_sets.add_type_to_make_model(make_model, f"\t{VEHICLE}\n")

    assert type_rows() == [(asset_type.id, TRUCK, True)]
    assert model_rows() == [(make_model.id, VEHICLE, True)]
    assert created_tables(AssetFactory(asset_type=asset_type, make_model=make_model)) == [
        "truck_dispatch_checklists", "vehicle_dispatches"
    ]


UNKNOWN_KEYS = [UNKNOWN, "Truck_Checklist", "truck_dispatch_checklists", "", "   "]


def test_service_refuses_an_unknown_type_for_an_asset_type(system_actor):
    asset_type = AssetTypeFactory()
    for key in UNKNOWN_KEYS:
        with refused(ValidationError, f"There is no detail type {key.strip()!r}",
                     f"Choose one of: {known_types()}.", field="dispatch_detail_table_type"):
            detail_sets.add_type_to_asset_type(asset_type, key)


def test_service_refuses_an_unknown_type_for_a_make_model(system_actor):
    make_model = MakeModelFactory()
    for key in UNKNOWN_KEYS:
        with refused(ValidationError, f"There is no detail type {key.strip()!r}",
                     f"Choose one of: {known_types()}.", field="dispatch_detail_table_type"):
            detail_sets.add_type_to_make_model(make_model, key)


# --- Configuring through plain ORM code (the flush hook) ---------------------------------


def test_orm_refuses_an_unknown_type_for_an_asset_type(system_actor):
    asset_type = AssetTypeFactory()
    with refused(ValidationError, f"There is no detail type {UNKNOWN!r}", f"Choose one of: {known_types()}.",
                 field="dispatch_detail_table_type"):
        db.session.add(AssetTypeDispatchDetailTableSet(asset_type=asset_type, dispatch_detail_table_type=UNKNOWN))
        db.session.commit()


def test_orm_refuses_an_unknown_type_for_a_make_model(system_actor):
    make_model = MakeModelFactory()
    with refused(ValidationError, f"There is no detail type {UNKNOWN!r}", f"Choose one of: {known_types()}.",
                 field="dispatch_detail_table_type"):
        db.session.add(ModelAdditionalDispatchDetailTableSet(make_model=make_model, dispatch_detail_table_type=UNKNOWN))
        db.session.commit()


def test_orm_refuses_an_unknown_type_among_valid_ones_and_writes_none_of_them(system_actor):
    asset_type = AssetTypeFactory()
    with refused(ValidationError, UNKNOWN):
        db.session.add_all(
            [
                AssetTypeDispatchDetailTableSet(asset_type=asset_type, dispatch_detail_table_type=TRUCK),
                AssetTypeDispatchDetailTableSet(asset_type=asset_type, dispatch_detail_table_type=UNKNOWN),
            ]
        )
        db.session.commit()


@pytest.mark.parametrize("model", [AssetTypeDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet])
def test_orm_refuses_changing_a_configured_type_to_an_unknown_one(system_actor, model):
    make_model = MakeModelFactory()
    if model is AssetTypeDispatchDetailTableSet:
        row = detail_sets.add_type_to_asset_type(make_model.asset_type, TRUCK)
    else:
        row = detail_sets.add_type_to_make_model(make_model, TRUCK)
    row.dispatch_detail_table_type = UNKNOWN
    with refused(ValidationError, f"There is no detail type {UNKNOWN!r}"):
        db.session.commit()

    assert db.session.scalars(select(model.dispatch_detail_table_type)).all() == [TRUCK]


def test_orm_stores_the_key_without_surrounding_blanks(system_actor):
    make_model = MakeModelFactory()
    db.session.add_all(
        [
            AssetTypeDispatchDetailTableSet(asset_type=make_model.asset_type, dispatch_detail_table_type=f" {TRUCK} "),
            ModelAdditionalDispatchDetailTableSet(make_model=make_model, dispatch_detail_table_type=f"{VEHICLE} "),
        ]
    )
    db.session.commit()

    assert [key for _, key, _ in type_rows()] == [TRUCK]
    assert [key for _, key, _ in model_rows()] == [VEHICLE]
    assert created_tables(AssetFactory(asset_type=make_model.asset_type, make_model=make_model)) == [
        "truck_dispatch_checklists", "vehicle_dispatches"
    ]


def test_database_refuses_the_same_type_twice_in_one_set(system_actor):
    make_model = MakeModelFactory()
    detail_sets.add_type_to_asset_type(make_model.asset_type, TRUCK)
    detail_sets.add_type_to_make_model(make_model, VEHICLE)
    with refused(IntegrityError):
        db.session.add(AssetTypeDispatchDetailTableSet(asset_type=make_model.asset_type, dispatch_detail_table_type=TRUCK))
        db.session.commit()
    with refused(IntegrityError):
        db.session.add(ModelAdditionalDispatchDetailTableSet(make_model=make_model, dispatch_detail_table_type=VEHICLE))
        db.session.commit()


# --- Changing a set changes new dispatches only ------------------------------------------


def test_deactivated_type_is_no_longer_created_and_reactivated_type_is_again(system_actor):
    asset = AssetFactory()
    row = detail_sets.add_type_to_asset_type(asset.asset_type, TRUCK)
    detail_sets.add_type_to_make_model(asset.make_model, VEHICLE)

    assert created_tables(asset) == ["truck_dispatch_checklists", "vehicle_dispatches"]
    detail_sets.set_table_set_active(row, False)
    assert created_tables(asset) == ["vehicle_dispatches"]
    detail_sets.set_table_set_active(row, True)
    assert created_tables(asset) == ["truck_dispatch_checklists", "vehicle_dispatches"]


def test_removing_a_type_keeps_the_rows_of_existing_dispatches(system_actor):
    asset = AssetFactory()
    row = detail_sets.add_type_to_asset_type(asset.asset_type, TRUCK)
    earlier = dispatches.create_dispatch(title="Before removal", asset_id=asset.id)
    detail_sets.remove_table_set(row)

    assert type_rows() == []
    assert created_tables(asset) == []
    db.session.expire_all()
    earlier = db.session.get(Dispatch, earlier.id)
    assert [m.table_name for m in earlier.all_details] == ["truck_dispatch_checklists"]
    assert len(earlier.truckdispatchchecklist_details) == 1


def test_a_type_nobody_provides_can_still_be_deactivated_so_dispatches_work_again(system_actor):
    asset = AssetFactory()
    detail_sets.add_type_to_asset_type(asset.asset_type, TRUCK)
    stale_id = insert_unknown_type_row(asset.asset_type_id)
    with pytest.raises(ValidationError, match=UNKNOWN):
        created_tables(asset)

    detail_sets.set_table_set_active(db.session.get(AssetTypeDispatchDetailTableSet, stale_id), False)

    assert created_tables(asset) == ["truck_dispatch_checklists"]


def test_a_type_nobody_provides_can_still_be_removed_so_dispatches_work_again(system_actor):
    asset = AssetFactory()
    stale_id = insert_unknown_type_row(asset.asset_type_id)
    with pytest.raises(ValidationError, match=UNKNOWN):
        created_tables(asset)

    detail_sets.remove_table_set(db.session.get(AssetTypeDispatchDetailTableSet, stale_id))

    assert type_rows() == []
    assert created_tables(asset) == []


# --- The plan (preview) is what creation creates -----------------------------------------


def test_planned_detail_types_are_what_creation_creates(system_actor):
    cases = [
        ((), (), []),
        ((TRUCK,), (), [TRUCK]),
        ((), (VEHICLE,), [VEHICLE]),
        ((VEHICLE, TRUCK), (), [VEHICLE, TRUCK]),
        ((TRUCK,), (VEHICLE,), [TRUCK, VEHICLE]),
        ((VEHICLE,), (TRUCK, VEHICLE), [VEHICLE, TRUCK]),
    ]
    for type_keys, model_keys, expected in cases:
        asset = AssetFactory()
        for key in type_keys:
            detail_sets.add_type_to_asset_type(asset.asset_type, key)
        for key in model_keys:
            detail_sets.add_type_to_make_model(asset.make_model, key)

        planned = detail_sets.planned_detail_types(asset.asset_type, asset.make_model)

        assert [t.key for t in planned] == expected, (type_keys, model_keys)
        assert created_tables(asset) == [t.table_name for t in planned], (type_keys, model_keys)


def test_planned_detail_types_without_a_make_model_ignore_model_additions(system_actor):
    asset = AssetFactory()
    detail_sets.add_type_to_asset_type(asset.asset_type, TRUCK)
    detail_sets.add_type_to_make_model(asset.make_model, VEHICLE)

    assert [t.key for t in detail_sets.planned_detail_types(asset.asset_type, None)] == [TRUCK]


def test_planned_detail_types_refuse_a_type_nobody_provides(system_actor):
    asset = AssetFactory()
    insert_unknown_type_row(asset.asset_type_id)
    with pytest.raises(ValidationError) as info:
        detail_sets.planned_detail_types(asset.asset_type, asset.make_model)

    message = str(info.value)
    assert UNKNOWN in message and asset.asset_type.name in message and "no enabled plugin provides" in message


@pytest.mark.parametrize(
    ("type_keys", "model_keys", "expected"),
    [
        ([], [], []),
        (["a", "b"], [], ["a", "b"]),
        ([], ["b", "a"], ["b", "a"]),
        (["b", "a"], ["c", "a", "d"], ["b", "a", "c", "d"]),
    ],
)
def test_merge_keys_gives_the_type_keys_then_the_new_model_keys(type_keys, model_keys, expected):
    assert detail_sets.merge_keys(type_keys, model_keys) == expected


# --- A disabled plugin takes its types away ----------------------------------------------


def test_types_of_a_disabled_plugin_are_refused_everywhere(make_app, system_actor):
    asset = AssetFactory()
    detail_sets.add_type_to_asset_type(asset.asset_type, TRUCK)
    asset_id, asset_type_id, user_id = asset.id, asset.asset_type_id, system_actor.id
    without_checklists = make_app(MOTORPOOL_DISABLED_PLUGINS=BUILTIN_CHECKLISTS_PLUGIN)

    with without_checklists.app_context():
        assert TRUCK not in detail_types()
        with acting_as(db.session.get(User, user_id)):
            with refused(ValidationError, repr(TRUCK), "no enabled plugin provides", "Enable the plugin"):
                dispatches.create_dispatch(title="Needs a checklist", asset_id=asset_id)
            with refused(ValidationError, f"There is no detail type {VEHICLE!r}"):
                detail_sets.add_type_to_asset_type(db.session.get(type(asset.asset_type), asset_type_id), VEHICLE)
        db.session.remove()

    assert created_tables(db.session.get(type(asset), asset_id)) == ["truck_dispatch_checklists"]
    assert db.session.scalar(select(func.count()).select_from(AllDispatchDetail)) == 1
