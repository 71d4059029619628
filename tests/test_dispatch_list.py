"""The managers' work-order list: filters, sorting, paging, the htmx fragment and bulk status changes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.models import utcnow
from tests.dispatch_pages_support import html, login, make_dispatch, status_of, titles_in
from tests.factories import (
    AssetFactory,
    AssetTypeFactory,
    DEFAULT_PASSWORD,
    DispatchFactory,
    ManagerFactory,
    TechnicianFactory,
)


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def fleet(app, manager):
    """A small fleet with one dispatch per interesting case."""
    tess, otto = TechnicianFactory(name="Tess Tech"), TechnicianFactory(name="Otto Other")
    crane_type = AssetTypeFactory(name="Crane")
    crane = AssetFactory(asset_tag="CRN-0001", name="Big lifter", asset_type=crane_type)
    truck = AssetFactory(asset_tag="TRK-0100", name="Blue truck")
    made = {
        "created": make_dispatch("Job created", priority="Low", asset=truck),
        "assigned": make_dispatch("Job assigned", "Assigned", tess, by=manager, priority="High", asset=crane),
        "progress": make_dispatch("Job in progress", "In Progress", otto, by=manager, priority="Critical"),
        "overdue": make_dispatch("Job overdue", "Assigned", tess, by=manager, due_date=utcnow() + timedelta(minutes=1)),
        "later": make_dispatch("Job next week", priority="Normal", due_date=utcnow() + timedelta(days=5)),
    }
    # overdue: its SLA time has passed (set directly, as time passing would)
    made["overdue"].sla_due_at = utcnow() - timedelta(hours=2)
    from app.extensions import db

    db.session.commit()
    return {"tess": tess, "otto": otto, "crane_type": crane_type, **made}


def listed(client, query: str = "") -> list[str]:
    response = client.get("/dispatches/" + query)
    assert response.status_code == 200
    return titles_in(html(response))


def test_filters(app, client, manager, fleet):
    login(client, manager)
    every = ["Job created", "Job assigned", "Job in progress", "Job overdue", "Job next week"]
    assert sorted(listed(client)) == sorted(every)
    assert listed(client, "?status=Assigned") == ["Job overdue", "Job assigned"]
    assert listed(client, "?priority=Critical") == ["Job in progress"]
    assert listed(client, "?asset=CRN-0001") == ["Job assigned"]
    assert listed(client, f"?asset_type={fleet['crane_type'].id}") == ["Job assigned"]
    assert listed(client, f"?technician={fleet['tess'].id}") == ["Job overdue", "Job assigned"]
    assert listed(client, "?technician=none") == ["Job next week", "Job created"]
    assert listed(client, "?due=overdue") == ["Job overdue"]
    assert set(listed(client, "?due=7d")) >= {"Job next week"} and "Job overdue" not in listed(client, "?due=7d")
    # free text: number, title, asset tag and asset name, case-insensitively
    assert listed(client, "?q=PROGRESS") == ["Job in progress"]
    assert listed(client, "?q=" + fleet["created"].dispatch_number) == ["Job created"]
    assert listed(client, "?q=trk-0100") == ["Job created"]
    assert listed(client, "?q=big+lift") == ["Job assigned"]
    assert listed(client, "?q=100%25") == []  # LIKE wildcards are taken literally
    # filters combine
    assert listed(client, f"?status=Assigned&technician={fleet['tess'].id}&priority=High") == ["Job assigned"]
    # an unknown choice is ignored rather than failing; a malformed number is refused and says which
    assert len(listed(client, "?status=Bogus&priority=Urgent&due=soon&sort=password")) == 5
    for query, name in (("?asset_type=x", "asset_type"), ("?technician=abc", "technician"), ("?page=%C2%B2", "page")):
        refused = client.get("/dispatches/" + query)
        assert refused.status_code == 400 and f"The filter &#39;{name}&#39; must be a whole number" in html(refused)
    body = html(client.get("/dispatches/?status=Assigned&priority=High"))
    assert '<option value="Assigned" selected>' in body and '<option value="High" selected>' in body


def test_sorting_by_whitelisted_columns(app, client, manager, fleet):
    login(client, manager)
    newest_first = listed(client)
    assert newest_first == ["Job next week", "Job overdue", "Job in progress", "Job assigned", "Job created"]
    assert listed(client, "?sort=created") == list(reversed(newest_first))
    assert listed(client, "?sort=title") == sorted(newest_first)
    assert listed(client, "?sort=-title") == sorted(newest_first, reverse=True)
    assert listed(client, "?sort=priority")[:2] == ["Job in progress", "Job assigned"]  # Critical, High first
    assert listed(client, "?sort=-priority")[0] == "Job created"  # Low
    assert listed(client, "?sort=-asset")[0] == "Job created"  # TRK-0100 sorts last
    # by technician name (Otto, then Tess), the unassigned last on every database
    assert listed(client, "?sort=technician") == ["Job in progress", "Job assigned", "Job overdue", "Job created",
                                                  "Job next week"]
    assert listed(client, "?sort=due")[0] == "Job overdue"
    # the header links toggle the direction and keep the filters
    body = html(client.get("/dispatches/?sort=title&status=Assigned"))
    link = re.search(r'<a href="([^"]*)"[^>]*>Title', body).group(1)
    assert "sort=-title" in link and "status=Assigned" in link


def test_pagination_keeps_filters_and_sort(make_app):
    app = make_app(DISPATCHES_PER_PAGE=2)
    with app.app_context():
        manager = ManagerFactory()
        asset = AssetFactory()
        for n in range(5):
            DispatchFactory(title=f"Job {n}", asset=asset, priority="High" if n % 2 else "Normal")
        email = manager.email
    client = app.test_client()
    client.post("/auth/login", data={"email": email, "password": DEFAULT_PASSWORD})
    body = html(client.get("/dispatches/?sort=title&priority=Normal"))
    assert titles_in(body) == ["Job 0", "Job 2"] and "Page 1 of 2" in body
    next_link = re.search(r'href="([^"]*)" rel="next"', body).group(1).replace("&amp;", "&")
    assert "sort=title" in next_link and "priority=Normal" in next_link and "page=2" in next_link
    assert titles_in(html(client.get(next_link))) == ["Job 4"]


def test_htmx_gets_the_fragment_that_the_page_includes(app, client, manager, fleet):
    login(client, manager)
    full = client.get("/dispatches/?status=Assigned")
    fragment = client.get("/dispatches/?status=Assigned", headers={"HX-Request": "true"})
    assert "HX-Request" in full.vary and "HX-Request" in fragment.vary
    body = html(fragment).strip()
    assert body.startswith('<div id="dispatch-table">') and "<html" not in body
    assert titles_in(body) == ["Job overdue", "Job assigned"]
    # the full page has the filter form that updates the fragment in place and the URL
    page = html(full)
    assert body in page
    form = re.search(r'<form id="dispatch-filters"[^>]*>', page, re.S).group(0)
    for attribute in ('hx-get="/dispatches/"', 'hx-target="#dispatch-table"', 'hx-push-url="true"', "hx-trigger="):
        assert attribute in form
    assert 'data-select-all="dispatch_ids"' in page and 'name="dispatch_ids"' in page
    for label in ("Search", "Status", "Priority", "Asset tag", "Asset type", "Technician", "Due"):
        assert f">{label}</label>" in page


def test_bulk_status_change_reports_refused_rows_and_leaves_them_unchanged(app, client, manager, fleet):
    login(client, manager)
    ids = [fleet["assigned"].id, fleet["progress"].id, fleet["created"].id]
    response = client.post("/dispatches/bulk-status", data={
        "dispatch_ids": ids, "status": "En Route", "reason": "Convoy leaves", "next": "/dispatches/?status=Assigned",
    })
    assert response.status_code == 303 and response.headers["Location"] == "/dispatches/?status=Assigned"
    assert status_of(fleet["assigned"].id) == "En Route"
    assert status_of(fleet["progress"].id) == "In Progress"  # refused: unchanged
    assert status_of(fleet["created"].id) == "Created"
    body = html(client.get(response.headers["Location"]))
    assert f"1 dispatch moved to En Route: {fleet['assigned'].dispatch_number}." in body
    assert f"{fleet['progress'].dispatch_number} unchanged: A dispatch in status &#39;In Progress&#39; cannot move to &#39;En Route&#39;" in body
    assert f"{fleet['created'].dispatch_number} unchanged:" in body


def test_bulk_with_htmx_answers_with_the_table_and_the_results(app, client, manager, fleet):
    login(client, manager)
    response = client.post("/dispatches/bulk-status", headers={"HX-Request": "true"}, data={
        "dispatch_ids": [fleet["created"].id, fleet["later"].id, fleet["progress"].id],
        "status": "Cancelled", "reason": "Budget", "next": "/dispatches/?technician=none",
    })
    assert response.status_code == 200
    body = html(response).strip()
    assert body.startswith('<div id="dispatch-table">')
    assert "3 changed, 0 refused." in body
    assert titles_in(body) == ["Job next week", "Job created"]  # the list as it was filtered
    for key in ("created", "later", "progress"):
        assert status_of(fleet[key].id) == "Cancelled"
    # nothing selected, or a target that needs a technician: refused with a message
    response = client.post("/dispatches/bulk-status", headers={"HX-Request": "true"},
                           data={"status": "Cancelled", "next": "/dispatches/"})
    assert response.status_code == 422 and "Select at least one dispatch." in html(response)
    response = client.post("/dispatches/bulk-status", data={"dispatch_ids": [fleet["assigned"].id],
                                                            "status": "Assigned", "next": "https://evil.example/"})
    assert response.status_code == 303 and response.headers["Location"] == "/dispatches/"
    assert status_of(fleet["assigned"].id) == "Assigned"


def test_technicians_get_my_work_and_cannot_bulk_change(app, client, manager, fleet):
    login(client, fleet["tess"])
    response = client.get("/dispatches/?status=Created")
    assert response.status_code == 302 and response.headers["Location"].endswith("/dispatches/mine")
    response = client.post("/dispatches/bulk-status", data={"dispatch_ids": [fleet["assigned"].id], "status": "Cancelled"})
    assert response.status_code == 403
    assert status_of(fleet["assigned"].id) == "Assigned"


def test_anonymous_users_are_sent_to_sign_in(app, client):
    for path in ("/dispatches/", "/dispatches/mine", "/dispatches/1", "/dispatches/new", "/dispatches/new/preview"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path
    response = client.post("/dispatches/bulk-status", data={"status": "Cancelled"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
