"""Admin pages for the asset register: asset types, makes/models, locations and assets."""

from __future__ import annotations

import pytest

from app.models import Asset, AssetType, MajorLocation, MakeModel
from tests.admin_support import HX, counting_queries, html, rows
from tests.factories import (
    AdminFactory,
    AssetFactory,
    AssetTypeFactory,
    MajorLocationFactory,
    MakeModelFactory,
    SkillFactory,
)

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def admin(app, client, auth):
    user = AdminFactory()
    auth.login(user)
    return user


def type_rows():
    return rows(AssetType, AssetType.name, AssetType.description, AssetType.default_skill, AssetType.is_active)


def model_rows():
    return rows(MakeModel, MakeModel.make, MakeModel.model, MakeModel.asset_type_id, MakeModel.is_active)


def location_rows():
    return rows(MajorLocation, MajorLocation.name, MajorLocation.address, MajorLocation.latitude,
                MajorLocation.longitude, MajorLocation.is_active)


def asset_rows():
    return rows(Asset, Asset.asset_tag, Asset.name, Asset.asset_type_id, Asset.make_model_id,
                Asset.major_location_id, Asset.odometer, Asset.status, Asset.is_active)


# --- asset types ---------------------------------------------------------------------------------


def test_create_edit_deactivate_and_reactivate_an_asset_type(client, admin):
    SkillFactory(name="Hydraulics")
    response = client.post("/admin/asset-types/new", data={"name": " Crane ", "description": "Mobile cranes",
                                                           "default_skill": "Hydraulics"})
    assert response.status_code == 302
    assert type_rows() == [("Crane", "Mobile cranes", "Hydraulics", True)]
    crane_id = rows(AssetType, AssetType.id)[0][0]
    assert response.headers["Location"].endswith(f"/admin/asset-types/{crane_id}/detail-set")

    response = client.post(f"/admin/asset-types/{crane_id}/edit",
                           data={"name": "Tower crane", "description": "", "default_skill": ""})
    assert response.status_code == 302
    assert type_rows() == [("Tower crane", None, None, True)]

    assert client.post(f"/admin/asset-types/{crane_id}/active", data={"active": "0"}).status_code == 302
    assert type_rows()[0][3] is False
    page = html(client.get("/admin/asset-types"))
    assert "The asset type Tower crane is deactivated." in page and "Reactivate" in page
    assert client.post(f"/admin/asset-types/{crane_id}/active", data={"active": "1"}).status_code == 302
    assert type_rows()[0][3] is True


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "A name is required."),
        ({"name": "   "}, "A name is required."),
        ({"name": "Truck"}, "An asset type named &#39;Truck&#39; already exists."),
        ({"name": "x" * 101}, "Name is 101 characters long; the limit is 100."),
        ({"name": "Crane", "default_skill": "Welding"}, "Not a valid choice"),
    ],
)
def test_a_refused_asset_type_is_shown_with_what_was_typed_and_nothing_changes(client, admin, data, message):
    AssetTypeFactory(name="Truck")
    before = type_rows()
    response = client.post("/admin/asset-types/new", data={"description": "typed text", **data})
    assert response.status_code == 422
    page = html(response)
    assert message in page and 'role="alert"' in page
    assert "typed text" in page
    assert type_rows() == before


def test_renaming_an_asset_type_to_an_existing_name_is_refused(client, admin):
    AssetTypeFactory(name="Truck")
    van = AssetTypeFactory(name="Van")
    before = type_rows()
    response = client.post(f"/admin/asset-types/{van.id}/edit", data={"name": "Truck"})
    assert response.status_code == 422
    assert "An asset type named &#39;Truck&#39; already exists." in html(response)
    assert 'id="name-error"' in html(response)
    assert type_rows() == before


