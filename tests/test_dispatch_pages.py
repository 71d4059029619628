"""The dispatch page (status buttons, assignment panel, timeline) and the new work order form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Dispatch, DispatchMetric, DispatchStatusHistory, utcnow
from tests.dispatch_pages_support import html, login, make_dispatch, status_of
from tests.factories import (
    AssetFactory,
    AssetTypeDispatchDetailTableSetFactory,
    AssetTypeFactory,
    MajorLocationFactory,
    MakeModelFactory,
    ManagerFactory,
    ModelAdditionalDispatchDetailTableSetFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
)


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


def status_buttons(body: str) -> list[str]:
    """The status buttons in page order; Cancel is a link to its confirmation."""
    found = re.findall(r'<input type="hidden" name="status" value="([^"]+)">|href="/dispatches/\d+/(cancel)"', body)
    return ["Cancelled" if link else status for status, link in found]


def history_count(dispatch_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(DispatchStatusHistory)
                             .where(DispatchStatusHistory.dispatch_id == dispatch_id))


# --- the dispatch page -----------------------------------------------------------------------


def test_page_shows_every_field_and_the_history(app, client, manager):
    tess = TechnicianFactory(name="Tess Tech")
    depot = MajorLocationFactory(name="North Depot", address="1 Yard Road")
    asset = AssetFactory(asset_tag="TRK-0042", name="Blue truck", major_location=depot,
                         asset_type=AssetTypeFactory(name="Truck"), make_model=None)
    dispatch = make_dispatch("Job <b>brakes</b>", "En Route", tess, by=manager, asset=asset, priority="High",
                             description="Check the <script>pads</script>")
    login(client, manager)
    body = html(client.get(f"/dispatches/{dispatch.id}"))
    for text in (dispatch.dispatch_number, "Job &lt;b&gt;brakes&lt;/b&gt;", "Check the &lt;script&gt;pads",
                 "En Route", "High", "Operation", "TRK-0042", "Blue truck", "Truck", "In Service", "North Depot",
                 "1 Yard Road", "Tess Tech", "SLA due", "Estimated duration", "2 h"):
        assert text in body, text
    assert "<script>pads" not in body
    # the timeline: from → to, who
    assert "Created → Assigned" in body and "Assigned → En Route" in body and "Morgan Manager" in body
    assert "dispatch.created" in body  # events
    assert "Other work orders for TRK-0042" in body


@pytest.mark.parametrize(("status", "buttons"), [
    ("Created", ["Cancelled"]),
    ("Assigned", ["En Route", "In Progress", "Cancelled", "Created"]),
    ("En Route", ["In Progress", "Cancelled"]),
    ("In Progress", ["Completed", "Cancelled"]),
    ("Completed", []),
    ("Cancelled", []),
])
def test_status_buttons_only_for_the_allowed_states(app, client, manager, status, buttons):
    tess = TechnicianFactory()
    dispatch = make_dispatch("Job", status, tess, by=manager)
    login(client, manager)
    body = html(client.get(f"/dispatches/{dispatch.id}"))
    assert status_buttons(body) == buttons  # Created = the Unassign button of the assignment panel
    if "Cancelled" in buttons:
        assert "Cancel work order…" in body and "Reason for cancelling" not in body  # it asks first


def test_a_status_change_through_the_page(app, client, manager):
    tess = TechnicianFactory()
    dispatch = make_dispatch("Job", "Assigned", tess, by=manager)
    login(client, manager)
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Cancelled", "reason": "Rained off"})
    assert response.status_code == 303 and response.headers["Location"] == f"/dispatches/{dispatch.id}"
    assert status_of(dispatch.id) == "Cancelled"
    body = html(client.get(response.headers["Location"]))
    assert f"{dispatch.dispatch_number} is now Cancelled." in body
    assert "Assigned → Cancelled" in body and "Rained off" in body


def test_a_refused_transition_changes_nothing_and_says_why(app, client, manager):
    tess = TechnicianFactory()
    dispatch = make_dispatch("Job", "Assigned", tess, by=manager)
    before = history_count(dispatch.id)
    login(client, manager)
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Completed"})
    assert response.status_code == 409
    body = html(response)
    assert "cannot move to &#39;Completed&#39;" in body and 'role="alert"' in body
    assert status_of(dispatch.id) == "Assigned" and history_count(dispatch.id) == before
    # Assigned needs a technician: refused as invalid input
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Assigned"})
    assert response.status_code == 409 or response.status_code == 422
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Bogus"})
    assert response.status_code == 422 and "Unknown status" in html(response)
    assert status_of(dispatch.id) == "Assigned" and history_count(dispatch.id) == before


def test_a_refusal_from_another_rule_is_shown_too(app, client, manager, monkeypatch):
    """Whatever DomainError the service raises (e.g. an unsigned checklist) is the message shown."""
    from app.services import dispatches
    from app.services.errors import ValidationError

    tess = TechnicianFactory()
    dispatch = make_dispatch("Job", "In Progress", tess, by=manager)

    def refuse(*args, **kwargs):
        raise ValidationError("D cannot be completed while its checklist is not signed off: Truck dispatch checklist.")

    monkeypatch.setattr(dispatches, "change_status", refuse)
    login(client, manager)
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Completed"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "not signed off: Truck dispatch checklist." in html(response)
    assert 'id="dispatch-detail"' in html(response)  # the section htmx swaps
    assert status_of(dispatch.id) == "In Progress"


def test_manual_assign_and_reassign_through_the_page(app, client, manager):
    first = TechnicianProfileFactory(user__name="Alex Able").user
    second = TechnicianProfileFactory(user__name="Bo Busy", hourly_rate=90.0).user
    away = TechnicianProfileFactory(user__name="Cy Away", availability="Unavailable", unavailable_reason="Leave").user
    dispatch = make_dispatch("Job to assign")
    login(client, manager)

    body = html(client.get(f"/dispatches/{dispatch.id}"))
    assert "Alex Able" in body and "Bo Busy" in body
    assert "Excluded (1)" in body and "Cy Away: " in body  # with the reason
    for factor in ("Skill", "Distance", "Availability", "Priority balance", "Skill diversity", "History"):
        assert f'<th scope="row">{factor}</th>' in body
    assert "40 %" in body and "<dt>ETA</dt>" in body and "<dt>Cost</dt>" in body and "<dt>Burnout</dt>" in body

    response = client.post(f"/dispatches/{dispatch.id}/assign", data={"technician_id": second.id, "reason": "Knows it"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).assigned_user_id == second.id
    body = html(client.get(f"/dispatches/{dispatch.id}"))
    assert "assigned to Bo Busy" in body and "Why Bo Busy" in body and "Recorded manual assignment" in body
    assert "Knows it" in body  # the reason in the history
    assert "Fallbacks: Alex Able" in body

    response = client.post(f"/dispatches/{dispatch.id}/assign", data={"technician_id": first.id})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).assigned_user_id == first.id
    assert db.session.scalar(select(func.count()).select_from(DispatchMetric)) == 2

    # the same technician again: refused with the service's message, nothing changes
    response = client.post(f"/dispatches/{dispatch.id}/assign", data={"technician_id": first.id})
    assert response.status_code == 422 and "is already assigned to Alex Able" in html(response)
    # unassign goes back to Created
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Created", "reason": "Wait"})
    assert response.status_code == 303 and status_of(dispatch.id) == "Created"
    assert away.id  # never offered an assign button
    assert f'name="technician_id" value="{away.id}"' not in html(client.get(f"/dispatches/{dispatch.id}"))


def test_technicians_see_only_their_dispatches_and_only_move_them_forward(app, client, manager):
    tess, otto = TechnicianFactory(), TechnicianFactory()
    mine = make_dispatch("Job for Tess", "Assigned", tess, by=manager)
    theirs = make_dispatch("Job for Otto", "Assigned", otto, by=manager)
    nobodys = make_dispatch("Job for nobody")
    login(client, tess)

    assert client.get(f"/dispatches/{theirs.id}").status_code == 404
    assert client.get(f"/dispatches/{nobodys.id}").status_code == 404
    assert client.get("/dispatches/999999").status_code == 404
    assert client.post(f"/dispatches/{theirs.id}/status", data={"status": "En Route"}).status_code == 404

    body = html(client.get(f"/dispatches/{mine.id}"))
    assert status_buttons(body) == ["En Route", "In Progress"]  # no Cancel, no Unassign
    assert "Candidates" not in body and "/assign" not in body
    assert client.post(f"/dispatches/{mine.id}/status", data={"status": "Cancelled"}).status_code == 403
    assert client.post(f"/dispatches/{mine.id}/status", data={"status": "Created"}).status_code == 403
    assert client.post(f"/dispatches/{mine.id}/assign", data={"technician_id": tess.id}).status_code == 403
    assert status_of(mine.id) == "Assigned"
    response = client.post(f"/dispatches/{mine.id}/status", data={"status": "En Route"})
    assert response.status_code == 303 and status_of(mine.id) == "En Route"
    assert status_of(theirs.id) == "Assigned"


def test_out_of_service_asset_notice(app, client, manager):
    asset = AssetFactory(asset_tag="TRK-0666", status="Out of Service")
    dispatch = make_dispatch("Job repair", asset=asset, work_type="repair")
    login(client, manager)
    response = client.get(f"/dispatches/{dispatch.id}")
    assert response.status_code == 200
    body = html(response)
    assert "TRK-0666 is out of service." in body and "Repair" in body
    certify = "checklists.certify_repair" in app.view_functions
    assert ("Certify the repair of TRK-0666" in body) == certify


# --- the new work order form -----------------------------------------------------------------


@pytest.fixture
def configured_asset(app):
    """A truck whose type gives the truck checklist and whose model adds the vehicle one."""
    truck_type = AssetTypeFactory(name="Truck")
    model = MakeModelFactory(make="Volvo", model="FH16", asset_type=truck_type)
    AssetTypeDispatchDetailTableSetFactory(asset_type=truck_type, dispatch_detail_table_type="truck_checklist")
    ModelAdditionalDispatchDetailTableSetFactory(make_model=model, dispatch_detail_table_type="vehicle_dispatch")
    # configured on the model too: listed once
    ModelAdditionalDispatchDetailTableSetFactory(make_model=model, dispatch_detail_table_type="truck_checklist")
    depot = MajorLocationFactory(name="South Depot", address="9 Dock Lane")
    return AssetFactory(asset_tag="TRK-0007", name="Big Volvo", asset_type=truck_type, make_model=model,
                        major_location=depot)


def test_preview_before_saving(app, client, manager, configured_asset):
    TechnicianProfileFactory(user__name="Pat Nearby")
    login(client, manager)
    response = client.get(f"/dispatches/new/preview?asset_id={configured_asset.id}&priority=High&work_type=operation",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = html(response)
    assert body.strip().startswith('<div id="dispatch-preview"')
    assert body.count("Truck dispatch checklist") == 1 and "Vehicle dispatch" in body
    assert "(from asset type Truck)" in body and "(from model Volvo FH16)" in body
    assert "South Depot" in body and "9 Dock Lane" in body and "In Service" in body
    assert "Pat Nearby" in body and "score" in body and '<th scope="row">Skill</th>' in body
    assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0  # nothing saved

    # repair work orders get no checklists
    body = html(client.get(f"/dispatches/new/preview?asset_id={configured_asset.id}&work_type=repair",
                           headers={"HX-Request": "true"}))
    assert "A repair work order gets no checklists." in body and "Vehicle dispatch" not in body


def test_preview_of_an_out_of_service_asset_and_without_javascript(app, client, manager):
    asset = AssetFactory(asset_tag="TRK-0013", status="Out of Service")
    login(client, manager)
    body = html(client.get(f"/dispatches/new/preview?asset_id={asset.id}", headers={"HX-Request": "true"}))
    assert "TRK-0013 is out of service: only a <strong>repair</strong> work order" in body
    assert "No technician is eligible right now" in body
    # without JavaScript the Preview button posts the form and gets it back, filled in, with the preview
    response = client.post("/dispatches/new/preview", data={"asset_id": str(asset.id), "title": "Fix the door",
                                                            "priority": "Low", "work_type": "repair"})
    assert response.status_code == 200
    body = html(response)
    assert "<h1>New work order</h1>" in body and 'value="Fix the door"' in body
    assert "TRK-0013 is out of service" in body
    # nonsense asset ids give an empty preview, not an error
    for query in ("asset_id=0", "asset_id=abc", "asset_id=99999", ""):
        assert client.get(f"/dispatches/new/preview?{query}", headers={"HX-Request": "true"}).status_code == 200


def test_the_form_is_wired_for_search_and_preview(app, client, manager, configured_asset):
    AssetFactory(asset_tag="VAN-0001", name="Small van")
    login(client, manager)
    body = html(client.get("/dispatches/new"))
    select_tag = re.search(r'<select[^>]*id="asset_id"[^>]*>', body).group(0)
    assert 'hx-get="/dispatches/new/preview"' in select_tag and 'hx-trigger="change"' in select_tag
    assert 'hx-target="#dispatch-preview"' in select_tag and "hx-include=" in select_tag
    assert '<label for="asset_search">' in body and 'hx-get="/dispatches/new/assets"' in body
    assert '<label for="work_type">Work type</label>' in body
    options = html(client.get("/dispatches/new/assets?asset_search=volvo"))
    assert "TRK-0007 — Big Volvo" in options and "VAN-0001" not in options
    options = html(client.get(f"/dispatches/new/assets?asset_search=van&asset_id={configured_asset.id}"))
    assert "VAN-0001 — Small van" in options
    assert "No asset matches" in html(client.get("/dispatches/new/assets?asset_search=zzz"))


def test_creating_goes_to_the_new_dispatch_and_refusals_keep_what_was_typed(app, client, manager, configured_asset):
    login(client, manager)
    broken = AssetFactory(asset_tag="TRK-0404", status="Out of Service")
    data = {"asset_id": str(broken.id), "title": "Run to Leeds", "description": "Typed by hand", "priority": "High",
            "work_type": "operation", "due_date": "", "required_skill": "", "estimated_duration_hours": "3"}
    response = client.post("/dispatches/new", data=data)
    assert response.status_code == 422
    body = html(response)
    assert re.search(r'id="asset_id-error" role="alert">Asset TRK-0404 is out of service', body)
    assert 'value="Run to Leeds"' in body and "Typed by hand" in body
    assert 'value="3.0"' in body or 'value="3"' in body
    assert "TRK-0404 is out of service: only a" in body  # the preview is shown again
    assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0

    due = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/dispatches/new", data={**data, "work_type": "repair", "due_date": due})
    assert response.status_code == 303
    dispatch = db.session.scalar(select(Dispatch))
    assert response.headers["Location"] == f"/dispatches/{dispatch.id}"
    assert (dispatch.work_type, dispatch.estimated_duration_hours) == ("repair", 3.0)
    body = html(client.get(response.headers["Location"]))
    assert f"Created {dispatch.dispatch_number} with 0 checklist(s)." in body

    response = client.post("/dispatches/new", data={**data, "asset_id": str(configured_asset.id)})
    assert response.status_code == 303
    created = db.session.get(Dispatch, int(response.headers["Location"].rsplit("/", 1)[1]))
    assert sorted(d.table_name for d in created.all_details) == ["truck_dispatch_checklists", "vehicle_dispatches"]


def test_a_technician_does_not_see_why_a_colleague_was_taken_off_the_work(app, client, system_actor):
    from app.services import dispatches as dispatch_service
    from app.services.actors import acting_as
    from tests.factories import DEFAULT_PASSWORD, DispatchFactory, ManagerFactory, TechnicianFactory

    alice, bob, manager = TechnicianFactory(name="Alice"), TechnicianFactory(name="Bob"), ManagerFactory()
    dispatch = DispatchFactory()
    with acting_as(manager):
        dispatch_service.assign(dispatch, alice)
        dispatch_service.assign(dispatch, bob, reason="Alice on medical leave (surgery)")
    client.post("/auth/login", data={"email": bob.email, "password": DEFAULT_PASSWORD})
    page = client.get(f"/dispatches/{dispatch.id}")
    assert page.status_code == 200 and "medical leave" not in page.text
    client.post("/auth/logout")
    client.post("/auth/login", data={"email": manager.email, "password": DEFAULT_PASSWORD})
    assert "medical leave" in client.get(f"/dispatches/{dispatch.id}").text


def test_a_click_on_an_old_page_does_not_undo_a_colleagues_reassignment(app, client, system_actor):
    from app.extensions import db as database
    from app.models import Dispatch
    from app.services import dispatches as dispatch_service
    from app.services.actors import acting_as
    from tests.factories import DEFAULT_PASSWORD, DispatchFactory, ManagerFactory, TechnicianFactory

    alice, bob, carol, manager = (TechnicianFactory(name="Alice"), TechnicianFactory(name="Bob"),
                                  TechnicianFactory(name="Carol"), ManagerFactory())
    dispatch = DispatchFactory()
    with acting_as(manager):
        dispatch_service.assign(dispatch, alice)
    seen_version = database.session.get(Dispatch, dispatch.id).version_id
    with acting_as(manager):  # meanwhile another manager moves it to Carol
        dispatch_service.assign(database.session.get(Dispatch, dispatch.id), carol, reason="Closer")

    client.post("/auth/login", data={"email": manager.email, "password": DEFAULT_PASSWORD})
    response = client.post(f"/dispatches/{dispatch.id}/assign",
                           data={"technician_id": bob.id, "version": seen_version, "reason": "Old page"})
    assert response.status_code == 409 and "changed since you opened it" in response.text
    database.session.expire_all()
    assert database.session.get(Dispatch, dispatch.id).assigned_user_id == carol.id

    cancel = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Cancelled", "version": seen_version})
    assert cancel.status_code == 409
    database.session.expire_all()
    assert database.session.get(Dispatch, dispatch.id).status == "Assigned"
