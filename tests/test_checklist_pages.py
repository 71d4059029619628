"""Checklist pages: answering item by item (htmx) and without JavaScript, conflicts,
refusals next to the item, sign-off with defects, and repair certification."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Asset, ChecklistDefect, Dispatch, TruckDispatchChecklist, VehicleDispatch
from app.services import dispatches
from app.services.actors import acting_as
from tests.checklist_support import fill_required
from tests.factories import (
    AssetFactory,
    AssetTypeDispatchDetailTableSetFactory,
    AssetTypeFactory,
    DispatchFactory,
    ManagerFactory,
    TechnicianFactory,
    configured_truck_type,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Tech")


@pytest.fixture
def truck_job(app, system_actor, technician):
    """A truck dispatch assigned to the technician, with its truck checklist."""
    dispatch = DispatchFactory(asset=AssetFactory(asset_tag="TRK-9", asset_type=configured_truck_type()))
    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    row = db.session.scalar(select(TruckDispatchChecklist).where(TruckDispatchChecklist.dispatch_id == dispatch.id))
    return dispatch, row


@pytest.fixture
def vehicle_job(app, system_actor, technician):
    vehicle_type = AssetTypeFactory(name="Van")
    AssetTypeDispatchDetailTableSetFactory(asset_type=vehicle_type, dispatch_detail_table_type="vehicle_dispatch")
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=vehicle_type))
    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    row = db.session.scalar(select(VehicleDispatch).where(VehicleDispatch.dispatch_id == dispatch.id))
    return dispatch, row


def stored(model, row_id):
    """The row as the database has it now."""
    db.session.expire_all()
    return db.session.get(model, row_id)


def item_html(html: str, element_id: str) -> str:
    match = re.search(rf'<div class="item[^"]*" id="{element_id}".*?\n</div>', html, re.S)
    assert match, f"no item {element_id} in the answer"
    return match.group(0)


def test_the_checklist_page_renders_every_item_of_the_definition_in_groups(client, auth, technician, truck_job):
    _, row = truck_job
    auth.login(technician)
    page = client.get(f"/checklists/{row.detail_id}")
    assert page.status_code == 200
    html = page.text
    for legend in ("Pre-trip inspection", "Cargo and loading", "Documentation", "Notes"):
        assert f"<legend>{legend}</legend>" in html
    assert 'name="brakes_checked" value="defect"' in html
    assert "0 of 11 required items answered" in html
    assert page.headers["Vary"] and "HX-Request" in page.headers["Vary"]


def test_an_htmx_answer_saves_and_returns_the_item_and_the_progress_out_of_band(client, auth, technician, truck_job):
    _, row = truck_job
    auth.login(technician)
    answer = client.post(f"/checklists/{row.detail_id}/items/tires_checked",
                         data={"tires_checked": "ok", "tires_checked__seen": ""}, headers=HX)
    assert answer.status_code == 200
    assert 'hx-swap-oob="true"' in answer.text and "1 of 11 required items answered" in answer.text
    assert 'name="tires_checked__seen" value="ok"' in answer.text
    saved = stored(TruckDispatchChecklist, row.id)
    assert saved.tires_checked is True and saved.updated_by_id == technician.id


def test_a_defect_without_description_is_refused_next_to_the_item_and_nothing_changes(client, auth, technician,
                                                                                        truck_job):
    _, row = truck_job
    auth.login(technician)
    answer = client.post(f"/checklists/{row.detail_id}/items/brakes_checked",
                         data={"brakes_checked": "defect", "brakes_checked__description": "  ",
                               "brakes_checked__seen": ""}, headers=HX)
    assert answer.status_code == 422
    item = item_html(answer.text, f"c{row.detail_id}-brakes_checked")
    assert "Describe the defect found on brakes" in item
    assert 'value="defect" checked' in item  # what was chosen is kept
    assert db.session.scalar(select(func.count()).select_from(ChecklistDefect)) == 0


def test_a_fuel_level_out_of_range_is_refused_and_the_typed_value_kept(client, auth, technician, vehicle_job):
    _, row = vehicle_job
    auth.login(technician)
    answer = client.post(f"/checklists/{row.detail_id}/items/fuel_level_start",
                         data={"fuel_level_start": "140", "fuel_level_start__seen": ""}, headers=HX)
    assert answer.status_code == 422
    assert "Fuel at start must be at most 100 %" in answer.text
    assert 'value="140"' in answer.text
    assert stored(VehicleDispatch, row.id).fuel_level_start is None


def test_a_mileage_end_below_the_start_is_refused(client, auth, technician, vehicle_job):
    _, row = vehicle_job
    auth.login(technician)
    client.post(f"/checklists/{row.detail_id}/items/mileage_start",
                data={"mileage_start": "1000", "mileage_start__seen": ""}, headers=HX)
    answer = client.post(f"/checklists/{row.detail_id}/items/mileage_end",
                         data={"mileage_end": "900", "mileage_end__seen": ""}, headers=HX)
    assert answer.status_code == 422
    assert "cannot be less than mileage at start" in answer.text
    assert stored(VehicleDispatch, row.id).mileage_end is None


def test_a_second_editor_is_told_and_shown_the_current_value(client, auth, technician, truck_job, app):
    _, row = truck_job
    manager = ManagerFactory(name="Morgan Manager")
    other = app.test_client()
    other.post("/auth/login", data={"email": manager.email, "password": "correct horse battery"})
    auth.login(technician)

    first = other.post(f"/checklists/{row.detail_id}/items/lights_checked",
                       data={"lights_checked": "defect", "lights_checked__description": "Left indicator out",
                             "lights_checked__seen": ""}, headers=HX)
    assert first.status_code == 200
    # The technician's page still shows the item unanswered; their answer is not applied.
    second = client.post(f"/checklists/{row.detail_id}/items/lights_checked",
                         data={"lights_checked": "ok", "lights_checked__seen": ""}, headers=HX)
    assert second.status_code == 409
    assert "Morgan Manager changed lights and reflectors" in second.text
    assert 'value="defect" checked' in second.text and "Left indicator out" in second.text
    assert stored(TruckDispatchChecklist, row.id).lights_checked is False
    assert db.session.scalar(select(ChecklistDefect.description)) == "Left indicator out"


def test_without_javascript_the_whole_form_saves_changed_items(client, auth, technician, truck_job):
    _, row = truck_job
    auth.login(technician)
    response = client.post(f"/checklists/{row.detail_id}",
                           data={"tires_checked": "ok", "tires_checked__seen": "", "cargo_secured": "true",
                                 "cargo_secured__seen": "", "checklist_notes": "All good", "checklist_notes__seen": ""})
    assert response.status_code == 302
    saved = stored(TruckDispatchChecklist, row.id)
    assert (saved.tires_checked, saved.cargo_secured, saved.checklist_notes) == (True, True, "All good")


def test_a_technician_cannot_open_another_technicians_checklist(client, auth, truck_job):
    _, row = truck_job
    auth.login(TechnicianFactory())
    assert client.get(f"/checklists/{row.detail_id}").status_code == 404
    answer = client.post(f"/checklists/{row.detail_id}/items/tires_checked",
                         data={"tires_checked": "ok", "tires_checked__seen": ""}, headers=HX)
    assert answer.status_code == 404
    assert stored(TruckDispatchChecklist, row.id).tires_checked is False


def test_sign_off_is_refused_while_items_are_open_and_says_which(client, auth, technician, truck_job):
    _, row = truck_job
    auth.login(technician)
    response = client.post(f"/checklists/{row.detail_id}/sign-off")
    assert response.status_code == 422
    assert "cannot be signed off yet: answer Tires and wheels" in response.text
    assert stored(TruckDispatchChecklist, row.id).completed_date is None


def test_signing_off_with_a_defect_opens_a_repair_and_takes_the_truck_out_of_service(client, auth, technician,
                                                                                     truck_job):
    dispatch, row = truck_job
    auth.login(technician)
    fill_required(row, technician)
    client.post(f"/checklists/{row.detail_id}/items/brakes_checked",
                data={"brakes_checked": "defect", "brakes_checked__description": "Soft pedal",
                      "brakes_checked__seen": "ok"}, headers=HX)
    response = client.post(f"/checklists/{row.detail_id}/sign-off", follow_redirects=True)
    assert response.status_code == 200
    assert "repair work order" in response.text and "out of service" in response.text

    signed = stored(TruckDispatchChecklist, row.id)
    assert signed.completed_by_id == technician.id and signed.completed_date is not None
    repair = db.session.scalar(select(Dispatch).where(Dispatch.work_type == "repair"))
    assert repair.asset_id == dispatch.asset_id and "Soft pedal" in repair.description
    assert db.session.get(Asset, dispatch.asset_id).status == "Out of Service"


def test_a_manager_certifies_the_repair_and_the_truck_returns_to_service(client, auth, technician, truck_job,
                                                                         system_actor):
    dispatch, row = truck_job
    fill_required(row, technician)
    client.post("/auth/login", data={"email": technician.email, "password": "correct horse battery"})
    client.post(f"/checklists/{row.detail_id}/items/tires_checked",
                data={"tires_checked": "defect", "tires_checked__description": "Cut sidewall",
                      "tires_checked__seen": "ok"}, headers=HX)
    client.post(f"/checklists/{row.detail_id}/sign-off")
    auth.logout()
    asset_id = dispatch.asset_id

    # Technicians cannot certify.
    auth.login(technician)
    assert client.get(f"/checklists/assets/{asset_id}/certify").status_code == 403
    auth.logout()

    auth.login(ManagerFactory())
    listing = client.get("/checklists/out-of-service")
    assert "TRK-9" in listing.text and "Cut sidewall" in listing.text
    refused = client.post(f"/checklists/assets/{asset_id}/certify", data={"outcome": "repaired"})
    assert refused.status_code == 422 and "is not completed" in refused.text
    assert stored(Asset, asset_id).status == "Out of Service"

    refused = client.post(f"/checklists/assets/{asset_id}/certify", data={"outcome": "no repair needed"})
    assert refused.status_code == 422 and "Say why no repair is needed" in refused.text

    done = client.post(f"/checklists/assets/{asset_id}/certify",
                       data={"outcome": "no repair needed", "notes": "Tyre was already replaced"})
    assert done.status_code == 302
    assert stored(Asset, asset_id).status == "In Service"
    defect = db.session.scalar(select(ChecklistDefect))
    assert (defect.certification, defect.certification_notes) == ("no repair needed", "Tyre was already replaced")
    assert defect.certified_by_id is not None and defect.certified_at is not None


def test_user_text_in_a_checklist_is_escaped(client, auth, technician, truck_job):
    _, row = truck_job
    auth.login(technician)
    client.post(f"/checklists/{row.detail_id}/items/checklist_notes",
                data={"checklist_notes": "<script>alert(1)</script>", "checklist_notes__seen": ""}, headers=HX)
    page = client.get(f"/checklists/{row.detail_id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_plugin_checklist_without_a_template_gets_a_working_form(client, auth, technician, system_actor):
    from motorpool_trailers.models import TrailerInspection

    trailer = AssetTypeFactory(name="Trailer")
    AssetTypeDispatchDetailTableSetFactory(asset_type=trailer, dispatch_detail_table_type="trailer_inspection")
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=trailer))
    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    row = db.session.scalar(select(TrailerInspection).where(TrailerInspection.dispatch_id == dispatch.id))
    auth.login(technician)
    page = client.get(f"/checklists/{row.detail_id}")
    assert page.status_code == 200 and "Trailer" in page.text
    boolean_column = next(c.key for c in TrailerInspection.__table__.columns
                          if c.type.python_type is bool and not c.foreign_keys)
    answer = client.post(f"/checklists/{row.detail_id}/items/{boolean_column}",
                         data={boolean_column: "true", f"{boolean_column}__seen": ""}, headers=HX)
    assert answer.status_code == 200
    assert getattr(stored(TrailerInspection, row.id), boolean_column) is True


def test_a_defect_saved_after_the_checklist_was_read_is_not_skipped_by_the_sign_off(app, technician, truck_job,
                                                                                    system_actor):
    from app.services import checklists

    dispatch, row = truck_job
    fill_required(row, technician)
    stale = checklists.get_checklist(row.detail_id)  # read before the defect is reported
    current = checklists.get_checklist(row.detail_id)
    checklists.save_answer(current, "brakes_checked", "defect", seen="ok", actor=technician,
                           description="Handbrake slips")

    repair = checklists.sign_off(stale, technician)

    assert repair is not None and "Handbrake slips" in repair.description
    assert stored(Asset, dispatch.asset_id).status == "Out of Service"


def test_the_sign_off_button_saves_what_the_form_still_holds_first(client, auth, technician, truck_job):
    dispatch, row = truck_job
    fill_required(row, technician)
    auth.login(technician)
    # The description was typed and "Sign off" pressed before the item's own save went out.
    response = client.post(f"/checklists/{row.detail_id}/sign-off",
                           data={"lights_checked": "defect", "lights_checked__seen": "ok",
                                 "lights_checked__description": "Brake light out",
                                 "lights_checked__seen_description": ""})
    assert response.status_code == 302
    assert stored(TruckDispatchChecklist, row.id).completed_date is not None
    defect = db.session.scalar(select(ChecklistDefect))
    assert defect.description == "Brake light out" and defect.repair_dispatch_id is not None
    assert stored(Asset, dispatch.asset_id).status == "Out of Service"


def test_a_sign_off_with_a_refused_answer_signs_nothing(client, auth, technician, truck_job):
    _, row = truck_job
    fill_required(row, technician)
    auth.login(technician)
    response = client.post(f"/checklists/{row.detail_id}/sign-off",
                           data={"lights_checked": "defect", "lights_checked__seen": "ok",
                                 "lights_checked__description": " "})
    assert response.status_code == 422
    assert "Not signed off" in response.text and "Describe the defect" in response.text
    assert stored(TruckDispatchChecklist, row.id).completed_date is None


def test_two_edits_of_one_defect_description_do_not_overwrite_each_other(app, technician, truck_job):
    from app.services import checklists

    _, row = truck_job
    checklist = checklists.get_checklist(row.detail_id)
    checklists.save_answer(checklist, "tires_checked", "defect", seen="", actor=technician, description="Worn")
    first = checklists.get_checklist(row.detail_id)
    second = checklists.get_checklist(row.detail_id)
    checklists.save_answer(first, "tires_checked", "defect", seen="defect", seen_description="Worn",
                           actor=technician, description="Worn, front left")
    with pytest.raises(checklists.ChecklistConflict):
        checklists.save_answer(second, "tires_checked", "defect", seen="defect", seen_description="Worn",
                               actor=technician, description="Worn, rear right")
    db.session.expire_all()
    assert db.session.scalar(select(ChecklistDefect.description)) == "Worn, front left"


def test_a_passenger_count_too_large_for_the_database_is_refused(client, auth, technician, vehicle_job):
    _, row = vehicle_job
    auth.login(technician)
    answer = client.post(f"/checklists/{row.detail_id}/items/passenger_count",
                         data={"passenger_count": "99999999999999999999", "passenger_count__seen": ""}, headers=HX)
    assert answer.status_code == 422 and "too large" in answer.text
    assert stored(VehicleDispatch, row.id).passenger_count is None
