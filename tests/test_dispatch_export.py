"""The work-order list's CSV export: the list's rows for its filters, streamed, formulas neutralised."""

from __future__ import annotations

import csv
import io
from html import unescape
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Dispatch, utcnow
from tests.dispatch_pages_support import html, login, make_dispatch, titles_in
from tests.factories import AssetFactory, ManagerFactory, TechnicianFactory


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def fleet(app, manager):
    tess, otto = TechnicianFactory(name="Tess Tech"), TechnicianFactory(name="Otto Other")
    truck = AssetFactory(asset_tag="TRK-0100", name="Blue truck")
    made = {
        "created": make_dispatch("Job created", priority="Low", asset=truck),
        "assigned": make_dispatch("Job assigned", "Assigned", tess, by=manager, priority="High", asset=truck),
        "progress": make_dispatch("Job in progress", "In Progress", otto, by=manager, priority="Critical"),
        "formula": make_dispatch("=HYPERLINK(\"http://evil.example\",\"Job\")", "Assigned", tess, by=manager),
        "later": make_dispatch("Job next week", priority="Normal", due_date=utcnow() + timedelta(days=5)),
    }
    db.session.commit()
    return {"tess": tess, "otto": otto, **made}


def exported(client, query: str = "") -> list[dict]:
    response = client.get("/dispatches/export.csv" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="work-orders.csv"'
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("query", ["", "?status=Assigned", "?priority=Critical", "?q=job&sort=title",
                                   "?technician=none", "?sort=-technician", "?asset=TRK-0100&sort=asset"])
def test_the_export_holds_the_lists_rows_for_the_same_filters_in_the_same_order(app, client, manager, fleet, query):
    login(client, manager)
    shown = titles_in(html(client.get("/dispatches/" + query)))
    rows = exported(client, query)
    assert [row["Title"] for row in rows if row["Title"].startswith("Job")] == shown
    assert len(rows) == len(shown) + sum(row["Title"].startswith("'=") for row in rows)


def test_each_column_is_written_as_a_manager_reads_it(app, client, manager, fleet):
    login(client, manager)
    row = next(r for r in exported(client) if r["Title"] == "Job assigned")
    work = db.session.get(Dispatch, fleet["assigned"].id)
    assert (row["Number"], row["Status"], row["Priority"], row["Asset"], row["Technician"]) == (
        work.dispatch_number, "Assigned", "High", "TRK-0100", "Tess Tech")
    assert row["Location"] == (work.major_location.name if work.major_location else "")
    created = next(key for key in row if key.startswith("Created ("))
    assert created == "Created (UTC)"  # the display zone, named in the header
    assert row[created] == work.created_date.strftime("%Y-%m-%d %H:%M")
    assert row["Completed (UTC)"] == "" and row["SLA due (UTC)"] == work.sla_due_at.strftime("%Y-%m-%d %H:%M")


def test_the_export_speaks_the_users_zone(app, client, manager, fleet):
    manager.time_zone = "America/New_York"
    db.session.commit()
    login(client, manager)
    work = db.session.get(Dispatch, fleet["created"].id)
    row = next(r for r in exported(client) if r["Title"] == "Job created")
    from zoneinfo import ZoneInfo

    from app.services.local_time import to_local

    assert row["Created (America/New_York)"] == to_local(work.created_date, ZoneInfo("America/New_York")).strftime(
        "%Y-%m-%d %H:%M")


def test_a_title_that_is_a_formula_is_written_as_text(app, client, manager, fleet):
    login(client, manager)
    body = client.get("/dispatches/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK(" in body
    assert '\n"=HYPERLINK' not in body and ",=HYPERLINK" not in body and ',"=HYPERLINK' not in body


def test_a_technician_exports_their_own_work_only(app, client, manager, fleet):
    login(client, fleet["tess"])
    rows = exported(client)
    assert sorted(row["Title"] for row in rows) == sorted(["Job assigned", "'=HYPERLINK(\"http://evil.example\",\"Job\")"])
    assert {row["Technician"] for row in rows} == {"Tess Tech"}
    # another technician's filter does not widen what they see
    assert exported(client, f"?technician={fleet['otto'].id}") == []


@pytest.mark.parametrize("query, message", [("?page=two", "must be a whole number"),
                                            ("?q=" + "x" * 201, "The filter 'q'"),
                                            ("?technician=abc", "must be a whole number")])
def test_bad_filters_are_the_lists_400_before_any_csv(app, client, manager, fleet, query, message):
    login(client, manager)
    listing = client.get("/dispatches/" + query)
    export = client.get("/dispatches/export.csv" + query)
    assert listing.status_code == export.status_code == 400
    assert message in unescape(export.get_data(as_text=True))
    assert export.mimetype == "text/html"


def test_the_list_links_to_the_export_with_its_filters(app, client, manager, fleet):
    login(client, manager)
    body = html(client.get("/dispatches/?status=Assigned&sort=title&page=1"))
    assert 'href="/dispatches/export.csv?status=Assigned&amp;sort=title" download>Export CSV</a>' in body
    part = client.get("/dispatches/?priority=High", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'href="/dispatches/export.csv?priority=High" download>Export CSV</a>' in part
