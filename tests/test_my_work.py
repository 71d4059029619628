"""My work: a technician's open dispatches, most urgent first, with their next steps."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import utcnow
from tests.dispatch_pages_support import html, login, make_dispatch, status_of
from tests.factories import (
    AssetFactory,
    ManagerFactory,
    MajorLocationFactory,
    TechnicianFactory,
    configured_truck_type,
)


@pytest.fixture
def manager(app):
    return ManagerFactory()


def card_titles(body: str) -> list[str]:
    return re.findall(r'<h3 id="card-\d+"><a href="[^"]+">([^<]+)</a></h3>', body)


def open_part(body: str) -> str:
    return body.split('<details class="recent">')[0]


def test_open_work_most_urgent_first_then_by_due_time(app, client, manager):
    tess = TechnicianFactory()
    soon, later = utcnow() + timedelta(hours=2), utcnow() + timedelta(days=2)
    make_dispatch("Normal later", "Assigned", tess, by=manager, priority="Normal", due_date=later)
    make_dispatch("Critical later", "In Progress", tess, by=manager, priority="Critical", due_date=later)
    make_dispatch("Normal soon", "En Route", tess, by=manager, priority="Normal", due_date=soon)
    make_dispatch("Critical soon", "Assigned", tess, by=manager, priority="Critical", due_date=soon)
    make_dispatch("Low", "Assigned", tess, by=manager, priority="Low", due_date=soon)
    make_dispatch("High", "Assigned", tess, by=manager, priority="High", due_date=later)
    make_dispatch("Done", "Completed", tess, by=manager)
    make_dispatch("Someone else's", "Assigned", TechnicianFactory(), by=manager, priority="Critical")
    make_dispatch("Nobody's", priority="Critical")
    login(client, tess)
    body = html(client.get("/dispatches/mine"))
    assert card_titles(open_part(body)) == ["Critical soon", "Critical later", "High", "Normal soon", "Normal later",
                                            "Low"]
    # completed recently: below, collapsed
    recent = body.split('<details class="recent">')[1]
    assert card_titles(recent) == ["Done"] and "Completed in the last 3 days (1)" in recent
    assert "Someone else" not in body and "Nobody" not in body


def test_cards_show_asset_location_due_progress_and_next_steps(app, client, manager):
    tess = TechnicianFactory()
    depot = MajorLocationFactory(name="East Yard", address="5 Quay Street")
    asset = AssetFactory(asset_tag="TRK-0077", name="Red truck", asset_type=configured_truck_type(), major_location=depot)
    assigned = make_dispatch("Check tyres", "Assigned", tess, by=manager, asset=asset)
    started = make_dispatch("Replace lamp", "In Progress", tess, by=manager, asset=asset)
    # signed off (written directly: the checklist rules have their own tests)
    row = started.truckdispatchchecklist_details[0]
    row.completed_by_id, row.completed_date = tess.id, utcnow()
    db.session.commit()
    login(client, tess)
    body = html(client.get("/dispatches/mine"))
    card = re.search(rf'<article[^>]*aria-labelledby="card-{assigned.id}">(.*?)</article>', body, re.S).group(1)
    for text in ("TRK-0077", "Red truck", "East Yard", "5 Quay Street", "Due", "Checklists: 0 of 1 signed off"):
        assert text in card, text
    assert re.findall(r'name="status" value="([^"]+)"', card) == ["En Route", "In Progress"]
    assert '<progress id="progress-' in card
    card = re.search(rf'<article[^>]*aria-labelledby="card-{started.id}">(.*?)</article>', body, re.S).group(1)
    assert "Checklists: 1 of 1 signed off" in card
    assert re.findall(r'name="status" value="([^"]+)"', card) == ["Completed"]
    assert 'hx-post="/dispatches/' in card and 'hx-select="#my-work"' in card


def test_next_step_from_my_work_comes_back_to_my_work(app, client, manager):
    tess = TechnicianFactory()
    dispatch = make_dispatch("Check tyres", "Assigned", tess, by=manager)
    login(client, tess)
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "En Route", "return_to": "my_work"})
    assert response.status_code == 303 and response.headers["Location"] == "/dispatches/mine"
    assert status_of(dispatch.id) == "En Route"
    body = html(client.get("/dispatches/mine"))
    assert f"{dispatch.dispatch_number} is now En Route." in body
    # a refused step is shown on My work with the reason; nothing changes
    response = client.post(f"/dispatches/{dispatch.id}/status", data={"status": "Completed", "return_to": "my_work"})
    assert response.status_code == 409
    assert "<h1>My work</h1>" in html(response) and "cannot move to &#39;Completed&#39;" in html(response)
    assert status_of(dispatch.id) == "En Route"


def test_my_work_is_for_technicians(app, client, manager):
    login(client, manager)
    response = client.get("/dispatches/mine")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dispatches/")


def test_nothing_to_do(app, client):
    tess = TechnicianFactory()
    login(client, tess)
    body = html(client.get("/dispatches/mine"))
    assert "Nothing assigned to you right now." in body and "Completed in the last 3 days (0)" in body
    db.session.rollback()
