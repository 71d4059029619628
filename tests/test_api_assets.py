"""``/api/v1/assets``: admins change, managers read, technicians are refused; the admin page's
rules (tag unique whatever the case, a make/model of the asset's type, active references only,
odometer in range), each refusal saying why and changing nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Asset, AssetStatus
from tests.api_support import assert_problem, send, token_for
from tests.factories import (
    AdminFactory, AssetFactory, AssetTypeFactory, MajorLocationFactory, MakeModelFactory, ManagerFactory,
    TechnicianFactory,
)


@pytest.fixture
def admin(app):
    return token_for(AdminFactory())


@pytest.fixture
def fleet(app):
    truck, van = AssetTypeFactory(name="Truck"), AssetTypeFactory(name="Van")
    return {
        "truck": truck, "van": van,
        "fh": MakeModelFactory(make="Volvo", model="FH", asset_type=truck),
        "transit": MakeModelFactory(make="Ford", model="Transit", asset_type=van),
        "north": MajorLocationFactory(name="North yard"), "south": MajorLocationFactory(name="South yard"),
    }


def _count() -> int:
    return db.session.scalar(select(func.count(Asset.id)))


def _stored(asset_id: int) -> Asset:
    db.session.expire_all()
    return db.session.get(Asset, asset_id)


def _new(fleet, **changes) -> dict:
    return {"asset_tag": "TRK-1", "name": "Big red", "asset_type_id": fleet["truck"].id,
            "make_model_id": fleet["fh"].id, "major_location_id": fleet["north"].id, "odometer": 1200.5, **changes}


def test_an_admin_creates_reads_changes_and_deactivates_an_asset(app, admin, fleet):
    created = send(app, "POST", "/api/v1/assets", admin, _new(fleet))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body == {"id": body["id"], "asset_tag": "TRK-1", "name": "Big red",
                    "asset_type": {"id": fleet["truck"].id, "name": "Truck"},
                    "make_model": {"id": fleet["fh"].id, "make": "Volvo", "model": "FH"},
                    "major_location": {"id": fleet["north"].id, "name": "North yard"},
                    "odometer": 1200.5, "status": AssetStatus.IN_SERVICE.value, "active": True}
    path = f"/api/v1/assets/{body['id']}"
    assert created.headers["Location"].endswith(path)
    read = send(app, "GET", path, admin)
    assert read.get_json() == body and read.headers["ETag"]

    changed = send(app, "PATCH", path, admin, {"name": "Big blue", "major_location_id": fleet["south"].id})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["name"], changed.get_json()["major_location"]["name"]) == ("Big blue", "South yard")
    assert changed.get_json()["asset_tag"] == "TRK-1" and changed.get_json()["make_model"]["model"] == "FH"
    assert changed.headers["ETag"] != read.headers["ETag"]
    cleared = send(app, "PATCH", path, admin, {"make_model_id": None, "major_location_id": None, "odometer": None})
    assert (cleared.get_json()["make_model"], cleared.get_json()["major_location"], cleared.get_json()["odometer"]) \
        == (None, None, None)
    retyped = send(app, "PATCH", path, admin, {"asset_type_id": fleet["van"].id, "make_model_id": fleet["transit"].id})
    assert retyped.get_json()["asset_type"]["name"] == "Van", retyped.get_json()

    off = send(app, "PATCH", path, admin, {"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False and off.get_json()["name"] == "Big blue"
    assert _stored(body["id"]).is_active is False
    on = send(app, "PATCH", path, admin, {"active": True})
    assert on.get_json()["active"] is True


def test_the_list_filters_like_the_admin_list(app, admin, fleet):
    a = AssetFactory(asset_tag="TRK-1", name="Alpha", asset_type=fleet["truck"], make_model=fleet["fh"],
                     major_location=fleet["north"])
    b = AssetFactory(asset_tag="TRK-2", name="Bravo", asset_type=fleet["truck"], make_model=None,
                     major_location=fleet["south"])
    c = AssetFactory(asset_tag="VAN-1", name="Charlie 100%", asset_type=fleet["van"], make_model=fleet["transit"],
                     major_location=fleet["north"], is_active=False)

    def tags(query: str) -> list[str]:
        response = send(app, "GET", f"/api/v1/assets?{query}", admin)
        assert response.status_code == 200, response.get_json()
        assert response.headers["X-Total-Count"] == str(response.get_json()["total"])
        return [item["asset_tag"] for item in response.get_json()["items"]]

    assert tags("") == ["TRK-1", "TRK-2", "VAN-1"]  # by tag, active or not
    assert tags(f"asset_type_id={fleet['truck'].id}") == ["TRK-1", "TRK-2"]
    assert tags(f"make_model_id={fleet['fh'].id}") == ["TRK-1"]
    assert tags(f"major_location_id={fleet['north'].id}") == ["TRK-1", "VAN-1"]
    assert tags("active=true") == ["TRK-1", "TRK-2"] and tags("active=false") == ["VAN-1"]
    assert tags("q=brav") == ["TRK-2"] and tags("q=van-") == ["VAN-1"] and tags("q=100%25") == ["VAN-1"]
    assert tags("q=%25") == ["VAN-1"]  # a % is text, not a wildcard
    assert tags(f"asset_type_id={fleet['truck'].id}&major_location_id={fleet['north'].id}") == ["TRK-1"]
    paged = send(app, "GET", "/api/v1/assets?per_page=2&page=2", admin)
    assert [i["asset_tag"] for i in paged.get_json()["items"]] == ["VAN-1"] and 'rel="prev"' in paged.headers["Link"]
    assert tags("per_page=2&page=3") == []  # past the last page: none, not the last page again
    assert {a.id, b.id, c.id} == {i["id"] for i in send(app, "GET", "/api/v1/assets", admin).get_json()["items"]}


def test_the_list_issues_a_constant_number_of_queries(app, admin, fleet):
    def count(per_page: int) -> int:
        statements = []
        listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert send(app, "GET", f"/api/v1/assets?per_page={per_page}", admin).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    for n in range(12):  # each with its own type, model and location, so nothing is shared by luck
        AssetFactory(asset_tag=f"TRK-{n:02d}")
    count(1)  # the token's first use is noted once
    assert count(2) == count(12)


@pytest.mark.parametrize(("query", "field"), [
    ("asset_type_id=999999", "asset_type_id"),
    ("make_model_id=999999", "make_model_id"),
    ("major_location_id=999999", "major_location_id"),
    ("active=perhaps", "active"),
    ("per_page=101", "per_page"),
])
def test_a_bad_filter_is_refused_naming_it(app, admin, fleet, query, field):
    body = assert_problem(send(app, "GET", f"/api/v1/assets?{query}", admin), 422)
    assert field in body["errors"], body


def test_tags_are_unique_whatever_the_case(app, admin, fleet):
    other = AssetFactory(asset_tag="TRK-7", asset_type=fleet["truck"])
    mine = AssetFactory(asset_tag="TRK-8", asset_type=fleet["truck"])
    before = _count()
    body = assert_problem(send(app, "POST", "/api/v1/assets", admin, _new(fleet, asset_tag="trk-7")), 422,
                          "already exists", "TRK-7")
    assert "asset_tag" in body["errors"]
    body = assert_problem(send(app, "PATCH", f"/api/v1/assets/{mine.id}", admin, {"asset_tag": " Trk-7 "}), 422,
                          "already exists")
    assert "asset_tag" in body["errors"]
    assert _count() == before and _stored(mine.id).asset_tag == "TRK-8" and _stored(other.id).asset_tag == "TRK-7"


def test_a_make_model_of_another_type_is_refused(app, admin, fleet):
    body = assert_problem(send(app, "POST", "/api/v1/assets", admin, _new(fleet, make_model_id=fleet["transit"].id)),
                          422, "Ford Transit", "not a Truck")
    assert "make_model_id" in body["errors"]
    asset = AssetFactory(asset_type=fleet["truck"], make_model=fleet["fh"])
    body = assert_problem(send(app, "PATCH", f"/api/v1/assets/{asset.id}", admin, {"asset_type_id": fleet["van"].id}),
                          422, "not a Van")
    assert "make_model_id" in body["errors"]
    assert _count() == 1 and _stored(asset.id).asset_type_id == fleet["truck"].id


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"asset_type_id": 999999}, "asset_type_id", ("#999999", "GET /api/v1/asset-types")),
    ({"make_model_id": 999999}, "make_model_id", ("#999999", "GET /api/v1/make-models")),
    ({"major_location_id": 999999}, "major_location_id", ("#999999", "GET /api/v1/locations")),
    ({"asset_tag": "   "}, "asset_tag", ("asset tag is required",)),
    ({"name": ""}, "name", ()),
    ({"odometer": -1}, "odometer", ("0 up to 1,000,000,000",)),
    ({"odometer": 1e9}, "odometer", ("0 up to 1,000,000,000",)),
    ({"asset_type_id": "1"}, "asset_type_id", ()),
    ({"status": "Out of Service"}, "status", ()),
])
def test_bad_assets_are_refused_per_field_and_nothing_is_created(app, admin, fleet, changes, field, words):
    before = _count()
    body = assert_problem(send(app, "POST", "/api/v1/assets", admin, _new(fleet, **changes)), 422, *words)
    assert field in body["errors"], body
    assert _count() == before


@pytest.mark.parametrize("inactive", ["truck", "fh", "north"])
def test_a_new_asset_refers_to_active_records_only(app, admin, fleet, inactive):
    fleet[inactive].is_active = False
    db.session.commit()
    body = assert_problem(send(app, "POST", "/api/v1/assets", admin, _new(fleet)), 422, "inactive")
    assert {"truck": "asset_type_id", "fh": "make_model_id", "north": "major_location_id"}[inactive] in body["errors"]
    assert _count() == 0


def test_a_change_needs_the_current_etag_and_active_goes_alone(app, admin, fleet):
    asset = AssetFactory(asset_tag="TRK-1", name="Alpha", asset_type=fleet["truck"], make_model=fleet["fh"])
    path = f"/api/v1/assets/{asset.id}"
    read = send(app, "GET", path, admin)
    assert_problem(send(app, "PATCH", path, admin, {"name": "Beta"}, If_Match=""), 428, "If-Match", f"asset #{asset.id}")
    assert send(app, "PATCH", path, admin, {"odometer": 5}).status_code == 200  # someone else, meanwhile
    stale = assert_problem(send(app, "PATCH", path, admin, {"name": "Beta"}, If_Match=read.headers["ETag"]), 412,
                           "changed since")
    assert stale["status"] == 412
    body = assert_problem(send(app, "PATCH", path, admin, {"name": "Beta", "active": False}), 422, "on its own")
    assert "active" in body["errors"]
    again = _stored(asset.id)
    assert (again.name, again.odometer, again.is_active) == ("Alpha", 5, True)


def test_an_asset_is_not_reactivated_onto_an_inactive_type(app, admin, fleet):
    asset = AssetFactory(asset_tag="TRK-1", asset_type=fleet["truck"], make_model=None, major_location=None,
                         is_active=False)
    fleet["truck"].is_active = False
    db.session.commit()
    assert_problem(send(app, "PATCH", f"/api/v1/assets/{asset.id}", admin, {"active": True}), 422,
                   "cannot be reactivated", "Truck")
    assert _stored(asset.id).is_active is False


def test_managers_read_technicians_are_refused_and_nothing_changes(app, fleet):
    asset = AssetFactory(asset_tag="TRK-1", name="Alpha", asset_type=fleet["truck"])
    manager, technician = token_for(ManagerFactory()), token_for(TechnicianFactory())
    assert send(app, "GET", "/api/v1/assets", manager).get_json()["total"] == 1
    assert send(app, "GET", f"/api/v1/assets/{asset.id}", manager).get_json()["asset_tag"] == "TRK-1"
    assert_problem(send(app, "POST", "/api/v1/assets", manager, _new(fleet)), 403, "admin")
    assert_problem(send(app, "PATCH", f"/api/v1/assets/{asset.id}", manager, {"name": "Beta"}), 403, "admin")
    assert_problem(send(app, "GET", "/api/v1/assets", technician), 403, "admin or manager")
    assert_problem(send(app, "GET", f"/api/v1/assets/{asset.id}", technician), 403)
    assert_problem(send(app, "POST", "/api/v1/assets", technician, _new(fleet)), 403)
    assert_problem(send(app, "GET", "/api/v1/assets/999999", manager), 404, "#999999")
    assert _count() == 1 and _stored(asset.id).name == "Alpha"
