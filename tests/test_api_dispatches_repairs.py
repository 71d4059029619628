"""Repair certification over the API: on the repair work order a defective sign-off opened,
by the page's rules (``checklists.certify_repair``), with the work order's If-Match."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Asset, ChecklistDefect, Dispatch, DispatchStatus, Event
from app.services import dispatches
from app.services.actors import acting_as
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import AdminFactory, ManagerFactory
from tests.test_defects_and_repairs import (  # noqa: F401 - fixtures
    COMPLETED, IN, OUT, actor, broken, complete, count, defects, manager, technician, trip, truck,
)


@pytest.fixture
def tokens(manager, technician):
    return {"manager": token_for(manager), "technician": token_for(technician), "admin": token_for(AdminFactory())}


def _url(dispatch: Dispatch) -> str:
    return f"/api/v1/dispatches/{dispatch.dispatch_number}/repair-certification"


def _etag(client, dispatch: Dispatch, secret: str) -> str:
    response = client.get(f"/api/v1/dispatches/{dispatch.dispatch_number}", headers=bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["ETag"]


def _certify(client, dispatch, secret, body, etag=None):
    headers = bearer(secret, **({"If-Match": etag} if etag else {}))
    return client.post(_url(dispatch), json=body, headers=headers)


def _unchanged(broken) -> None:
    db.session.expire_all()
    assert db.session.get(Asset, broken["asset_id"]).status == OUT
    assert all(d.certification is None for d in defects())
    assert count(Event, Event.event_type == "asset.returned_to_service") == 0


def test_repaired_once_the_work_order_is_completed_puts_the_asset_back(app, broken, tokens, technician):
    repair = broken["repair"]
    with acting_as(technician):
        complete(repair, technician)
    client = app.test_client()
    response = _certify(client, repair, tokens["manager"], {"outcome": "repaired"},
                        _etag(client, repair, tokens["manager"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["number"] == repair.dispatch_number and body["status"] == COMPLETED
    assert body["asset"]["status"] == IN and body["outcome"] == "repaired" and body["notes"] is None
    assert body["certified_by"]["name"] == "Morgan Manager"
    assert [(d["item"], d["reported_on"], d["repair_dispatch"]) for d in body["defects"]] == \
        [("brakes_checked", broken["trip"].dispatch_number, repair.dispatch_number)]
    db.session.expire_all()
    assert db.session.get(Asset, broken["asset_id"]).status == IN
    [defect] = defects()
    assert defect.certification == "repaired" and defect.certified_by.name == "Morgan Manager"
    assert count(Event, Event.event_type == "asset.returned_to_service") == 1
    # Nothing left to certify: a second time is refused and says so.
    again = _certify(client, repair, tokens["manager"], {"outcome": "repaired"}, response.headers["ETag"])
    assert "already certified" in assert_problem(again, 422)["detail"]


def test_no_repair_needed_with_notes_cancels_the_work_order(app, broken, tokens):
    repair = broken["repair"]
    client = app.test_client()
    response = _certify(client, repair, tokens["admin"],
                        {"outcome": "no repair needed", "notes": "Pedal fine on a test drive"},
                        _etag(client, repair, tokens["admin"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == DispatchStatus.CANCELLED.value and body["notes"] == "Pedal fine on a test drive"
    db.session.expire_all()
    stored = db.session.get(Dispatch, repair.id)
    assert stored.status == DispatchStatus.CANCELLED.value
    assert response.headers["ETag"] == f'"{stored.version_id}"'  # the answer's ETag is the cancelled order's
    assert db.session.get(Asset, broken["asset_id"]).status == IN


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"outcome": "repaired"}, 422, "is not completed"),
    ({"outcome": "no repair needed"}, 422, "Say why no repair is needed"),
    ({"outcome": "no repair needed", "notes": "   "}, 422, "Say why no repair is needed"),
    ({"outcome": "fixed"}, 422, "outcome"),
    ({}, 422, "outcome"),
])
def test_refused_certification_says_why_and_changes_nothing(app, broken, tokens, body, status, words):
    repair = broken["repair"]
    client = app.test_client()
    response = _certify(client, repair, tokens["manager"], body, _etag(client, repair, tokens["manager"]))
    problem = assert_problem(response, status)
    assert words in problem["detail"] or words in problem.get("errors", {}), problem
    _unchanged(broken)


def test_certification_needs_the_work_orders_if_match(app, broken, tokens, technician):
    repair = broken["repair"]
    client = app.test_client()
    stale = _etag(client, repair, tokens["manager"])
    with acting_as(technician):
        complete(repair, technician)
    assert_problem(_certify(client, repair, tokens["manager"], {"outcome": "repaired"}), 428, "If-Match")
    refused = _certify(client, repair, tokens["manager"], {"outcome": "repaired"}, stale)
    assert_problem(refused, 412, "changed since you read it")
    _unchanged(broken)


def test_only_on_a_work_order_opened_for_defects(app, broken, tokens):
    """The trip that reported the defects is no repair work order: certifying there is refused."""
    client = app.test_client()
    trip = broken["trip"]
    response = _certify(client, trip, tokens["manager"], {"outcome": "no repair needed", "notes": "x"},
                        _etag(client, trip, tokens["manager"]))
    assert "was not opened for reported defects" in assert_problem(response, 422)["detail"]
    _unchanged(broken)


def test_technicians_may_not_certify_and_unknown_numbers_are_404(app, broken, tokens, technician):
    repair = broken["repair"]
    with acting_as(technician):
        dispatches.assign(repair, technician, "repair")
    client = app.test_client()
    own = _certify(client, repair, tokens["technician"], {"outcome": "no repair needed", "notes": "Fine"}, "*")
    assert_problem(own, 403)
    missing = client.post("/api/v1/dispatches/D-2000-000001/repair-certification",
                          json={"outcome": "repaired"}, headers=bearer(tokens["manager"], **{"If-Match": "*"}))
    assert_problem(missing, 404)
    _unchanged(broken)
    assert count(ChecklistDefect, ChecklistDefect.certified_by_id.is_not(None)) == 0


def test_a_manager_token_works_like_the_page(app, broken, tokens):
    """Same rule as the page's: a manager other than the one who made the fixture certifies too."""
    other = token_for(ManagerFactory(name="Other Manager"))
    repair = broken["repair"]
    client = app.test_client()
    response = _certify(client, repair, other, {"outcome": "no repair needed", "notes": "Could not reproduce"},
                        _etag(client, repair, other))
    assert response.status_code == 200 and response.get_json()["certified_by"]["name"] == "Other Manager"
