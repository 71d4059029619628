"""``/api/v1/asset-types`` and ``/api/v1/locations``: admins only, the admin pages' rules
(unique names whatever the case, coordinates in range, no deactivating what is in use)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AssetType, MajorLocation
from tests.api_support import assert_problem, send, token_for
from tests.factories import AdminFactory, AssetFactory, AssetTypeFactory, MajorLocationFactory, ManagerFactory


@pytest.fixture
def admin(app):
    return token_for(AdminFactory())


def test_an_admin_creates_reads_lists_and_changes_an_asset_type(app, admin):
    created = send(app, "POST", "/api/v1/asset-types", admin, {"name": "Forklift", "description": "Yard"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["name"] == "Forklift" and body["active"] is True
    assert created.headers["Location"].endswith(f"/api/v1/asset-types/{body['id']}")
    read = send(app, "GET", f"/api/v1/asset-types/{body['id']}", admin)
    assert read.get_json() == body and read.headers["ETag"]
    listed = send(app, "GET", "/api/v1/asset-types?per_page=100", admin)
    assert "Forklift" in [t["name"] for t in listed.get_json()["items"]]
    assert listed.headers["X-Total-Count"] == str(db.session.scalar(select(func.count(AssetType.id))))
    changed = send(app, "PATCH", f"/api/v1/asset-types/{body['id']}", admin, {"name": "Fork lift"})
    assert changed.status_code == 200 and changed.get_json()["name"] == "Fork lift"
    assert changed.headers["ETag"] != read.headers["ETag"]
    off = send(app, "PATCH", f"/api/v1/asset-types/{body['id']}", admin, {"active": False})
    assert off.get_json()["active"] is False and off.get_json()["description"] == "Yard"


def test_a_change_needs_the_current_etag_and_active_goes_alone(app, admin):
    truck = AssetTypeFactory(name="Truck")
    path = f"/api/v1/asset-types/{truck.id}"
    read = send(app, "GET", path, admin)
    assert_problem(send(app, "PATCH", path, admin, {"name": "Lorry"}, If_Match=""), 428, "If-Match")
    assert send(app, "PATCH", path, admin, {"description": "Big"}).status_code == 200  # someone else
    stale = assert_problem(send(app, "PATCH", path, admin, {"name": "Lorry"}, If_Match=read.headers["ETag"]), 412,
                           "changed since")
    assert stale["status"] == 412
    body = assert_problem(send(app, "PATCH", path, admin, {"name": "Lorry", "active": False}), 422, "on its own")
    assert "active" in body["errors"]
    db.session.expire_all()
    assert (db.session.get(AssetType, truck.id).name, db.session.get(AssetType, truck.id).is_active) == ("Truck", True)


def test_asset_type_names_are_unique_whatever_the_case(app, admin):
    AssetTypeFactory(name="Truck")
    before = db.session.scalar(select(func.count(AssetType.id)))
    body = assert_problem(send(app, "POST", "/api/v1/asset-types", admin, {"name": "TRUCK"}), 422, "already exists")
    assert "name" in body["errors"]
    assert db.session.scalar(select(func.count(AssetType.id))) == before


def test_a_type_with_active_assets_is_not_deactivated(app, admin):
    truck = AssetTypeFactory(name="Truck")
    AssetFactory(asset_type=truck)
    assert_problem(send(app, "PATCH", f"/api/v1/asset-types/{truck.id}", admin, {"active": False}), 422,
                   "active asset")
    db.session.expire_all()
    assert db.session.get(AssetType, truck.id).is_active is True


def test_unknown_skill_and_unknown_fields_are_refused(app, admin):
    body = assert_problem(send(app, "POST", "/api/v1/asset-types", admin, {"name": "Van", "default_skill": "Juggling"}),
                          422)
    assert "default_skill" in body["errors"]
    body = assert_problem(send(app, "POST", "/api/v1/asset-types", admin, {"name": "Van", "colour": "red"}), 422)
    assert "colour" in body["errors"]
    assert db.session.scalar(select(AssetType.id).where(AssetType.name == "Van")) is None


def test_missing_records_and_roles(app, admin):
    assert_problem(send(app, "GET", "/api/v1/asset-types/999999", admin), 404, "#999999")
    assert_problem(send(app, "GET", "/api/v1/locations/999999", admin), 404, "#999999")
    manager = token_for(ManagerFactory())
    assert_problem(send(app, "GET", "/api/v1/asset-types", manager), 403, "admin")
    assert_problem(send(app, "POST", "/api/v1/locations", manager, {"name": "North"}), 403, "admin")
    assert db.session.scalar(select(MajorLocation.id).where(MajorLocation.name == "North")) is None


def test_an_admin_creates_and_changes_a_location(app, admin):
    created = send(app, "POST", "/api/v1/locations", admin,
                    {"name": "North yard", "address": "1 Quay", "latitude": 51.5, "longitude": -0.1})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["latitude"], body["longitude"], body["address"]) == (51.5, -0.1, "1 Quay")
    changed = send(app, "PATCH", f"/api/v1/locations/{body['id']}", admin, {"address": "2 Quay"})
    assert changed.get_json()["address"] == "2 Quay" and changed.get_json()["name"] == "North yard"
    assert send(app, "GET", "/api/v1/locations?per_page=1", admin).headers["X-Total-Count"] == str(
        db.session.scalar(select(func.count(MajorLocation.id))))


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "X", "latitude": 91, "longitude": 0}, "latitude"),
    ({"name": "X", "latitude": 10, "longitude": 181}, "longitude"),
    ({"name": ""}, "name"),
])
def test_bad_locations_are_refused_per_field(app, admin, body, field):
    refused = assert_problem(send(app, "POST", "/api/v1/locations", admin, body), 422)
    assert field in refused["errors"]
    assert db.session.scalar(select(MajorLocation.id).where(MajorLocation.name == "X")) is None


def test_location_names_unique_and_in_use_locations_stay_active(app, admin):
    north = MajorLocationFactory(name="North")
    AssetFactory(major_location=north)
    assert_problem(send(app, "POST", "/api/v1/locations", admin, {"name": "north"}), 422, "already exists")
    assert_problem(send(app, "PATCH", f"/api/v1/locations/{north.id}", admin, {"active": False}), 422,
                   "active asset")
    db.session.expire_all()
    assert db.session.get(MajorLocation, north.id).is_active is True


def test_an_admin_creates_and_changes_a_make_model(app, admin):
    truck, van = AssetTypeFactory(name="Truck"), AssetTypeFactory(name="Van")
    created = send(app, "POST", "/api/v1/make-models", admin, {"make": "Volvo", "model": "FH", "asset_type_id": truck.id})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["asset_type"] == {"id": truck.id, "name": "Truck"} and body["active"] is True
    changed = send(app, "PATCH", f"/api/v1/make-models/{body['id']}", admin, {"asset_type_id": van.id})
    assert changed.status_code == 200 and changed.get_json()["asset_type"]["name"] == "Van"
    assert changed.get_json()["make"] == "Volvo"


def test_make_model_refusals_change_nothing(app, admin):
    from app.models import MakeModel
    from tests.factories import MakeModelFactory

    truck, van = AssetTypeFactory(name="Truck"), AssetTypeFactory(name="Van")
    used = MakeModelFactory(make="Scania", model="R", asset_type=truck)
    AssetFactory(asset_type=truck, make_model=used)
    assert_problem(send(app, "POST", "/api/v1/make-models", admin,
                         {"make": "scania", "model": "r", "asset_type_id": truck.id}), 422)
    body = assert_problem(send(app, "POST", "/api/v1/make-models", admin,
                                {"make": "MAN", "model": "TGX", "asset_type_id": 999999}), 422, "#999999")
    assert "asset_type_id" in body["errors"]
    body = assert_problem(send(app, "PATCH", f"/api/v1/make-models/{used.id}", admin, {"asset_type_id": van.id}),
                          422, "cannot change")
    assert "asset_type_id" in body["errors"]
    assert_problem(send(app, "PATCH", f"/api/v1/make-models/{used.id}", admin, {"active": False}), 422,
                   "active asset")
    assert_problem(send(app, "GET", "/api/v1/make-models/999999", admin), 404, "#999999")
    db.session.expire_all()
    again = db.session.get(MakeModel, used.id)
    assert (again.asset_type_id, again.is_active) == (truck.id, True)
    assert db.session.scalar(select(func.count(MakeModel.id))) == 1