def test_an_asset_type_with_active_assets_cannot_be_deactivated(client, admin):
    asset = AssetFactory()
    response = client.post(f"/admin/asset-types/{asset.asset_type_id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "still has 1 active asset(s) and 1 active make/model(s)" in html(response)
    assert all(row[3] for row in type_rows())


def test_a_malformed_toggle_is_a_bad_request(client, admin):
    asset_type = AssetTypeFactory()
    assert client.post(f"/admin/asset-types/{asset_type.id}/active", data={"active": "maybe"}).status_code == 400
    assert client.post("/admin/asset-types/9999/active", data={"active": "0"}).status_code == 404
    assert client.get("/admin/asset-types/9999/edit").status_code == 404


def test_user_text_is_escaped_on_every_register_page(client, admin):
    asset = AssetFactory(name=SCRIPT, asset_type=AssetTypeFactory(name=SCRIPT, description=SCRIPT),
                         major_location=MajorLocationFactory(name=SCRIPT, address=SCRIPT))
    for path in ("/admin/asset-types", "/admin/make-models", "/admin/locations", "/admin/assets",
                 f"/admin/assets/{asset.id}/edit", f"/admin/asset-types/{asset.asset_type_id}/edit",
                 f"/admin/asset-types/{asset.asset_type_id}/detail-set"):
        page = html(client.get(path))
        assert SCRIPT not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


# --- makes and models ----------------------------------------------------------------------------


def test_create_and_edit_a_make_model(client, admin):
    truck = AssetTypeFactory(name="Truck")
    van = AssetTypeFactory(name="Van")
    response = client.post("/admin/make-models/new", data={"make": "Volvo", "model": "FH16", "asset_type_id": truck.id})
    assert response.status_code == 302
    assert model_rows() == [("Volvo", "FH16", truck.id, True)]
    model_id = rows(MakeModel, MakeModel.id)[0][0]

    response = client.post(f"/admin/make-models/{model_id}/edit",
                           data={"make": "Volvo", "model": "FH", "asset_type_id": van.id})
    assert response.status_code == 302
    assert model_rows() == [("Volvo", "FH", van.id, True)]
    assert client.post(f"/admin/make-models/{model_id}/active", data={"active": "0"}).status_code == 302
    assert model_rows()[0][3] is False


def test_a_duplicate_make_and_model_is_refused(client, admin):
    existing = MakeModelFactory(make="Volvo", model="FH16")
    before = model_rows()
    response = client.post("/admin/make-models/new",
                           data={"make": "Volvo", "model": "FH16", "asset_type_id": existing.asset_type_id})
    assert response.status_code == 422
    assert "Volvo FH16 already exists." in html(response)
    assert 'id="model-error"' in html(response)
    other = MakeModelFactory(make="Volvo", model="FM", asset_type=existing.asset_type)
    response = client.post(f"/admin/make-models/{other.id}/edit",
                           data={"make": "Volvo", "model": "FH16", "asset_type_id": existing.asset_type_id})
    assert response.status_code == 422
    assert model_rows() == [*before, ("Volvo", "FM", existing.asset_type_id, True)]


def test_a_model_in_use_keeps_its_asset_type(client, admin):
    asset = AssetFactory()
    other_type = AssetTypeFactory()
    before = model_rows()
    response = client.post(f"/admin/make-models/{asset.make_model_id}/edit",
                           data={"make": "Volvo", "model": "FH16", "asset_type_id": other_type.id})
    assert response.status_code == 422
    assert "its asset type cannot change" in html(response)
    assert model_rows() == before


def test_a_model_of_an_inactive_type_cannot_be_reactivated(client, admin):
    asset_type = AssetTypeFactory(is_active=False)
    make_model = MakeModelFactory(asset_type=asset_type, is_active=False)
    response = client.post(f"/admin/make-models/{make_model.id}/active", data={"active": "1"})
    assert response.status_code == 422
    assert "reactivate the type first" in html(response)
    assert model_rows()[0][3] is False


# --- locations -----------------------------------------------------------------------------------


def test_create_edit_and_deactivate_a_location(client, admin):
    response = client.post("/admin/locations/new", data={"name": "Leeds depot", "address": "1 Yard Road",
                                                         "latitude": "53.8", "longitude": "-1.55"})
    assert response.status_code == 302
    assert location_rows() == [("Leeds depot", "1 Yard Road", 53.8, -1.55, True)]
    location_id = rows(MajorLocation, MajorLocation.id)[0][0]
    response = client.post(f"/admin/locations/{location_id}/edit",
                           data={"name": "Leeds yard", "address": "", "latitude": "", "longitude": ""})
    assert response.status_code == 302
    assert location_rows() == [("Leeds yard", None, None, None, True)]
    assert client.post(f"/admin/locations/{location_id}/active", data={"active": "0"}).status_code == 302
    assert location_rows()[0][4] is False


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        ({"latitude": "95"}, "Latitude 95.0 is outside -90 to 90.", "latitude"),
        ({"longitude": "-200"}, "Longitude -200.0 is outside -180 to 180.", "longitude"),
        ({"latitude": "nan"}, "must be a number written with the digits 0–9", "latitude"),
        ({"latitude": "north"}, "must be a number written with the digits 0–9", "latitude"),
        ({"latitude": "٣"}, "must be a number written with the digits 0–9", "latitude"),
        ({"name": ""}, "A name is required.", "name"),
        ({"name": "Depot A"}, "A location named &#39;Depot A&#39; already exists.", "name"),
    ],
)
def test_a_refused_location_changes_nothing(client, admin, data, message, field):
    MajorLocationFactory(name="Depot A")
    before = location_rows()
    form = {"name": "Leeds depot", "address": "typed address", "latitude": "53.8", "longitude": "-1.55", **data}
    for url in ("/admin/locations/new", f"/admin/locations/{rows(MajorLocation, MajorLocation.id)[0][0]}/edit"):
        if url.endswith("/edit") and data.get("name") == "Depot A":
            continue  # renaming a location to its own name is fine
        response = client.post(url, data=form)
        assert response.status_code == 422, url
        page = html(response)
        assert message in page and f'id="{field}-error"' in page
        assert "typed address" in page
        assert location_rows() == before


