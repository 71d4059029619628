"""CSV import/export of the fleet: every problem by row and column, all or nothing, round trip."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import delete

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    AssetTypeDispatchDetailTableSet,
    MajorLocation,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
)
from app.services import fleet_import
from app.services.fleet_import import Upload, import_files
from tests.admin_support import html
from tests.factories import (
    AdminFactory,
    AssetFactory,
    AssetTypeFactory,
    MajorLocationFactory,
    MakeModelFactory,
    ModelAdditionalDispatchDetailTableSetFactory,
    SkillFactory,
    configured_truck_type,
)
from tests.fleet_support import fleet_snapshot

LOCATIONS = "name,address,latitude,longitude\nLeeds depot,1 Yard Road,53.8,-1.55\nYork yard,,53.96,-1.08\n"
TYPES = "name,description,default_skill,checklists\nTanker,Fuel tankers,,Truck dispatch checklist; vehicle_dispatch\n"
MODELS = "make,model,asset_type,checklists\nScania,R500,tanker,\n"
ASSETS = ("asset_tag,name,asset_type,make,model,location,odometer\n"
          "TNK-1,Tanker one,Tanker,scania,r500,leeds depot,1200\n"
          "TNK-2,Tanker two,TANKER,,,,\n")


def run(dry_run=False, **files: str | bytes) -> fleet_import.Report:
    uploads = [Upload(kind.replace("_", "-"), f"{kind.replace('_', '-')}.csv",
                      data.encode() if isinstance(data, str) else data)
               for kind, data in files.items()]
    return import_files(uploads, dry_run=dry_run)


def problems(report) -> list[tuple]:
    return [(p.file, p.row, p.column) for p in report.problems]


def message(report, row, column) -> str:
    found = [p.message for p in report.problems if (p.row, p.column) == (row, column)]
    assert found, report.problems
    return found[0]


# --- a clean import, with references to records new in the same import ---------------------------


def test_files_of_one_import_refer_to_each_other_in_any_order(app):
    report = run(assets=ASSETS, make_models=MODELS, asset_types=TYPES, locations=LOCATIONS)

    assert report.ok, report.problems
    assert report.created == {"locations": 2, "asset-types": 1, "make-models": 1, "assets": 2}
    db.session.expire_all()
    one = db.session.query(Asset).filter_by(asset_tag="TNK-1").one()
    assert (one.asset_type.name, one.make_model.display_name, one.major_location.name, one.odometer) == \
        ("Tanker", "Scania R500", "Leeds depot", 1200)
    keys = [r.dispatch_detail_table_type for r in db.session.query(AssetTypeDispatchDetailTableSet).order_by("id")]
    assert keys == ["truck_checklist", "vehicle_dispatch"]


def test_a_dry_run_reports_what_it_would_import_and_writes_nothing(app):
    before = fleet_snapshot()
    report = run(dry_run=True, assets=ASSETS, make_models=MODELS, asset_types=TYPES, locations=LOCATIONS)
    assert report.ok and "would import 2 locations, 1 asset type, 1 make and model, 2 assets" in report.summary()
    assert fleet_snapshot() == before


# --- every problem, by row and column ------------------------------------------------------------


def test_every_problem_of_every_row_is_reported_with_its_row_and_column(app):
    AssetTypeFactory(name="Truck")
    MajorLocationFactory(name="Leeds depot")
    db.session.commit()
    before = fleet_snapshot()
    locations = ("name,address,latitude,longitude\n"
                 "leeds DEPOT,,,\n"                      # 2: duplicate of an existing record, other case
                 "York,,north,\n"                        # 3: not a number
                 "Hull,,95,200\n"                        # 4: both coordinates out of range
                 ",Somewhere,,\n"                        # 5: name missing
                 "Bad\x07name,,,\n"                      # 6: control character
                 f"{'x' * 201},,,\n"                     # 7: too long (String(200))
                 "Selby,,,\n"                            # 8: fine
                 "SELBY,,,\n")                           # 9: duplicate in the file
    assets = ("asset_tag,name,asset_type,make,model,location,odometer,active\n"
              "A-1,One,Lorry,,,,,\n"                     # 2: unknown asset type
              "A-2,Two,Truck,,,Nowhere,-3,maybe\n"       # 3: unknown location, negative odometer, bad flag
              "A-3,Three,Truck,Volvo,,,,\n"              # 4: make without model
              "A-4,Four,Truck,,,Hull,,\n"                # 5: location from a refused row of this import
              "A-5,Five,Tr\x00uck,,,,,\n")              # 6: a NUL in a name used to look a type up
    report = run(locations=locations, assets=assets)

    assert not report.ok and fleet_snapshot() == before
    assert problems(report) == [
        ("locations.csv", 2, "name"), ("locations.csv", 3, "latitude"), ("locations.csv", 4, "latitude"),
        ("locations.csv", 4, "longitude"), ("locations.csv", 5, "name"), ("locations.csv", 6, "name"),
        ("locations.csv", 7, "name"), ("locations.csv", 9, "name"),
        ("assets.csv", 2, "asset_type"), ("assets.csv", 3, "location"), ("assets.csv", 3, "odometer"),
        ("assets.csv", 3, "active"), ("assets.csv", 4, "model"), ("assets.csv", 5, "location"),
        ("assets.csv", 6, "asset_type"),
    ]
    assert message(report, 2, "name") == "A location named 'Leeds depot' already exists."
    assert "must be a number" in message(report, 3, "latitude")
    assert "outside -90 to 90" in message(report, 4, "latitude")
    assert "outside -180 to 180" in message(report, 4, "longitude")
    assert "A value is required in 'name'" in message(report, 5, "name")
    assert "a control character (U+0007)" in message(report, 6, "name")
    assert "201 characters long; the limit is 200" in message(report, 7, "name")
    assert "already in row 8 of this file" in message(report, 9, "name")
    assets_problems = {(p.row, p.column): p.message for p in report.problems if p.file == "assets.csv"}
    assert "There is no asset type 'Lorry'" in assets_problems[(2, "asset_type")]
    assert "nor in the asset types file" in assets_problems[(2, "asset_type")]
    assert "Write yes or no, not 'maybe'" in assets_problems[(3, "active")]
    assert "odometer reading must be a number from 0" in assets_problems[(3, "odometer")]
    assert "defined in locations.csv row 4, which has a problem" in assets_problems[(5, "location")]
    assert "a NUL character (U+0000)" in assets_problems[(6, "asset_type")]
    assert "15 problems found; nothing was imported" in report.summary()


def test_one_bad_row_among_good_ones_writes_nothing(app):
    before = fleet_snapshot()
    bad_assets = ASSETS + "TNK-3,Tanker three,Tanker,Scania,R999,,\n"
    report = run(locations=LOCATIONS, asset_types=TYPES, make_models=MODELS, assets=bad_assets)
    assert problems(report) == [("assets.csv", 4, "model")]
    assert "There is no make/model Scania 'R999'" in report.problems[0].message
    assert fleet_snapshot() == before


def test_header_problems_are_reported_on_row_one(app):
    report = run(locations="name,adress,latitude\nLeeds,,\n", assets="name,asset_type\nx,y\n")
    assert problems(report) == [("locations.csv", 1, "adress"), ("assets.csv", 1, "asset_tag")]
    assert "the columns are name, address, latitude, longitude, active" in report.problems[0].message


def test_unknown_checklist_and_skill_name_their_column(app):
    report = run(asset_types="name,default_skill,checklists\nCrane,Lifting,crane_check\n")
    assert problems(report) == [("asset-types.csv", 2, "default_skill")]
    SkillFactory(name="Lifting")
    db.session.commit()
    report = run(asset_types="name,default_skill,checklists\nCrane,lifting,crane_check\n")
    assert problems(report) == [("asset-types.csv", 2, "checklists")]
    assert "There is no detail type 'crane_check'" in report.problems[0].message
    assert db.session.query(AssetType).count() == 0


# --- encodings and limits ------------------------------------------------------------------------


def test_a_utf8_byte_order_mark_from_excel_is_accepted(app):
    report = run(locations=b"\xef\xbb\xbf" + "name,address\r\nK\u00f6ln depot,Stra\u00dfe 1\r\n".encode())
    assert report.ok, report.problems
    assert db.session.query(MajorLocation).one().name == "K\u00f6ln depot"


def test_a_file_that_is_not_utf8_is_refused_clearly(app):
    report = run(locations="name\nK\u00f6ln\n".encode("latin-1"))
    assert problems(report) == [("locations.csv", None, "")]
    assert "not UTF-8 text (byte 0xF6 at position 7)" in report.problems[0].message
    assert "CSV UTF-8" in report.problems[0].message
    assert db.session.query(MajorLocation).count() == 0


def test_too_many_rows_and_too_many_bytes_are_refused(app):
    app.config["FLEET_IMPORT_MAX_ROWS"] = 3
    report = run(locations="name\n" + "".join(f"L{n}\n" for n in range(4)))
    assert "The file has 4 rows; at most 3 are imported at once" in report.problems[0].message
    report = import_files([Upload("locations", "big.csv", b"name\n" + b"x" * 2048)], dry_run=True, max_bytes=1024)
    assert "the limit is 1 KB" in report.problems[0].message
    two = [Upload("locations", "l.csv", b"name\nA\n" + b" " * 600), Upload("asset-types", "t.csv", b"name\nB\n" + b" " * 600)]
    report = import_files(two, dry_run=False, max_total_bytes=1024)
    assert "The files are 1 KB together; at most 1 KB are imported at once here" in report.problems[0].message
    assert db.session.query(MajorLocation).count() == 0


def test_a_formula_looking_cell_is_exported_with_an_apostrophe_and_imported_without(app):
    MajorLocationFactory(name="=HYPERLINK(1)", address="-1 Road")
    db.session.commit()
    exported = fleet_import.export("locations")
    assert "'=HYPERLINK(1),'-1 Road" in exported and "-1.55" in exported  # numbers are not escaped
    db.session.execute(delete(MajorLocation))
    db.session.commit()
    assert run(locations=exported).ok
    assert db.session.query(MajorLocation.name, MajorLocation.address).one() == ("=HYPERLINK(1)", "-1 Road")


# --- round trip ----------------------------------------------------------------------------------


def _empty_fleet() -> None:
    for model in (AssetTypeDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet, Asset, MakeModel,
                  AssetType, MajorLocation):
        db.session.execute(delete(model))
    db.session.commit()


def test_export_then_import_into_an_empty_database_reproduces_the_fleet(app):
    SkillFactory(name="Diesel")
    truck = configured_truck_type("Truck")
    truck.default_skill, truck.description = "Diesel", 'Heavy, "big" trucks\nover 7.5 t'
    van = AssetTypeFactory(name="Van")
    old = AssetTypeFactory(name="Old type", is_active=False)
    volvo = MakeModelFactory(make="Volvo", model="FH16", asset_type=truck)
    ModelAdditionalDispatchDetailTableSetFactory(make_model=volvo, dispatch_detail_table_type="vehicle_dispatch")
    MakeModelFactory(make="Ford", model="Transit", asset_type=van, is_active=False)
    MakeModelFactory(make="Leyland", model="T45", asset_type=old, is_active=False)
    leeds = MajorLocationFactory(name="Leeds", latitude=53.79648, longitude=-1.54785)
    MajorLocationFactory(name="Closed yard", address=None, latitude=None, longitude=None, is_active=False)
    AssetFactory(asset_tag="TRK-1", name="Big red", asset_type=truck, make_model=volvo, major_location=leeds,
                 odometer=123456.5)
    AssetFactory(asset_tag="VAN-1", name="Old van", asset_type=van, make_model=None, major_location=None,
                 odometer=None, is_active=False)
    db.session.commit()
    exported = {kind: fleet_import.export(kind) for kind in fleet_import.KINDS}

    _empty_fleet()
    report = run(**{kind.replace("-", "_"): text for kind, text in exported.items()})

    assert report.ok, report.problems
    assert {kind: fleet_import.export(kind) for kind in fleet_import.KINDS} == exported
    assert db.session.query(AssetType).filter_by(name="Truck").one().description == 'Heavy, "big" trucks\nover 7.5 t'


# --- command line --------------------------------------------------------------------------------


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_cli_template_export_and_import(app, runner, tmp_path):
    template = runner.invoke(args=["fleet", "template", "assets"])
    assert template.exit_code == 0
    assert template.stdout.splitlines() == ["\ufeffasset_tag,name,asset_type,make,model,location,odometer,active"]
    for name, text in (("l.csv", LOCATIONS), ("t.csv", TYPES), ("m.csv", MODELS), ("a.csv", ASSETS)):
        (tmp_path / name).write_text(text)
    files = [str(tmp_path / name) for name in ("a.csv", "m.csv", "t.csv", "l.csv")]

    dry = runner.invoke(args=["fleet", "import", *files, "--dry-run"])
    assert dry.exit_code == 0, dry.stderr
    assert "would import" in dry.stdout and db.session.query(Asset).count() == 0

    done = runner.invoke(args=["fleet", "import", *files])
    assert done.exit_code == 0, done.stderr
    assert "Imported 2 locations, 1 asset type, 1 make and model, 2 assets." in done.stdout
    exported = runner.invoke(args=["fleet", "export", "--kind", "assets"])
    assert "TNK-1,Tanker one,Tanker,Scania,R500,Leeds depot,1200,yes" in exported.stdout


def test_cli_import_refused_lists_every_problem_on_stderr_and_writes_nothing(app, runner, tmp_path):
    (tmp_path / "a.csv").write_text("asset_tag,name,asset_type\nA-1,,Lorry\n")
    before = fleet_snapshot()
    result = runner.invoke(args=["fleet", "import", str(tmp_path / "a.csv"), "--kind", "assets"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "a.csv, row 2, column name: A value is required in 'name'." in result.stderr
    assert "a.csv, row 2, column asset_type: There is no asset type 'Lorry'." in result.stderr
    assert "2 problems found; nothing was imported" in result.stderr
    assert fleet_snapshot() == before
    (tmp_path / "x.csv").write_text("foo,bar\n1,2\n")
    result = runner.invoke(args=["fleet", "import", str(tmp_path / "x.csv")])
    assert result.exit_code == 1 and "does not name the columns of any kind" in result.stderr


# --- admin page ----------------------------------------------------------------------------------


def _post(client, action="check", **files):
    data = {"action": action, **{kind.replace("_", "-"): (io.BytesIO(text.encode()), f"{kind}.csv")
                                 for kind, text in files.items()}}
    return client.post("/admin/fleet/import", data=data, content_type="multipart/form-data")


def test_admin_uploads_checks_then_confirms_the_import(app, client, auth):
    auth.login(AdminFactory())
    page = client.get("/admin/fleet/import")
    assert page.status_code == 200 and "/admin/fleet/template/assets.csv" in html(page)

    checked = _post(client, assets=ASSETS, asset_types=TYPES, make_models=MODELS, locations=LOCATIONS)
    assert checked.status_code == 200
    body = html(checked)
    assert "Checked: would import 2 locations" in body and db.session.query(Asset).count() == 0
    carried = dict(re.findall(r'name="(checked-[a-z-]+)" value="([^"]+)"', body))
    assert set(carried) == {"checked-locations", "checked-asset-types", "checked-make-models", "checked-assets"}

    imported = client.post("/admin/fleet/import", data={"action": "import", **carried})
    assert imported.status_code == 302
    assert "Imported 2 locations" in html(client.get(imported.headers["Location"]))
    assert db.session.query(Asset).count() == 2


def test_admin_dry_run_shows_the_problem_table_and_writes_nothing(app, client, auth):
    auth.login(AdminFactory())
    before = fleet_snapshot()
    response = _post(client, action="import", locations=LOCATIONS, assets=ASSETS)
    assert response.status_code == 422
    body = html(response)
    assert "<td>assets.csv</td><td>2</td><td>asset_type</td>" in body
    assert "nothing was imported" in body and "checked-" not in body
    assert fleet_snapshot() == before


def test_admin_template_and_export_downloads(app, client, auth):
    auth.login(AdminFactory())
    MajorLocationFactory(name="Leeds")
    db.session.commit()
    template = client.get("/admin/fleet/template/locations.csv")
    assert template.mimetype == "text/csv" and template.data.decode("utf-8-sig").startswith("name,address,")
    exported = client.get("/admin/fleet/export/locations.csv")
    assert "attachment" in exported.headers["Content-Disposition"] and "Leeds" in exported.data.decode()
    assert client.get("/admin/fleet/export/people.csv").status_code == 404
