"""What the pages do when an action fails: cancellation asks first and needs a reason, an htmx
refusal comes back as an alert sized for its place, and an ended session leads to sign-in."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DispatchStatusHistory, TruckDispatchChecklist
from app.services import dispatches as dispatch_service
from app.services import matching
from app.services.actors import acting_as
from app.services.errors import ValidationError
from tests.dispatch_pages_support import html, login, make_dispatch, status_of
from tests.factories import (
    AssetFactory,
    ManagerFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
    configured_truck_type,
)

HTMX = {"HX-Request": "true"}


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


def history_count(dispatch_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(DispatchStatusHistory)
                             .where(DispatchStatusHistory.dispatch_id == dispatch_id))


def assert_fragment(body: str) -> None:
    """An htmx answer: no page around it (no top bar, no <html>)."""
    assert 'class="topbar"' not in body and "<html" not in body


# --- cancelling needs a reason and asks first ---------------------------------------------------


def test_the_status_service_refuses_to_cancel_without_a_reason(app, manager):
    dispatch = make_dispatch("Job", "Assigned", TechnicianFactory(), by=manager)
    before = history_count(dispatch.id)
    for reason in (None, "", "   "):
        with acting_as(manager), pytest.raises(ValidationError) as refused:
            dispatch_service.change_status(dispatch, "Cancelled", reason)
        assert "give the reason" in refused.value.message and refused.value.field == "reason"
    db.session.rollback()
    assert status_of(dispatch.id) == "Assigned" and history_count(dispatch.id) == before


def test_bulk_cancel_without_a_reason_changes_no_row(app, client, manager):
    jobs = [make_dispatch(f"Job {n}", "Created", by=manager) for n in range(2)]
    login(client, manager)
    response = client.post("/dispatches/bulk-status", headers=HTMX, data={
        "dispatch_ids": [job.id for job in jobs], "status": "Cancelled", "reason": " ", "next": "/dispatches/"})
    assert response.status_code == 422 and "give the reason for cancelling" in html(response)
    assert [status_of(job.id) for job in jobs] == ["Created", "Created"]
    with acting_as(manager), pytest.raises(ValidationError):
        dispatch_service.bulk_change_status([job.id for job in jobs], "Cancelled")


def test_cancel_without_a_reason_from_the_page_is_refused_and_asks_again(app, client, manager):
    dispatch = make_dispatch("Job", "Assigned", TechnicianFactory(), by=manager)
    before = history_count(dispatch.id)
    login(client, manager)
    data = {"status": "Cancelled", "reason": "", "return_to": "cancel", "version": dispatch.version_id}
    response = client.post(f"/dispatches/{dispatch.id}/status", data=data)
    body = html(response)
    assert response.status_code == 422 and "give the reason for cancelling" in body
    assert "Reason for cancelling" in body and "Keep it" in body  # still the confirmation page
    response = client.post(f"/dispatches/{dispatch.id}/status", data=data, headers=HTMX)
    body = html(response)
    assert response.status_code == 422 and 'id="dispatch-detail"' in body and 'id="cancel-confirm-' in body
    assert 'aria-invalid="true"' in body
    assert status_of(dispatch.id) == "Assigned" and history_count(dispatch.id) == before


def test_a_cancel_reason_over_its_limit_is_refused_whole_not_cut(app, client, manager):
    dispatch = make_dispatch("Job", "Assigned", TechnicianFactory(), by=manager)
    before = history_count(dispatch.id)
    login(client, manager)
    data = {"status": "Cancelled", "reason": "x" * 501, "return_to": "cancel", "version": dispatch.version_id}
    response = client.post(f"/dispatches/{dispatch.id}/status", data=data)
    assert response.status_code in (400, 422) and "500" in html(response)
    assert status_of(dispatch.id) == "Assigned" and history_count(dispatch.id) == before


def test_the_confirmation_page_works_without_javascript(app, client, manager):
    dispatch = make_dispatch("Job", "Assigned", TechnicianFactory(), by=manager)
    login(client, manager)
    page = html(client.get(f"/dispatches/{dispatch.id}"))
    assert f'href="/dispatches/{dispatch.id}/cancel"' in page and "Cancel work order…" in page
    response = client.get(f"/dispatches/{dispatch.id}/cancel")
    body = html(response)
    assert response.status_code == 200 and 'class="topbar"' in body
    assert f"Cancel {dispatch.dispatch_number}?" in body and "cannot be reopened" in body
    assert re.search(r'<input id="cancel-reason-\d+" name="reason" required', body)
    assert '<button type="submit" class="status-cancelled">Cancel work order</button>' in body
    assert f'<a class="button" href="/dispatches/{dispatch.id}">Keep it</a>' in body
    assert status_of(dispatch.id) == "Assigned"  # asking changes nothing

    response = client.post(f"/dispatches/{dispatch.id}/status", data={
        "status": "Cancelled", "reason": "Customer called it off", "return_to": "cancel",
        "version": dispatch.version_id})
    assert response.status_code == 303 and response.headers["Location"] == f"/dispatches/{dispatch.id}"
    assert status_of(dispatch.id) == "Cancelled"
    assert "Customer called it off" in html(client.get(f"/dispatches/{dispatch.id}"))


def test_the_confirmation_in_place_is_a_fragment(app, client, manager):
    dispatch = make_dispatch("Job", "Created", by=manager)
    login(client, manager)
    response = client.get(f"/dispatches/{dispatch.id}/cancel", headers=HTMX)
    body = html(response)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert_fragment(body)
    assert f'id="cancel-confirm-{dispatch.id}"' in body and "Reason for cancelling" in body


def test_a_final_dispatch_cannot_be_asked_to_cancel(app, client, manager):
    dispatch = make_dispatch("Job", "Cancelled", by=manager)
    login(client, manager)
    response = client.get(f"/dispatches/{dispatch.id}/cancel")
    assert response.status_code == 400 and "cannot move to" in html(response)
    response = client.get(f"/dispatches/{dispatch.id}/cancel", headers=HTMX)
    assert response.status_code == 400 and response.headers["HX-Retarget"] == "#flashes"
    assert_fragment(html(response))


# --- htmx refusals are alerts for their place -------------------------------------------------


def taken_back_job(manager, reason="Tess is off sick, private"):
    tess = TechnicianFactory(name="Tess Tech")
    TechnicianProfileFactory(user=tess)
    dispatch = make_dispatch("Brake job", "Created", by=manager)
    with acting_as(manager):
        matching.assign_to(dispatch, tess.id)
        dispatch_service.unassign(dispatch, reason)
    return tess, dispatch


def test_start_work_on_a_job_taken_back_says_by_whom_and_to_refresh(app, client, manager):
    tess, dispatch = taken_back_job(manager)
    before = history_count(dispatch.id)
    login(client, tess)
    response = client.post(f"/dispatches/{dispatch.id}/status", headers={
        **HTMX, "HX-Current-URL": "http://localhost/dispatches/mine"},
        data={"status": "In Progress", "return_to": "my_work", "version": dispatch.version_id})
    body = html(response)
    assert response.status_code == 404
    assert_fragment(body)
    assert 'class="htmx-alert refusal" role="alert"' in body
    assert f"{dispatch.dispatch_number} is no longer assigned to you: Morgan Manager took it back" in body
    assert '<a href="/dispatches/mine">Refresh the page</a>' in body
    assert "off sick" not in body  # the reason given stays private
    assert response.headers["HX-Retarget"] == "#flashes" and response.headers["HX-Reselect"] == ".htmx-alert"
    assert status_of(dispatch.id) == "Created" and history_count(dispatch.id) == before

    # Without htmx: the same message on a whole page.
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "In Progress"})
    assert response.status_code == 404 and "took it back" in html(response) and 'class="topbar"' in html(response)


def test_a_technician_who_never_had_the_job_learns_nothing_about_it(app, client, manager):
    _tess, dispatch = taken_back_job(manager)
    other = TechnicianFactory(name="Otto Other")
    login(client, other)
    response = client.post(f"/dispatches/{dispatch.id}/status", headers=HTMX, data={"status": "In Progress"})
    body = html(response)
    assert response.status_code == 404 and f"{dispatch.dispatch_number} is not assigned to you" in body
    assert "Morgan" not in body and "Tess" not in body


def test_every_htmx_error_answer_is_an_alert_fragment(app, client, manager):
    login(client, manager)
    for url in ("/dispatches/999999", "/checklists/999999", "/no-such-page"):
        response = client.get(url, headers=HTMX)
        assert response.status_code == 404, url
        assert_fragment(html(response))
        assert 'role="alert"' in html(response) and response.headers["HX-Reselect"] == ".htmx-alert"
    page = client.get("/dispatches/999999")
    assert 'class="topbar"' in html(page)  # a navigation still gets the whole page


def truck_checklist_of(dispatch):
    return db.session.scalar(select(TruckDispatchChecklist).where(TruckDispatchChecklist.dispatch_id == dispatch.id))


def test_a_checklist_conflict_still_answers_with_the_item_in_its_place(app, client, manager):
    """A view's own 409/422 re-rendering keeps its target: it is not turned into an alert."""
    tess = TechnicianFactory()
    dispatch = make_dispatch("Job", "Assigned", tess, by=manager,
                             asset=AssetFactory(asset_type=configured_truck_type()))
    row = truck_checklist_of(dispatch)
    login(client, tess)
    url = f"/checklists/{row.detail_id}/items/lights_checked"
    assert client.post(url, data={"lights_checked": "ok", "lights_checked__seen": ""}, headers=HTMX).status_code == 200
    stale = client.post(url, data={"lights_checked": "defect", "lights_checked__description": "Out",
                                   "lights_checked__seen": ""}, headers=HTMX)
    assert stale.status_code == 409 and "HX-Retarget" not in stale.headers and 'id="c' in html(stale)


