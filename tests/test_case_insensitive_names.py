"""Names are unique whatever their case: in the services (with a clear message) and in the database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Asset, AssetType, MajorLocation, MakeModel, Skill, TechnicianSkill, User
from app.services import assets, technicians
from app.services import dispatches as dispatch_service
from app.services.errors import ValidationError
from tests.factories import (
    AssetFactory,
    AssetTypeFactory,
    MajorLocationFactory,
    MakeModelFactory,
    SkillFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_skill_differing_only_by_case_is_refused_naming_the_existing_one(system_actor):
    technicians.add_skill("Refrigeration", "Climate")
    with pytest.raises(ValidationError) as refused:
        technicians.add_skill("refrigeration", "Climate")
    assert "A skill named 'Refrigeration' already exists" in refused.value.message
    db.session.rollback()
    assert db.session.scalars(select(Skill.name)).all() == ["Refrigeration"]


@pytest.mark.parametrize(
    ("create", "again", "message", "model"),
    [
        (lambda: assets.create_asset_type("Reefer trailer"), lambda: assets.create_asset_type("REEFER TRAILER"),
         "An asset type named 'Reefer trailer' already exists.", AssetType),
        (lambda: assets.create_location("North Depot"), lambda: assets.create_location("north depot"),
         "A location named 'North Depot' already exists.", MajorLocation),
    ],
)
def test_asset_type_and_location_names_are_unique_whatever_the_case(system_actor, create, again, message, model):
    create()
    before = count(model)
    with pytest.raises(ValidationError) as refused:
        again()
    assert refused.value.message == message
    db.session.rollback()
    assert count(model) == before


@pytest.mark.parametrize(
    ("create", "message", "model"),
    [
        (lambda: assets.create_asset_type("Kühlwagen È"), "An asset type named 'Kühlwagen È' already exists.", AssetType),
        (lambda: assets.create_location("Île-de-France"), "A location named 'Île-de-France' already exists.", MajorLocation),
        (lambda: technicians.add_skill("Kältetechnik", "Klima"), "A skill named 'Kältetechnik' already exists", Skill),
    ],
)
def test_a_name_with_letters_beyond_ascii_given_twice_is_refused_not_an_error(system_actor, create, message, model):
    # The check and the lower() index must agree on every backend: SQLite's lower() folds
    # ASCII only, so a check that lower-cased in Python let the second one through to the index.
    create()
    before = count(model)
    with pytest.raises(ValidationError) as refused:
        create()
    assert message in refused.value.message
    db.session.rollback()
    assert count(model) == before


def test_make_model_and_asset_tag_are_unique_whatever_the_case(system_actor):
    asset_type = AssetTypeFactory()
    assets.create_make_model("Volvo", "FH16", asset_type)
    with pytest.raises(ValidationError) as refused:
        assets.create_make_model("VOLVO", "fh16", asset_type)
    assert refused.value.message == "Volvo FH16 already exists."
    db.session.rollback()
    assert count(MakeModel) == 1

    assets.create_asset(asset_tag="TRK-7", name="Seven", asset_type=asset_type)
    with pytest.raises(ValidationError) as refused:
        assets.create_asset(asset_tag="trk-7", name="Other", asset_type=asset_type)
    assert refused.value.message == "An asset tagged 'TRK-7' already exists."
    db.session.rollback()
    assert count(Asset) == 1


def test_renaming_to_another_s_name_in_other_case_is_refused_and_own_case_change_allowed(system_actor):
    first, second = AssetTypeFactory(name="Tanker"), AssetTypeFactory(name="Tipper")
    with pytest.raises(ValidationError) as refused:
        assets.update_asset_type(second, name="TANKER")
    assert refused.value.message == "An asset type named 'Tanker' already exists."
    db.session.rollback()
    assert db.session.get(AssetType, second.id).name == "Tipper"
    assets.update_asset_type(first, name="TANKER")
    assert db.session.get(AssetType, first.id).name == "TANKER"


@pytest.mark.parametrize(
    ("make_duplicate"),
    [
        lambda: (SkillFactory(name="Hydraulics"), Skill(name="HYDRAULICS", category="Mechanical")),
        lambda: (AssetTypeFactory(name="Crane"), AssetType(name="crane")),
        lambda: (MajorLocationFactory(name="Harbour"), MajorLocation(name="HARBOUR")),
        lambda: (MakeModelFactory(make="Scania", model="R500"),
                 MakeModel(make="scania", model="r500", asset_type=AssetTypeFactory())),
        lambda: (AssetFactory(asset_tag="VAN-1"), Asset(asset_tag="van-1", name="Van", asset_type=AssetTypeFactory())),
        lambda: (TechnicianFactory(email="ann@example.com"),
                 User(email="ANN@example.com", name="Ann", role="technician", password_hash="x")),
    ],
    ids=["skill", "asset type", "location", "make/model", "asset tag", "email"],
)
def test_the_database_refuses_names_differing_only_by_case(app, make_duplicate):
    _existing, duplicate = make_duplicate()
    db.session.add(duplicate)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_skill_given_in_another_case_takes_the_skill_s_own_spelling(system_actor):
    SkillFactory(name="Refrigeration")
    technician = TechnicianFactory()
    TechnicianProfileFactory(user=technician)
    held = technicians.set_skill(technician, "refrigeration", 3)
    assert held.skill.name == "Refrigeration"
    assert count(TechnicianSkill) == 1

    asset_type = assets.create_asset_type("Reefer", default_skill="REFRIGERATION")
    assert asset_type.default_skill == "Refrigeration"

    dispatch = dispatch_service.create_dispatch(title="Fix the fridge", asset_id=AssetFactory().id,
                                                required_skill="refrigeration")
    db.session.expire_all()
    assert dispatch.required_skill == "Refrigeration"


def _detail_model(key: str, label: str):
    from app.models import DispatchDetailVirtual

    return type(f"Model_{key}", (DispatchDetailVirtual,), {
        "__abstract__": True, "__tablename__": f"t_{key.lower()}", "detail_type": key, "label": label})


@pytest.mark.parametrize(
    ("key", "label", "says"),
    [
        ("Truck_Checklist", "Another checklist", "differs only by case from 'truck_checklist'"),
        ("lorry_checklist", "TRUCK DISPATCH CHECKLIST", "the label 'TRUCK DISPATCH CHECKLIST', already used"),
    ],
)
def test_detail_type_keys_and_labels_are_unique_whatever_the_case(key, label, says):
    from app.models import TruckDispatchChecklist
    from app.models.dispatching.build import DetailTypeError, build_detail_type_registry

    with pytest.raises(DetailTypeError) as refused:
        build_detail_type_registry([("builtin", [TruckDispatchChecklist]), ("other", [_detail_model(key, label)])])
    assert says in str(refused.value) and "'other'" in str(refused.value)
