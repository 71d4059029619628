"""``flask asset-types|make-models|locations|assets|detail-sets …``: the admin pages' services on the command line."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Asset, AssetType, MakeModel
from app.services import detail_sets
from tests.factories import AssetFactory, AssetTypeFactory, MajorLocationFactory, MakeModelFactory, SkillFactory
from tests.fleet_support import fleet_snapshot


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def ok(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def refused(runner, *args: str) -> str:
    """Run a command that must be refused: exit status 1, the reason on stderr, nothing changed."""
    before = fleet_snapshot()
    result = runner.invoke(args=list(args))
    assert result.exit_code == 1, (result.output, result.stderr)
    assert result.stdout == ""
    assert fleet_snapshot() == before
    return result.stderr


# --- asset-types --------------------------------------------------------------------------------


def test_asset_types_add_list_rename_deactivate(app, runner):
    SkillFactory(name="Diesel")
    assert "Added the asset type Tanker." in ok(runner, "asset-types", "add", "Tanker", "--description", "Fuel",
                                                "--skill", "diesel")
    tanker = db.session.query(AssetType).filter_by(name="Tanker").one()
    assert (tanker.description, tanker.default_skill) == ("Fuel", "Diesel")
    assert "Renamed the asset type Tanker to Fuel tanker." in ok(runner, "asset-types", "rename", "tanker", "Fuel tanker")
    listing = ok(runner, "asset-types", "list")
    assert "Fuel tanker" in listing and "Diesel" in listing
    assert "deactivated" in ok(runner, "asset-types", "deactivate", "Fuel tanker")
    assert "(inactive)" in ok(runner, "asset-types", "list")
    assert "active again" in ok(runner, "asset-types", "deactivate", "--reactivate", "Fuel tanker")
    db.session.expire_all()
    assert (tanker.name, tanker.description, tanker.default_skill, tanker.is_active) == ("Fuel tanker", "Fuel", "Diesel", True)


def test_asset_types_refusals_say_why_and_change_nothing(app, runner):
    AssetTypeFactory(name="Truck")
    AssetFactory(asset_type=db.session.query(AssetType).filter_by(name="Truck").one())
    db.session.commit()
    assert "An asset type named 'Truck' already exists." in refused(runner, "asset-types", "add", "truck")
    assert "A name is required." in refused(runner, "asset-types", "add", "  ")
    assert "There is no skill 'Welding'" in refused(runner, "asset-types", "add", "Crane", "--skill", "Welding")
    assert "There is no asset type 'Lorry'. Known asset types include: Truck." in refused(
        runner, "asset-types", "rename", "Lorry", "Van")
    assert "still has 1 active asset(s)" in refused(runner, "asset-types", "deactivate", "Truck")
    assert "contains a NUL character (U+0000)" in refused(runner, "asset-types", "add", "Bad\x00name")
    assert "contains a NUL character" in refused(runner, "asset-types", "rename", "Tr\x00uck", "Van")
    assert "contains a NUL character" in refused(runner, "assets", "add", "T-1", "--name", "x", "--type", "Tr\x00uck")
    assert "the limit is 100" in refused(runner, "asset-types", "add", "x" * 101)


# --- make-models --------------------------------------------------------------------------------


def test_make_models_add_and_list(app, runner):
    AssetTypeFactory(name="Truck")
    db.session.commit()
    assert "Added Volvo FH16 (Truck)." in ok(runner, "make-models", "add", "Volvo", "FH16", "--type", "truck")
    assert "Volvo FH16" in ok(runner, "make-models", "list")


def test_make_models_refusals(app, runner):
    MakeModelFactory(make="Volvo", model="FH16", asset_type=AssetTypeFactory(name="Truck"))
    db.session.commit()
    assert "Volvo FH16 already exists." in refused(runner, "make-models", "add", "VOLVO", "fh16", "--type", "Truck")
    assert "There is no asset type 'Bus'" in refused(runner, "make-models", "add", "MAN", "Lion", "--type", "Bus")
    # Both missing values are named at once.
    stderr = refused(runner, "make-models", "add", " ", " ", "--type", "Truck")
    assert "A make is required." in stderr and "A model is required." in stderr


# --- locations ----------------------------------------------------------------------------------


def test_locations_add_and_list(app, runner):
    assert "Added the location Leeds depot." in ok(runner, "locations", "add", "Leeds depot", "--address", "1 Yard Rd",
                                                   "--lat", "53.8", "--lon", "-1.55")
    assert "53.8,-1.55" in ok(runner, "locations", "list")


def test_locations_refusals(app, runner):
    MajorLocationFactory(name="Leeds depot")
    db.session.commit()
    assert "A location named 'Leeds depot' already exists." in refused(runner, "locations", "add", "LEEDS DEPOT")
    stderr = refused(runner, "locations", "add", "York", "--lat", "91", "--lon", "200")
    assert "Latitude 91.0 is outside -90 to 90." in stderr and "Longitude 200.0 is outside -180 to 180." in stderr


# --- assets -------------------------------------------------------------------------------------


def test_assets_add_list_move_deactivate(app, runner):
    truck = AssetTypeFactory(name="Truck")
    MakeModelFactory(make="Volvo", model="FH16", asset_type=truck)
    MajorLocationFactory(name="Leeds")
    MajorLocationFactory(name="York")
    db.session.commit()
    assert "Added TRK-1 (Big red), In Service." in ok(
        runner, "assets", "add", "TRK-1", "--name", "Big red", "--type", "truck", "--make", "volvo", "--model", "fh16",
        "--location", "leeds", "--odometer", "1200")
    assert "TRK-1" in ok(runner, "assets", "list", "--type", "Truck")
    assert "TRK-1 is now based at York." in ok(runner, "assets", "move", "trk-1", "York")
    assert "deactivated" in ok(runner, "assets", "deactivate", "TRK-1")
    assert "TRK-1" not in ok(runner, "assets", "list")
    assert "(inactive)" in ok(runner, "assets", "list", "--all")
    asset = db.session.query(Asset).filter_by(asset_tag="TRK-1").one()
    assert (asset.major_location.name, asset.make_model.display_name, asset.odometer, asset.is_active) == \
        ("York", "Volvo FH16", 1200, False)


def test_assets_refusals(app, runner):
    truck = AssetTypeFactory(name="Truck")
    van = AssetTypeFactory(name="Van")
    MakeModelFactory(make="Ford", model="Transit", asset_type=van)
    AssetFactory(asset_tag="TRK-1", asset_type=truck)
    db.session.commit()
    assert "An asset tagged 'TRK-1' already exists." in refused(runner, "assets", "add", "trk-1", "--name", "x",
                                                                "--type", "Truck")
    assert "Ford Transit is a Van model, not a Truck" in refused(
        runner, "assets", "add", "TRK-2", "--name", "x", "--type", "Truck", "--make", "Ford", "--model", "Transit")
    assert "Give both --make and --model" in refused(runner, "assets", "add", "TRK-2", "--name", "x", "--type", "Truck",
                                                     "--make", "Ford")
    assert "odometer reading must be a number from 0" in refused(
        runner, "assets", "add", "TRK-2", "--name", "x", "--type", "Truck", "--odometer", "-5")
    assert "There is no location 'Mars'" in refused(runner, "assets", "move", "TRK-1", "Mars")
    assert "There is no asset tagged 'TRK-9'" in refused(runner, "assets", "deactivate", "TRK-9")


def test_a_new_asset_is_not_added_to_an_inactive_type(app, runner):
    AssetTypeFactory(name="Truck", is_active=False)
    db.session.commit()
    assert "The asset type Truck is inactive." in refused(runner, "assets", "add", "TRK-2", "--name", "x",
                                                          "--type", "Truck")


# --- detail-sets --------------------------------------------------------------------------------


def test_detail_sets_show_add_remove_by_name(app, runner):
    truck = AssetTypeFactory(name="Truck")
    MakeModelFactory(make="Volvo", model="FH16", asset_type=truck)
    db.session.commit()
    assert "now gives truck_checklist" in ok(runner, "detail-sets", "add", "Truck dispatch checklist", "--type", "truck")
    assert "now gives vehicle_dispatch" in ok(runner, "detail-sets", "add", "vehicle_dispatch",
                                              "--make", "Volvo", "--model", "FH16")
    shown = ok(runner, "detail-sets", "show", "--make", "Volvo", "--model", "FH16")
    assert "vehicle_dispatch" in shown and "A new dispatch gets: Truck dispatch checklist, Vehicle dispatch" in shown
    assert "Removed truck_checklist from the asset type Truck." in ok(runner, "detail-sets", "remove", "truck_checklist",
                                                                       "--type", "Truck")
    db.session.expire_all()
    assert detail_sets.rows_of(db.session.query(AssetType).filter_by(name="Truck").one()) == []
    assert [r.dispatch_detail_table_type for r in detail_sets.rows_of(db.session.query(MakeModel).one())] == \
        ["vehicle_dispatch"]


def test_detail_sets_refusals(app, runner):
    AssetTypeFactory(name="Truck")
    db.session.commit()
    assert "There is no detail type 'crane_check'. Choose one of:" in refused(
        runner, "detail-sets", "add", "crane_check", "--type", "Truck")
    assert "'vehicle_dispatch' is not in this set (configured: none)." in refused(
        runner, "detail-sets", "remove", "vehicle_dispatch", "--type", "Truck")
    assert "Say whose set" in refused(runner, "detail-sets", "add", "vehicle_dispatch")
    assert "There is no make/model" in refused(runner, "detail-sets", "show", "--make", "A", "--model", "B")
    assert "contains a NUL character" in refused(runner, "detail-sets", "show", "--type", "Tr\x00uck")
