"""Checklists (detail rows) in the API: the page's rules, If-Match, all-or-nothing answers,
defects and sign-off; and the detail types with their fields."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Asset, AssetStatus, ChecklistDefect, WorkType, Dispatch, TruckDispatchChecklist, VehicleDispatch
from app.models.dispatching.build import detail_types
from app.services import dispatches
from app.services.actors import acting_as
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import (
    AssetFactory, AssetTypeDispatchDetailTableSetFactory, AssetTypeFactory, DispatchFactory, ManagerFactory,
    TechnicianFactory, configured_truck_type,
)

INSPECTIONS = ("tires_checked", "lights_checked", "brakes_checked", "fluids_checked", "safety_equipment_checked")
CHECKS = ("cargo_secured", "weight_distribution_verified", "load_manifest_verified", "registration_current",
          "insurance_current", "permits_obtained")


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Tech")


@pytest.fixture
def tokens(app, technician):
    return {"technician": token_for(technician), "other": token_for(TechnicianFactory(name="Otto Other")),
            "manager": token_for(ManagerFactory())}


@pytest.fixture
def truck_job(app, system_actor, technician):
    dispatch = DispatchFactory(asset=AssetFactory(asset_tag="TRK-9", asset_type=configured_truck_type()))
    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    row = db.session.scalar(select(TruckDispatchChecklist).where(TruckDispatchChecklist.dispatch_id == dispatch.id))
    return dispatch, row


@pytest.fixture
def vehicle_job(app, system_actor, technician):
    van = AssetTypeFactory(name="Van")
    AssetTypeDispatchDetailTableSetFactory(asset_type=van, dispatch_detail_table_type="vehicle_dispatch")
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=van))
    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    row = db.session.scalar(select(VehicleDispatch).where(VehicleDispatch.dispatch_id == dispatch.id))
    return dispatch, row


def _url(dispatch, row, tail=""):
    return f"/api/v1/dispatches/{dispatch.dispatch_number}/detail-rows/{row.detail_id}{tail}"


def _read(client, dispatch, row, secret):
    response = client.get(_url(dispatch, row), headers=bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(), response.headers["ETag"]


def _patch(client, dispatch, row, secret, items, etag):
    return client.patch(_url(dispatch, row, "/items"), json={"items": items}, headers=bearer(secret, **{"If-Match": etag}))


def _stored(row):
    db.session.expire_all()
    return db.session.get(type(row), row.id)


def test_lists_and_reads_checklists_with_items_and_etag(app, truck_job, tokens):
    dispatch, row = truck_job
    client = app.test_client()
    listed = client.get(f"/api/v1/dispatches/{dispatch.dispatch_number}/detail-rows", headers=bearer(tokens["technician"]))
    assert listed.status_code == 200
    [checklist] = listed.get_json()["items"]
    assert checklist["detail_id"] == row.detail_id and checklist["detail_type"] == "truck_checklist"
    assert checklist["loaded"] is True and checklist["signed_off_at"] is None and checklist["answered"] == 0
    tires = next(i for i in checklist["items"] if i["name"] == "tires_checked")
    assert tires == {"name": "tires_checked", "label": "Tires and wheels", "kind": "inspection", "group": tires["group"],
                     "required": True, "value": None, "defect": None, "answered": False}
    body, etag = _read(client, dispatch, row, tokens["manager"])
    assert etag == f'"{body["version"]}"' and body["version"] == checklist["version"]


def test_technicians_reach_only_their_own_dispatches_checklists(app, truck_job, tokens, system_actor):
    dispatch, row = truck_job
    client = app.test_client()
    assert_problem(client.get(_url(dispatch, row), headers=bearer(tokens["other"])), 404)
    response = _patch(client, dispatch, row, tokens["other"], [{"name": "cargo_secured", "value": True}], "*")
    assert_problem(response, 404)
    assert _stored(row).cargo_secured is not True
    # A checklist of another dispatch is not found under this one's number.
    other = DispatchFactory(asset=AssetFactory(asset_type=dispatch.asset.asset_type))
    assert_problem(client.get(f"/api/v1/dispatches/{other.dispatch_number}/detail-rows/{row.detail_id}",
                              headers=bearer(tokens["manager"])), 404, "has no checklist")
    assert_problem(client.get(f"/api/v1/dispatches/{dispatch.dispatch_number}/detail-rows/100000000000000000000",
                              headers=bearer(tokens["manager"])), 404)


def test_answers_are_saved_with_if_match_and_change_the_etag(app, truck_job, tokens):
    dispatch, row = truck_job
    client = app.test_client()
    body, etag = _read(client, dispatch, row, tokens["technician"])
    response = _patch(client, dispatch, row, tokens["technician"],
                      [{"name": "cargo_secured", "value": True}, {"name": "tires_checked", "value": "ok"},
                       {"name": "checklist_notes", "value": "All good"}], etag)
    assert response.status_code == 200, response.get_data(as_text=True)
    saved = response.get_json()
    assert saved["answered"] == 2 and response.headers["ETag"] != etag
    stored = _stored(row)
    assert stored.cargo_secured is True and stored.tires_checked is True and stored.checklist_notes == "All good"


def test_answers_need_if_match_and_a_stale_etag_changes_nothing(app, truck_job, tokens):
    dispatch, row = truck_job
    client = app.test_client()
    _, etag = _read(client, dispatch, row, tokens["technician"])
    missing = client.patch(_url(dispatch, row, "/items"), json={"items": [{"name": "cargo_secured", "value": True}]},
                           headers=bearer(tokens["technician"]))
    assert_problem(missing, 428, "If-Match")
    assert _patch(client, dispatch, row, tokens["manager"], [{"name": "permits_obtained", "value": True}],
                  etag).status_code == 200
    stale = _patch(client, dispatch, row, tokens["technician"], [{"name": "cargo_secured", "value": True}], etag)
    problem = assert_problem(stale, 412, "changed since you read it")
    assert stale.headers["ETag"] != etag
    assert _stored(row).cargo_secured is not True and problem["type"].endswith("precondition-failed")


def test_one_refused_answer_saves_none_and_names_each_field(app, vehicle_job, tokens):
    dispatch, row = vehicle_job
    client = app.test_client()
    _, etag = _read(client, dispatch, row, tokens["technician"])
    response = _patch(client, dispatch, row, tokens["technician"],
                      [{"name": "mileage_start", "value": 100}, {"name": "fuel_level_start", "value": 150},
                       {"name": "passenger_count", "value": "two"}], etag)
    problem = assert_problem(response, 422, "at most 100", "whole number")
    assert set(problem["errors"]) == {"fuel_level_start", "passenger_count"}
    # A rule that needs the stored values (mileage at end not below start) refuses inside the
    # transaction: the answers before it are rolled back too.
    response = _patch(client, dispatch, row, tokens["technician"],
                      [{"name": "mileage_start", "value": 500}, {"name": "mileage_end", "value": 400}], etag)
    assert_problem(response, 422, "cannot be less than")
    stored = _stored(row)
    assert stored.mileage_start is None and stored.fuel_level_start is None and stored.mileage_end is None
    assert _read(client, dispatch, row, tokens["technician"])[1] == etag


@pytest.mark.parametrize("items, words", [
    ([{"name": "no_such_item", "value": 1}], ("has no item",)),
    ([{"name": "cargo_secured", "value": "yes"}], ("true or false",)),
    ([{"name": "tires_checked", "value": "broken"}], ('"ok" or "defect"',)),
    ([{"name": "tires_checked", "value": "defect"}], ("Describe the defect",)),
    ([{"name": "cargo_secured", "value": True, "description": "why"}], ("only a defect takes a description",)),
])
def test_refused_answers_say_why_and_change_nothing(app, truck_job, tokens, items, words):
    dispatch, row = truck_job
    client = app.test_client()
    _, etag = _read(client, dispatch, row, tokens["technician"])
    assert_problem(_patch(client, dispatch, row, tokens["technician"], items, etag), 422, *words)
    assert _read(client, dispatch, row, tokens["technician"])[1] == etag
    assert db.session.scalar(select(func.count(ChecklistDefect.id))) == 0


def test_schema_refusals_per_field(app, truck_job, tokens):
    dispatch, row = truck_job
    client = app.test_client()
    for body, field in (({}, "items"), ({"items": []}, "items"), ({"items": [{"value": 1}]}, "items.0.name"),
                        ({"items": [{"name": "a", "value": 1}, {"name": "a", "value": 2}]}, "items"),
                        ({"items": [{"name": "a", "value": 1}], "x": 1}, "x")):
        response = client.patch(_url(dispatch, row, "/items"), json=body,
                                headers=bearer(tokens["technician"], **{"If-Match": "*"}))
        problem = assert_problem(response, 422)
        assert field in problem["errors"], (body, problem)


def test_defect_reported_then_sign_off_opens_a_repair(app, truck_job, tokens, technician):
    dispatch, row = truck_job
    client = app.test_client()
    _, etag = _read(client, dispatch, row, tokens["technician"])
    not_inspection = client.post(_url(dispatch, row, "/defects"), json={"item": "cargo_secured", "description": "x"},
                                 headers=bearer(tokens["technician"], **{"If-Match": etag}))
    assert_problem(not_inspection, 422, "not an inspection item")
    reported = client.post(_url(dispatch, row, "/defects"),
                           json={"item": "brakes_checked", "description": "Front left pad worn"},
                           headers=bearer(tokens["technician"], **{"If-Match": etag}))
    assert reported.status_code == 201, reported.get_data(as_text=True)
    etag = reported.headers["ETag"]
    defects = client.get(_url(dispatch, row, "/defects"), headers=bearer(tokens["technician"])).get_json()["items"]
    assert [(d["item"], d["description"], d["repair_dispatch"]) for d in defects] == \
        [("brakes_checked", "Front left pad worn", None)]
    early = client.post(_url(dispatch, row, "/sign-off"), headers=bearer(tokens["technician"], **{"If-Match": etag}))
    assert_problem(early, 422, "cannot be signed off yet")
    answers = [{"name": n, "value": "ok"} for n in INSPECTIONS if n != "brakes_checked"]
    answers += [{"name": n, "value": True} for n in CHECKS]
    response = _patch(client, dispatch, row, tokens["technician"], answers, etag)
    assert response.status_code == 200, response.get_data(as_text=True)
    etag = response.headers["ETag"]
    assert_problem(client.post(_url(dispatch, row, "/sign-off"), headers=bearer(tokens["technician"])), 428)
    signed = client.post(_url(dispatch, row, "/sign-off"), headers=bearer(tokens["technician"], **{"If-Match": etag}))
    assert signed.status_code == 200, signed.get_data(as_text=True)
    body = signed.get_json()
    assert body["signed_off_by"]["id"] == technician.id and body["signed_off_at"]
    repair = db.session.scalar(select(Dispatch).where(Dispatch.dispatch_number == body["repair_dispatch"]))
    assert repair is not None and repair.work_type == WorkType.REPAIR.value
    assert db.session.get(Asset, dispatch.asset_id).status == AssetStatus.OUT_OF_SERVICE.value
    # Signed off: no more answers, no second sign-off.
    after = _patch(client, dispatch, row, tokens["technician"], [{"name": "checklist_notes", "value": "late"}],
                   signed.headers["ETag"])
    assert_problem(after, 422, "signed off")
    assert_problem(client.post(_url(dispatch, row, "/sign-off"),
                               headers=bearer(tokens["technician"], **{"If-Match": signed.headers["ETag"]})), 422)
    assert _stored(row).checklist_notes is None


def test_detail_types_list_every_registered_type_with_its_fields(app, tokens):
    client = app.test_client()
    response = client.get("/api/v1/detail-types", headers=bearer(tokens["technician"]))
    assert response.status_code == 200
    listed = {t["key"]: t for t in response.get_json()["items"]}
    assert set(listed) == set(detail_types().keys())
    vehicle = listed["vehicle_dispatch"]
    assert vehicle["label"] == VehicleDispatch.label and vehicle["table_name"] == VehicleDispatch.__tablename__
    fuel = next(f for f in vehicle["fields"] if f["name"] == "fuel_level_end")
    assert (fuel["kind"], fuel["minimum"], fuel["maximum"], fuel["unit"]) == ("number", 0, 100, "%")
    mileage = next(f for f in vehicle["fields"] if f["name"] == "mileage_end")
    assert mileage["not_below"] == "mileage_start"
    assert_problem(client.get("/api/v1/detail-types"), 401)


def test_a_plugin_type_is_listed_with_no_code_of_its_own(app, tokens):
    """The example trailers plugin (installed by ``make install-test``) adds its type by its hook only."""
    from app.checklists.fields import checklist_fields

    trailer = detail_types().get("trailer_inspection")
    assert trailer is not None and trailer.plugin == "trailers"
    body = app.test_client().get("/api/v1/detail-types", headers=bearer(tokens["manager"])).get_json()
    listed = {t["key"]: t for t in body["items"]}
    assert listed["trailer_inspection"]["plugin"] == "trailers"
    assert [f["name"] for f in listed["trailer_inspection"]["fields"]] == \
        [f.name for f in checklist_fields(trailer.model)]
