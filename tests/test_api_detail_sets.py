"""Detail sets in the API (``/asset-types/{id}/detail-types``, ``/make-models/{id}/detail-types``):
admins only, registered keys only, each key once, active on/off and removal with If-Match, the
answer the set in order; a plugin's type (the example trailers plugin) with no code of its own."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import (
    AllDispatchDetail, AssetTypeDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet,
)
from app.models.dispatching.build import detail_types
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import (
    AdminFactory, AssetFactory, AssetTypeDispatchDetailTableSetFactory, AssetTypeFactory, DispatchFactory,
    MakeModelFactory, ManagerFactory, ModelAdditionalDispatchDetailTableSetFactory, TechnicianFactory,
)


@pytest.fixture
def admin(app):
    return token_for(AdminFactory())


@pytest.fixture
def truck(app):
    truck = AssetTypeFactory(name="Truck")
    AssetTypeDispatchDetailTableSetFactory(asset_type=truck, dispatch_detail_table_type="truck_checklist")
    return truck


def _type_set(truck) -> str:
    return f"/api/v1/asset-types/{truck.id}/detail-types"


def _send(app, method, path, secret, body=None, **headers):
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    return app.test_client().open(path, method=method, headers=bearer(secret, **headers), json=body)


def _etag(app, path, secret) -> str:
    response = _send(app, "GET", path, secret)
    assert response.status_code == 200, response.get_json()
    return response.headers["ETag"]


def _stored(model, column, owner_id) -> list[tuple[str, bool]]:
    db.session.expire_all()
    return [(row.dispatch_detail_table_type, row.is_active)
            for row in db.session.scalars(select(model).where(column == owner_id).order_by(model.id))]


def _type_rows(truck):
    return _stored(AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.asset_type_id, truck.id)


def test_an_admin_reads_and_adds_to_an_asset_types_set_in_order(app, admin, truck):
    read = _send(app, "GET", _type_set(truck), admin)
    assert read.status_code == 200 and read.headers["ETag"]
    assert read.get_json() == {"items": [{"key": "truck_checklist", "label": detail_types().get("truck_checklist").label,
                                          "plugin": detail_types().get("truck_checklist").plugin, "active": True,
                                          "loaded": True}],
                               "planned": ["truck_checklist"]}
    added = _send(app, "POST", _type_set(truck), admin, {"key": "vehicle_dispatch"})
    assert added.status_code == 201, added.get_json()
    assert [i["key"] for i in added.get_json()["items"]] == ["truck_checklist", "vehicle_dispatch"]
    assert added.get_json()["planned"] == ["truck_checklist", "vehicle_dispatch"]
    assert added.headers["ETag"] != read.headers["ETag"]
    assert added.headers["ETag"] == _etag(app, _type_set(truck), admin)
    assert _type_rows(truck) == [("truck_checklist", True), ("vehicle_dispatch", True)]


@pytest.mark.parametrize(("key", "words"), [
    ("no_such_checklist", ("There is no detail type 'no_such_checklist'", "truck_checklist")),
    ("   ", ("There is no detail type ''",)),
])
def test_an_unknown_key_is_refused_and_changes_nothing(app, admin, truck, key, words):
    body = assert_problem(_send(app, "POST", _type_set(truck), admin, {"key": key}), 422, *words)
    assert "key" in body["errors"]
    assert _type_rows(truck) == [("truck_checklist", True)]


def test_a_key_already_in_the_set_is_refused_active_or_not(app, admin, truck):
    body = assert_problem(_send(app, "POST", _type_set(truck), admin, {"key": "truck_checklist"}), 422,
                          "already in this set")
    assert "key" in body["errors"]
    truck.dispatch_detail_table_sets[0].is_active = False
    db.session.commit()
    assert_problem(_send(app, "POST", _type_set(truck), admin, {"key": "truck_checklist"}), 422,
                   "already in this set (inactive", "active to true")
    assert _type_rows(truck) == [("truck_checklist", False)]  # not silently switched back on


def test_schema_refusals_name_the_field(app, admin, truck):
    for body, field in (({}, "key"), ({"key": 7}, "key"), ({"key": "vehicle_dispatch", "x": 1}, "x")):
        refused = assert_problem(_send(app, "POST", _type_set(truck), admin, body), 422)
        assert field in refused["errors"], refused
    assert _type_rows(truck) == [("truck_checklist", True)]


def test_active_on_and_off_needs_the_sets_current_etag(app, admin, truck):
    path = _type_set(truck) + "/truck_checklist"
    etag = _etag(app, _type_set(truck), admin)
    assert_problem(_send(app, "PATCH", path, admin, {"active": False}), 428, "If-Match",
                   f"detail set of asset type #{truck.id}")
    off = _send(app, "PATCH", path, admin, {"active": False}, If_Match=etag)
    assert off.status_code == 200, off.get_json()
    assert off.get_json()["items"][0]["active"] is False and off.get_json()["planned"] == []
    stale = assert_problem(_send(app, "PATCH", path, admin, {"active": True}, If_Match=etag), 412, "changed since")
    assert stale["status"] == 412
    assert _type_rows(truck) == [("truck_checklist", False)]
    on = _send(app, "PATCH", path, admin, {"active": True}, If_Match=off.headers["ETag"])
    assert on.get_json()["planned"] == ["truck_checklist"]
    assert_problem(_send(app, "PATCH", path, admin, {"active": "maybe"}, If_Match=on.headers["ETag"]), 422)
    assert _type_rows(truck) == [("truck_checklist", True)]


def test_removing_needs_the_etag_and_a_key_in_the_set(app, admin, truck):
    _send(app, "POST", _type_set(truck), admin, {"key": "vehicle_dispatch"})
    etag = _etag(app, _type_set(truck), admin)
    assert_problem(_send(app, "DELETE", _type_set(truck) + "/truck_checklist", admin), 428, "If-Match")
    assert_problem(_send(app, "DELETE", _type_set(truck) + "/trailer_inspection", admin, If_Match=etag), 404,
                   "'trailer_inspection' is not in this set", "truck_checklist, vehicle_dispatch")
    assert_problem(_send(app, "DELETE", _type_set(truck) + "/truck_checklist", admin, If_Match='"stale"'), 412)
    assert _type_rows(truck) == [("truck_checklist", True), ("vehicle_dispatch", True)]
    removed = _send(app, "DELETE", _type_set(truck) + "/truck_checklist", admin, If_Match=etag)
    assert removed.status_code == 200, removed.get_json()
    assert [i["key"] for i in removed.get_json()["items"]] == ["vehicle_dispatch"]
    assert _type_rows(truck) == [("vehicle_dispatch", True)]


def test_a_make_model_adds_to_its_types_set(app, admin, truck):
    model = MakeModelFactory(make="Volvo", model="FH", asset_type=truck)
    path = f"/api/v1/make-models/{model.id}/detail-types"
    assert _send(app, "GET", path, admin).get_json() == {"items": [], "planned": ["truck_checklist"]}
    added = _send(app, "POST", path, admin, {"key": "vehicle_dispatch"})
    assert added.status_code == 201 and added.get_json()["planned"] == ["truck_checklist", "vehicle_dispatch"]
    # The type's key again is the model's own entry; a new dispatch still gets it once.
    again = _send(app, "POST", path, admin, {"key": "truck_checklist"})
    assert [i["key"] for i in again.get_json()["items"]] == ["vehicle_dispatch", "truck_checklist"]
    assert again.get_json()["planned"] == ["truck_checklist", "vehicle_dispatch"]
    assert_problem(_send(app, "POST", path, admin, {"key": "vehicle_dispatch"}), 422, "already in this set")
    off = _send(app, "PATCH", path + "/vehicle_dispatch", admin, {"active": False}, If_Match=again.headers["ETag"])
    assert off.get_json()["planned"] == ["truck_checklist"]
    removed = _send(app, "DELETE", path + "/truck_checklist", admin, If_Match=off.headers["ETag"])
    assert [i["key"] for i in removed.get_json()["items"]] == ["vehicle_dispatch"]
    assert _stored(ModelAdditionalDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet.make_model_id,
                   model.id) == [("vehicle_dispatch", False)]
    assert _type_rows(truck) == [("truck_checklist", True)]


def test_a_plugin_type_is_configured_with_no_code_of_its_own(app, admin, truck, system_actor):
    """The example trailers plugin (installed by ``make install-test``) registers its type by its hook only."""
    trailer = detail_types().get("trailer_inspection")
    assert trailer is not None and trailer.plugin == "trailers"
    added = _send(app, "POST", _type_set(truck), admin, {"key": "trailer_inspection"})
    assert added.status_code == 201, added.get_json()
    assert added.get_json()["items"][-1] == {"key": "trailer_inspection", "label": trailer.label, "plugin": "trailers",
                                             "active": True, "loaded": True}
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=truck, make_model=None))
    tables = db.session.scalars(select(AllDispatchDetail.table_name).where(AllDispatchDetail.dispatch_id == dispatch.id)
                                .order_by(AllDispatchDetail.id)).all()
    assert tables == [detail_types().get("truck_checklist").table_name, trailer.table_name]


def test_missing_owners_and_roles_change_nothing(app, admin, truck):
    assert_problem(_send(app, "GET", "/api/v1/asset-types/999999/detail-types", admin), 404, "asset type #999999")
    assert_problem(_send(app, "POST", "/api/v1/make-models/999999/detail-types", admin, {"key": "truck_checklist"}),
                   404, "make/model #999999")
    model = MakeModelFactory(asset_type=truck)
    ModelAdditionalDispatchDetailTableSetFactory(make_model=model, dispatch_detail_table_type="vehicle_dispatch")
    etag = _etag(app, _type_set(truck), admin)
    for who in (token_for(ManagerFactory()), token_for(TechnicianFactory())):
        assert_problem(_send(app, "GET", _type_set(truck), who), 403, "admin")
        assert_problem(_send(app, "POST", _type_set(truck), who, {"key": "vehicle_dispatch"}), 403, "admin")
        assert_problem(_send(app, "PATCH", _type_set(truck) + "/truck_checklist", who, {"active": False},
                             If_Match=etag), 403)
        assert_problem(_send(app, "DELETE", _type_set(truck) + "/truck_checklist", who, If_Match=etag), 403)
        assert_problem(_send(app, "DELETE", f"/api/v1/make-models/{model.id}/detail-types/vehicle_dispatch", who,
                             If_Match=etag), 403)
    assert _type_rows(truck) == [("truck_checklist", True)]
    assert db.session.scalar(select(func.count(ModelAdditionalDispatchDetailTableSet.id))) == 1


def test_a_type_whose_plugin_is_not_loaded_is_shown_removable_and_not_switched_on(app, admin, truck):
    # As left behind by an uninstalled plugin: written past the session's registered-key check.
    db.session.execute(insert(AssetTypeDispatchDetailTableSet).values(
        asset_type_id=truck.id, dispatch_detail_table_type="retired_checklist", is_active=False))
    db.session.commit()
    read = _send(app, "GET", _type_set(truck), admin)
    assert read.get_json()["items"][-1] == {"key": "retired_checklist", "label": None, "plugin": None,
                                            "active": False, "loaded": False}
    assert read.get_json()["planned"] == ["truck_checklist"]
    etag = read.headers["ETag"]
    body = assert_problem(_send(app, "PATCH", _type_set(truck) + "/retired_checklist", admin, {"active": True},
                                If_Match=etag), 422, "No enabled plugin provides 'retired_checklist'")
    assert body["errors"]
    assert _type_rows(truck) == [("truck_checklist", True), ("retired_checklist", False)]
    removed = _send(app, "DELETE", _type_set(truck) + "/retired_checklist", admin, If_Match=etag)
    assert removed.status_code == 200, removed.get_json()
    assert _type_rows(truck) == [("truck_checklist", True)]