def test_a_location_with_active_assets_cannot_be_deactivated(client, admin):
    asset = AssetFactory()
    response = client.post(f"/admin/locations/{asset.major_location_id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "1 active asset(s) are based at" in html(response)
    assert location_rows()[0][4] is True


# --- assets --------------------------------------------------------------------------------------


@pytest.fixture
def register(app):
    truck = AssetTypeFactory(name="Truck")
    return {
        "truck": truck,
        "van": AssetTypeFactory(name="Van"),
        "fh16": MakeModelFactory(make="Volvo", model="FH16", asset_type=truck),
        "depot": MajorLocationFactory(name="Leeds"),
    }


def asset_form(register, **overrides):
    data = {"asset_tag": "TRK-0001", "name": "Big blue", "asset_type_id": register["truck"].id,
            "make_model_id": register["fh16"].id, "major_location_id": register["depot"].id, "odometer": "1200"}
    return {**data, **overrides}


def test_create_and_edit_an_asset_with_its_status_read_only(client, admin, register):
    response = client.post("/admin/assets/new", data=asset_form(register))
    assert response.status_code == 302
    truck, fh16, depot = register["truck"].id, register["fh16"].id, register["depot"].id
    assert asset_rows() == [("TRK-0001", "Big blue", truck, fh16, depot, 1200.0, "In Service", True)]
    asset_id = rows(Asset, Asset.id)[0][0]

    page = html(client.get(f"/admin/assets/{asset_id}/edit"))
    assert "<dt>Status</dt><dd>In Service</dd>" in page
    assert 'name="status"' not in page

    response = client.post(f"/admin/assets/{asset_id}/edit",
                           data=asset_form(register, name="Old blue", make_model_id="0", major_location_id="0",
                                           odometer="", status="Out of Service"))
    assert response.status_code == 302
    assert asset_rows() == [("TRK-0001", "Old blue", truck, None, None, None, "In Service", True)]


@pytest.mark.parametrize(
    ("overrides", "message", "field"),
    [
        ({"asset_tag": "TRK-0009"}, "An asset tagged &#39;TRK-0009&#39; already exists.", "asset_tag"),
        ({"odometer": "-5"}, "The odometer reading must be a number from 0", "odometer"),
        ({"odometer": "inf"}, "must be a number written with the digits 0–9", "odometer"),
        ({"odometer": "lots"}, "must be a number written with the digits 0–9", "odometer"),
        ({"odometer": "1e3"}, "must be a number written with the digits 0–9", "odometer"),
        ({"asset_tag": ""}, "An asset tag is required.", "asset_tag"),
        ({"name": ""}, "A name is required.", "name"),
        ({"asset_type_id": "0"}, "Choose the asset type.", "asset_type_id"),
        ({"asset_type_id": "van"}, "Van", "asset_type_id"),  # a FH16 is a Truck model
        ({"major_location_id": "424242"}, "Not a valid choice", "major_location_id"),
    ],
)
def test_a_refused_asset_changes_nothing(client, admin, register, overrides, message, field):
    AssetFactory(asset_tag="TRK-0009", asset_type=register["truck"], make_model=register["fh16"])
    if overrides.get("asset_type_id") == "van":
        overrides = {**overrides, "asset_type_id": register["van"].id}
        message = "Volvo FH16 is a Truck model, not a Van"
        field = "make_model_id"
    existing_id = rows(Asset, Asset.id)[0][0]
    before = asset_rows()
    for url in ("/admin/assets/new", f"/admin/assets/{existing_id}/edit"):
        if url.endswith("/edit") and overrides.get("asset_tag") == "TRK-0009":
            continue  # its own tag
        data = asset_form(register, name="typed name", **overrides) if "name" not in overrides else asset_form(
            register, **overrides)
        response = client.post(url, data=data)
        assert response.status_code == 422, url
        page = html(response)
        assert message in page and f'id="{field}-error"' in page, url
        if "name" not in overrides:
            assert 'value="typed name"' in page
        assert asset_rows() == before


def test_deactivate_and_reactivate_an_asset(client, admin, register):
    asset = AssetFactory(asset_type=register["truck"], make_model=register["fh16"])
    assert client.post(f"/admin/assets/{asset.id}/active", data={"active": "0"}).status_code == 302
    assert asset_rows()[0][7] is False
    assert asset.asset_tag in html(client.get("/admin/assets?show=inactive"))
    assert asset.asset_tag not in html(client.get("/admin/assets"))
    assert client.post(f"/admin/assets/{asset.id}/active", data={"active": "1"}).status_code == 302
    assert asset_rows()[0][7] is True


def test_an_asset_of_an_inactive_type_cannot_be_reactivated(client, admin, register):
    asset = AssetFactory(asset_type=register["van"], make_model=None, is_active=False)
    client.post(f"/admin/asset-types/{register['van'].id}/active", data={"active": "0"})
    response = client.post(f"/admin/assets/{asset.id}/active", data={"active": "1"})
    assert response.status_code == 422
    assert "its type Van is inactive" in html(response)
    assert asset_rows()[0][7] is False


def test_the_asset_list_answers_htmx_with_the_table_fragment(client, admin, register):
    AssetFactory(asset_tag="TRK-0001", name="Alpha", asset_type=register["truck"], make_model=register["fh16"])
    AssetFactory(asset_tag="VAN-0001", name="Beta", asset_type=register["van"], make_model=None)
    full = client.get("/admin/assets?q=trk")
    assert full.status_code == 200 and "<html" in html(full) and 'id="asset-table"' in html(full)
    assert "HX-Request" in full.headers["Vary"]

    fragment = client.get(f"/admin/assets?asset_type_id={register['van'].id}", headers=HX)
    page = html(fragment)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert page.lstrip().startswith('<div id="asset-table">') and "<html" not in page
    assert "VAN-0001" in page and "TRK-0001" not in page
    assert "TRK-0001" in html(client.get("/admin/assets?q=trk", headers=HX))
    assert "VAN-0001" not in html(client.get("/admin/assets?q=trk", headers=HX))
    assert "No assets match." in html(client.get("/admin/assets?q=%25_", headers=HX))


def test_asset_list_query_count_does_not_grow_with_the_number_of_assets(client, admin):
    def add(count):
        for _ in range(count):
            AssetFactory()  # each with its own type, model and location, so lazy loads would show

    add(3)
    with counting_queries() as few:
        small = client.get("/admin/assets")
    assert small.status_code == 200 and html(small).count('class="actions"') == 3

    add(30)
    with counting_queries() as many:
        large = client.get("/admin/assets")
    assert large.status_code == 200 and html(large).count('class="actions"') == 33
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 6
