"""Detail sets: which checklists each asset type and make/model gives, edited inline with htmx."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.models import (
    AssetTypeDispatchDetailTableSet,
    ModelAdditionalDispatchDetailTableSet,
)
from app.models.dispatching.build import detail_types
from tests.admin_support import HX, html, rows
from tests.factories import (
    AdminFactory,
    MakeModelFactory,
    configured_truck_type,
)

TRUCK = "Truck dispatch checklist"
VEHICLE = "Vehicle dispatch"


@pytest.fixture
def admin(app, client, auth):
    user = AdminFactory()
    auth.login(user)
    return user


@pytest.fixture
def truck(app):
    return configured_truck_type()


def type_set():
    return rows(AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.asset_type_id,
                AssetTypeDispatchDetailTableSet.dispatch_detail_table_type, AssetTypeDispatchDetailTableSet.is_active)


def model_set():
    return rows(ModelAdditionalDispatchDetailTableSet, ModelAdditionalDispatchDetailTableSet.make_model_id,
                ModelAdditionalDispatchDetailTableSet.dispatch_detail_table_type,
                ModelAdditionalDispatchDetailTableSet.is_active)


def preview(page: str) -> str:
    return page.split("Preview: what a new dispatch gets", 1)[1]


def offered(page: str) -> str:
    return page.split('name="dispatch_detail_table_type"', 1)[1].split("</select>", 1)[0]


def test_the_page_shows_the_set_the_providing_plugin_and_the_preview(client, admin, truck):
    MakeModelFactory(make="Volvo", model="FH16", asset_type=truck)
    response = client.get(f"/admin/asset-types/{truck.id}/detail-set")
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    page = html(response)
    assert "<html" in page and '<div id="detail-set"' in page
    assert "<td>app.plugins.builtin.checklists</td>" in page  # who provides the configured type
    # every registered type not yet in the set is offered, with its plugin
    for detail_type in detail_types():
        if detail_type.key != "truck_checklist":
            assert f'<option value="{detail_type.key}">{detail_type.label} — from {detail_type.plugin}</option>' in page
    assert 'value="truck_checklist"' not in offered(page)
    assert f"Any Truck without a model of its own:</strong>\n      {TRUCK}" in preview(page)
    assert "Volvo FH16:</strong>" in preview(page)


def test_htmx_gets_the_fragment_alone(client, admin, truck):
    response = client.get(f"/admin/asset-types/{truck.id}/detail-set", headers=HX)
    page = html(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert page.lstrip().startswith('<div id="detail-set"') and "<html" not in page


def test_add_deactivate_activate_and_remove_with_htmx(client, admin, truck):
    base = f"/admin/asset-types/{truck.id}/detail-set"
    response = client.post(base, data={"dispatch_detail_table_type": "vehicle_dispatch"}, headers=HX)
    page = html(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert page.lstrip().startswith('<div id="detail-set"')
    assert f"Added {VEHICLE}." in page
    assert f"{TRUCK}, {VEHICLE}" in preview(page)
    assert type_set() == [(truck.id, "truck_checklist", True), (truck.id, "vehicle_dispatch", True)]

    truck_row = rows(AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.id)[0][0]
    page = html(client.post(f"{base}/{truck_row}/active", data={"active": "0"}, headers=HX))
    assert f"{TRUCK} is inactive." in page
    assert TRUCK not in preview(page) and VEHICLE in preview(page)
    assert type_set()[0] == (truck.id, "truck_checklist", False)

    page = html(client.post(f"{base}/{truck_row}/active", data={"active": "1"}, headers=HX))
    assert f"{TRUCK}, {VEHICLE}" in preview(page)
    assert type_set()[0] == (truck.id, "truck_checklist", True)

    response = client.post(f"{base}/{truck_row}/remove", headers=HX)
    page = html(response)
    assert response.status_code == 200 and f"Removed {TRUCK}" in page
    assert type_set() == [(truck.id, "vehicle_dispatch", True)]
    assert 'value="truck_checklist"' in offered(page)  # offered again


def test_without_javascript_each_change_posts_and_redirects(client, admin, truck):
    base = f"/admin/asset-types/{truck.id}/detail-set"
    response = client.post(base, data={"dispatch_detail_table_type": "vehicle_dispatch"})
    assert response.status_code == 302 and response.headers["Location"].endswith(base)
    page = html(client.get(base))
    assert f"Added {VEHICLE}." in page and f"{TRUCK}, {VEHICLE}" in preview(page)
    row_id = rows(AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.id)[1][0]
    assert client.post(f"{base}/{row_id}/remove").status_code == 302
    assert type_set() == [(truck.id, "truck_checklist", True)]


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
def test_an_unknown_detail_type_posted_by_hand_is_refused(client, admin, truck, headers):
    before = type_set()
    response = client.post(f"/admin/asset-types/{truck.id}/detail-set",
                           data={"dispatch_detail_table_type": "<b>forklift</b>"}, headers=headers)
    assert response.status_code == 422
    page = html(response)
    assert "There is no detail type &#39;&lt;b&gt;forklift&lt;/b&gt;&#39;." in page
    assert "<b>forklift</b>" not in page
    assert ("<html" in page) is (not headers)
    assert type_set() == before


def test_a_make_model_adds_to_its_types_set_and_the_preview_shows_both(client, admin, truck):
    fh16 = MakeModelFactory(make="Volvo", model="FH16", asset_type=truck)
    base = f"/admin/make-models/{fh16.id}/detail-set"
    page = html(client.get(base))
    assert "gets its asset type's checklists" in page and TRUCK in page
    page = html(client.post(base, data={"dispatch_detail_table_type": "vehicle_dispatch"}, headers=HX))
    assert f"Volvo FH16 (Truck):</strong>\n      {TRUCK}, {VEHICLE}" in preview(page)
    assert model_set() == [(fh16.id, "vehicle_dispatch", True)]
    # the type's page previews the model too
    assert f"Volvo FH16:</strong>\n      {TRUCK}, {VEHICLE}" in preview(html(client.get(f"/admin/asset-types/{truck.id}/detail-set")))
    # a type the asset type already gives may be added too, and a dispatch still gets it once
    page = html(client.post(base, data={"dispatch_detail_table_type": "truck_checklist"}, headers=HX))
    assert preview(page).count(TRUCK) == 1


def test_a_row_of_another_owner_is_not_found(client, admin, truck):
    other = configured_truck_type("Other")
    row_id = rows(AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.id,
                  AssetTypeDispatchDetailTableSet.asset_type_id)
    other_row = next(r for r, owner in row_id if owner == other.id)
    before = type_set()
    assert client.post(f"/admin/asset-types/{truck.id}/detail-set/{other_row}/remove").status_code == 404
    assert client.post(f"/admin/make-models/{truck.id}/detail-set/{other_row}/remove").status_code == 404
    assert client.post(f"/admin/asset-types/{truck.id}/detail-set/{other_row}/active",
                       data={"active": "x"}).status_code == 404
    assert client.get("/admin/trailers/1/detail-set").status_code == 404
    assert type_set() == before


def test_a_type_no_enabled_plugin_provides_is_flagged_and_cannot_be_activated(client, admin, truck):
    # Written around the ORM, as if its plugin had been disabled since it was configured.
    db.session.execute(insert(AssetTypeDispatchDetailTableSet.__table__).values(
        asset_type_id=truck.id, dispatch_detail_table_type="crane_log", is_active=False))
    db.session.commit()
    base = f"/admin/asset-types/{truck.id}/detail-set"
    page = html(client.get(base))
    assert "No enabled plugin provides this type" in page
    row_id = rows(AssetTypeDispatchDetailTableSet, AssetTypeDispatchDetailTableSet.id)[-1][0]
    response = client.post(f"{base}/{row_id}/active", data={"active": "1"}, headers=HX)
    assert response.status_code == 422
    assert "No enabled plugin provides &#39;crane_log&#39;" in html(response)
    assert type_set()[-1] == (truck.id, "crane_log", False)
    # an active one shows in the preview as the reason its dispatches would be refused
    db.session.execute(AssetTypeDispatchDetailTableSet.__table__.update().values(is_active=True)
                       .where(AssetTypeDispatchDetailTableSet.__table__.c.id == row_id))
    db.session.commit()
    page = html(client.get(base))
    assert "which no enabled plugin provides" in preview(page)
    assert client.post(f"{base}/{row_id}/remove").status_code == 302
    assert type_set() == [(truck.id, "truck_checklist", True)]