# --- an ended session -------------------------------------------------------------------------


def test_an_htmx_request_after_the_session_ended_gets_401_and_the_way_back(app, client, manager):
    tess = TechnicianFactory()
    dispatch = make_dispatch("Job", "Assigned", tess, by=manager,
                             asset=AssetFactory(asset_type=configured_truck_type()))
    row = truck_checklist_of(dispatch)
    page = f"/checklists/{row.detail_id}"
    login(client, tess)
    client.post("/auth/logout")  # signed out (elsewhere, or the session expired)
    response = client.post(f"{page}/items/checklist_notes", headers={
        **HTMX, "HX-Current-URL": f"http://localhost{page}"}, data={"checklist_notes": "Typed before"})
    body = html(response)
    assert response.status_code == 401
    assert_fragment(body)
    assert "no longer signed in" in body
    assert response.headers["HX-Sign-In"] == f"/auth/login?next=/checklists/{row.detail_id}"
    assert truck_checklist_of(dispatch).checklist_notes in (None, "")  # nothing saved

    # The sign-in link leads back to the checklist page, not to the fragment's URL.
    signed_in = client.post(response.headers["HX-Sign-In"], data={"email": tess.email,
                                                                   "password": "correct horse battery"})
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == page


def test_a_foreign_current_url_is_not_where_sign_in_leads(app, client):
    response = client.get("/dispatches/mine", headers={**HTMX, "HX-Current-URL": "https://evil.example//x"})
    assert response.status_code == 401 and "evil" not in response.headers["HX-Sign-In"]


def test_a_page_without_a_session_still_goes_to_sign_in_and_back(app, client):
    response = client.get("/dispatches/mine?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=%2Fdispatches%2Fmine%3Fx%3D1"


def test_an_htmx_post_after_the_session_ended_leads_to_sign_in_even_with_csrf_checks(make_app):
    """An ended session takes its CSRF token with it: the answer is sign in, not 'the form expired'."""
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/checklists/1/items/checklist_notes", headers={
        **HTMX, "HX-Current-URL": "http://localhost/checklists/1"}, data={"checklist_notes": "Typed"})
    assert response.status_code == 401 and response.headers["HX-Sign-In"] == "/auth/login?next=/checklists/1"
    # Without htmx a stale form is still explained as such.
    assert client.post("/checklists/1/items/checklist_notes", data={}).status_code == 400
