"""The assignment analytics page, its CSV downloads and its drill-down links into the
work-order list, against the world of tests/analytics_support.py (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Skill
from app.services import analytics
from app.services.actors import acting_as
from tests import analytics_support as world_support
from tests import matching_support as ms
from tests.analytics_support import RANGE, t
from tests.dispatch_pages_support import html, login
from tests.factories import AdminFactory, ManagerFactory, TechnicianFactory
from tests.metric_support import assign, new_dispatch
from tests.support.query_counter import counting_queries

PAGE = "/dashboard/assignments"


@pytest.fixture
def manager(app):
    manager = ManagerFactory(name="Morgan Manager")
    with acting_as(manager):
        yield manager


@pytest.fixture
def world(manager):
    return world_support.build_world()


@pytest.fixture
def client(app, manager):
    client = app.test_client()
    login(client, manager)
    return client


def page(client, **args):
    return client.get(PAGE + "?" + urlencode({**RANGE, **args}))


def list_total(client, href: str) -> int:
    body = html(client.get(html_lib.unescape(href)))
    return int(re.search(r'<p class="summary">(\d+) dispatch', body).group(1))


def test_managers_and_admins_see_every_figure_technicians_are_refused(app, world, client):
    body = html(page(client))
    for heading in ("Dispatches by status", "Dispatches by priority", "Skill demand", "Workload per technician",
                    "Operational cost by asset type", "Operational cost by location", "Operational cost by priority",
                    "SLA compliance per day", "SLA compliance per priority", "Recent assignments"):
        assert f">{heading}</h2>" in body
    assert "5 dispatches created, 3 completed and 4 assignments made, 2026-06-10 to 2026-06-11 (UTC)" in body
    assert body.count('role="img"') == 9 and body.count("<desc id=") == 9
    assert body.count("Download CSV") == 10
    admin = app.test_client()
    login(admin, AdminFactory())
    assert admin.get(PAGE).status_code == 200
    technician = app.test_client()
    login(technician, TechnicianFactory())
    assert technician.get(PAGE).status_code == 403
    assert technician.get(PAGE + "/status.csv").status_code == 403


def test_the_page_keeps_the_content_security_policy(app, world, client):
    response = page(client)
    body = html(response)
    assert "style=" not in body and "<style" not in body
    assert re.search(r"<script(?![^>]*\bsrc=)", body) is None  # scripts only from files
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert 'viewBox="0 0 360 ' in body  # drawn for 360 units, scaled by CSS


def test_an_htmx_request_gets_the_results_region_only_and_the_form_follows_the_url(app, world, client):
    fragment = html(client.get(PAGE + "?" + urlencode(RANGE), headers={"HX-Request": "true",
                                                                       "HX-Target": "analytics-results"}))
    assert fragment.lstrip().startswith('<div id="analytics-results"')
    assert "<form" not in fragment and "Dispatches by status" in fragment
    body = html(page(client, location=world.north.id, technician=world.ann.id))
    assert f'<option value="{world.north.id}" selected>North</option>' in body
    assert f'<option value="{world.ann.id}" selected>Ann</option>' in body
    assert 'value="2026-06-10"' in body and 'hx-push-url="true"' in body


def test_empty_data_says_no_data_yet(app, manager, client):
    body = html(page(client))
    assert "No data yet: nothing was created, completed or assigned in this range." in body
    assert 'role="img"' not in body
    assert body.count("No data yet for this range.") == 10


@pytest.mark.parametrize(("args", "says"), [
    ({"range": "custom", "since": "2026-06-11", "until": "2026-06-10"},
     "until (2026-06-10) is before since (2026-06-11); choose an until on or after since."),
    ({"range": "fortnight"}, "is not a range: choose today, 7d, 30d, or custom"),
    ({"technician": "424242"}, "There is no technician #424242: choose one from the list"),
])
def test_bad_filters_get_a_400_page_that_says_how_to_fix_them(app, world, client, args, says):
    for url in (PAGE, PAGE + "/status.csv"):
        response = client.get(url + "?" + urlencode(args))
        assert response.status_code == 400
        assert says in html_lib.unescape(html(response))


def test_each_csv_has_the_figure_for_the_same_filters(app, world, client):
    response = client.get(PAGE + "/workload.csv?" + urlencode({**RANGE, "location": world.north.id}))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="assignments-workload-2026-06-10-2026-06-11.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["technician", "technician id", "assigned", "completed", "open", "estimated hours"],
                    ["Ann", str(world.ann.id), "1", "1", "0", "2.0"], ["Ben", str(world.ben.id), "1", "1", "0", "2.0"],
                    ["Cy", str(world.cy.id), "1", "0", "0", "0.0"]]
    for name in analytics.TABLES:
        download = client.get(f"{PAGE}/{name}.csv?" + urlencode(RANGE))
        assert download.status_code == 200, name
        got = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
        spec, expected = analytics.table(name, analytics.AnalyticsFilters.from_args(RANGE))
        assert got[0] == list(spec.header) and len(got) == len(expected) + 1, name
    assert client.get(PAGE + "/nothing.csv").status_code == 404


def test_every_bar_links_to_a_list_showing_the_same_count(app, world, client):
    body = html(page(client))
    links = re.findall(r'<a href="(/dispatches/\?[^"]+)" tabindex="-1" data-count="([\d,]+)">', body)
    assert len(links) == 6 + 4 + 3 + 4  # statuses, priorities, skills (and none), technicians (and nobody)
    for href, count in links:
        assert list_total(client, href) == int(count.replace(",", "")), href
    assert 'data-count="0"' in body  # an empty status still draws its row


def test_the_drill_down_agrees_under_every_filter(app, world, client):
    hydraulics = db.session.scalar(select(Skill.id).where(Skill.name == "Hydraulics"))
    for extra in ({"location": world.north.id}, {"asset_type": world.van.id}, {"skill": hydraulics},
                  {"technician": world.ben.id}):
        body = html(page(client, **extra))
        links = re.findall(r'<a href="(/dispatches/\?[^"]+)" tabindex="-1" data-count="([\d,]+)">', body)
        assert links
        for href, count in links:
            assert list_total(client, href) == int(count), (extra, href)


def test_the_page_takes_a_constant_number_of_queries(app, world, client):
    assert page(client).status_code == 200  # the first read keeps the finished days' cost sums
    with counting_queries() as few:
        assert page(client).status_code == 200
    for hour in range(10):
        technician = ms.technician(f"Extra {hour}", skills={"Hydraulics": 1})
        work = new_dispatch(t(10, hour), required_skill="Hydraulics", due_date=t(11, 0))
        assign(work, technician, t(10, hour, 10))
    with counting_queries() as many:
        assert page(client).status_code == 200
    assert len(many) == len(few), "\n".join(many)


# --- The work-order list's filters the drill-down needs ----------------------------------------


def test_the_list_filters_by_created_day_location_and_skill(app, world, client):
    def total(**args) -> int:
        return list_total(client, "/dispatches/?" + urlencode(args))

    assert total(created_from="2026-06-10", created_to="2026-06-10") == 2  # d1, d2
    assert total(created_from="2026-06-11") == 4  # d3, d4, d5 and d9 (12 June)
    assert total(created_to="2026-06-09") == 1  # d0
    assert total(location=world.south.id) == 3  # d3, d4, d9
    assert total(skill="Hydraulics") == 4  # d0, d1, d2, d5
    assert total(skill="none") == 1  # d4
    assert total(skill="hydraulics") == 0  # the stored name, exactly


def test_the_created_day_is_the_local_day(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="America/New_York")
    with app.app_context():
        manager = ManagerFactory()
        with acting_as(manager):
            new_dispatch(t(11, 3, 30))  # 23:30 on 10 June in New York
        client = app.test_client()
        login(client, manager)
        assert list_total(client, "/dispatches/?created_from=2026-06-10&created_to=2026-06-10") == 1
        assert list_total(client, "/dispatches/?created_from=2026-06-11") == 0


@pytest.mark.parametrize(("args", "says"), [
    ({"created_from": "June"}, "&#39;June&#39; is not a date: write it as YYYY-MM-DD"),
    ({"created_from": "2026-06-11", "created_to": "2026-06-10"},
     "The created-to date (2026-06-10) is before the created-from date (2026-06-11)"),
    ({"location": "x"}, "The filter &#39;location&#39; must be a whole number"),
])
def test_the_list_refuses_bad_created_dates_and_locations(app, manager, client, args, says):
    response = client.get("/dispatches/?" + urlencode(args))
    assert response.status_code == 400 and says in html(response)


def test_the_cost_split_is_drawn_and_tabled_with_records_without_parts_not_split(app, world, client):
    body = html(page(client))
    section = body[body.index('id="figure-cost-priority"'):body.index('id="figure-sla-day"')]
    # r4 (Normal, 30.0) was written before the parts were stored: not split.
    assert ("labour within the shift 150, overtime 45, travel 25, not split 30 "
            "(assignments recorded before the parts were stored)") in section
    assert ('<th scope="row">Normal</th><td class="num">2</td><td class="num">100.00</td><td class="num">50.00</td>'
            '<td class="num">50.00</td><td class="num">15.00</td><td class="num">5.00</td>'
            '<td class="num">30.00</td>') in section
    for number, name in enumerate(analytics.COST_PART_HEADERS):
        assert f'<span class="chart-key chart-key-{number}"></span>{name}</li>' in section
    assert "Normal · not split: 30.0</title>" in section and "Critical · overtime: 30.0</title>" in section
    download = client.get(PAGE + "/cost-priority.csv?" + urlencode(RANGE)).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(download)))
    assert rows[0] == ["priority", "assignments", "total cost", "average cost", "labour", "overtime", "travel",
                       "not split"]
    assert rows[-1] == ["Normal", "2", "100.0", "50.0", "50.0", "15.0", "5.0", "30.0"]
