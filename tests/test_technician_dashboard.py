"""The technician dashboard and the figures on My work, against hand-computed fixtures.

"Now" is Wednesday 10 June 2026 12:00 UTC (the organisation's zone is UTC in tests); the
dashboard's figures look back seven days from it, to Wednesday 3 June 12:00.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest

from app.extensions import db
from app.models import Availability
from app.models.base import clock_at
from app.services import dashboards, metrics
from app.services import dispatches as dispatch_service
from app.services.actors import acting_as
from tests import matching_support as ms
from tests.factories import DispatchMetricFactory, ManagerFactory, TechnicianFactory
from tests.metric_support import assign, new_dispatch
from tests.support.query_counter import counting_queries

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday
WEDNESDAYS = dict(shift_days="3", shift_start=time(7), shift_end=time(17))
PASSWORD = "correct horse battery"


def at(hours: float) -> datetime:
    return NOW + timedelta(hours=hours)


@pytest.fixture
def manager(app):
    manager = ManagerFactory(name="Morgan Manager")
    with acting_as(manager):
        yield manager


def move(dispatch, status: str, when: datetime):
    with clock_at(when):
        dispatch_service.change_status(dispatch, status)


def by_name(rows) -> dict[str, metrics.TechnicianNow]:
    return {row.name: row for row in rows}


def get(client, user, url: str, **headers):
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    with clock_at(NOW):
        return client.get(url, headers=headers)


# --- State --------------------------------------------------------------------------------


def test_each_state_is_derived_from_availability_open_work_and_shift(app, manager):
    free = ms.technician("Free")
    ms.technician("Full", max_concurrent=1, active_dispatch_count=1)  # at capacity, nothing to show
    assigned, en_route, on_site = ms.technician("Assigned"), ms.technician("En Route"), ms.technician("On Site")
    ms.technician("Away", availability=Availability.UNAVAILABLE.value, unavailable_reason="Training",
                  unavailable_until=at(24))
    ms.technician("Back", availability=Availability.UNAVAILABLE.value, unavailable_reason="Was ill",
                  unavailable_until=at(-1))  # the date has passed: available again, as the engine reads it
    ms.technician("Mondays", shift_days="1", shift_start=time(7), shift_end=time(17))
    for technician, steps in ((assigned, ()), (en_route, ("En Route",)), (on_site, ("En Route", "In Progress"))):
        work = new_dispatch(at(-3), priority="High")
        assign(work, technician, at(-2))
        for step in steps:
            move(work, step, at(-1))
    both = new_dispatch(at(-3), priority="Critical")  # a second dispatch does not hide the started one
    assign(both, on_site, at(-2))

    rows = by_name(metrics.technicians_now(NOW, figures=False))

    assert {name: row.state for name, row in rows.items()} == {
        "Free": "available", "Full": "assigned", "Assigned": "assigned", "En Route": "en route",
        "On Site": "on site", "Away": "unavailable", "Back": "available", "Mondays": "off shift",
    }
    assert rows["Away"].unavailable_reason == "Training"
    assert rows["Away"].unavailable_until.replace(tzinfo=UTC) == at(24)
    assert rows["Back"].unavailable_reason is None
    assert rows["Mondays"].shift == "off today"
    assert rows["Free"].shift == "on shift"
    assert rows["On Site"].open_by_priority == {"Critical": 1, "High": 1}
    assert rows["Free"].open_by_priority == {}
    assert metrics.state_counts(list(rows.values())) == {
        "on site": 1, "en route": 1, "assigned": 2, "available": 2, "off shift": 1, "unavailable": 1}
    assert free.id == rows["Free"].technician_id


def test_an_off_shift_technician_with_work_not_started_is_off_shift_and_one_who_started_is_not(app, manager):
    waiting = ms.technician("Waiting", shift_days="3", shift_start=time(7), shift_end=time(11))
    driving = ms.technician("Driving", shift_days="3", shift_start=time(7), shift_end=time(11))
    for technician, steps in ((waiting, ()), (driving, ("En Route",))):
        work = new_dispatch(at(-5))
        assign(work, technician, at(-4))
        for step in steps:
            move(work, step, at(-3))
    rows = by_name(metrics.technicians_now(NOW, figures=False))
    assert (rows["Waiting"].state, rows["Driving"].state) == ("off shift", "en route")
    assert rows["Waiting"].shift == "off shift (done for today)"


# --- Figures ------------------------------------------------------------------------------


def _week_of_work(manager):
    """Ada works Wednesdays 07–17: 5 h of last Wednesday's shift and 5 h of today's are in the
    seven days, 10 h. She completes five dispatches of 1.5 h estimated, each worked 1 h, one of
    them held by Bo first (not a first-time fix). Her latest assignment record raised the
    burnout alert at risk 0.85; an earlier one did not."""
    ada = ms.technician("Ada", max_concurrent=10, max_hours_per_week=38, **WEDNESDAYS)
    bo = ms.technician("Bo", max_concurrent=10, **WEDNESDAYS)
    for i in range(5):
        start = at(-6 + i)
        work = new_dispatch(at(-30), estimated_duration_hours=1.5)
        if i == 0:
            assign(work, bo, start - timedelta(minutes=30))
        assign(work, ada, start)
        move(work, "In Progress", start)
        move(work, "Completed", start + timedelta(hours=1))
    old = new_dispatch(at(-24 * 9), estimated_duration_hours=8.0)  # before the seven days
    assign(old, ada, at(-24 * 8))
    move(old, "In Progress", at(-24 * 8))
    move(old, "Completed", at(-24 * 8 + 1))
    DispatchMetricFactory(created_at=at(-3), technician=ada, burnout_alert=False, burnout_risk=0.5)
    DispatchMetricFactory(created_at=at(-2), technician=ada, burnout_alert=True, burnout_risk=0.85)
    return ada, bo


def test_each_figure_against_a_hand_computed_week(app, manager):
    ada, bo = _week_of_work(manager)
    rows = by_name(metrics.technicians_now(NOW))

    a, b = rows["Ada"], rows["Bo"]
    assert a.utilisation == metrics.TechnicianUtilisation(ada.id, "Ada", 7.5, 10.0)
    assert a.utilisation_rate == 75.0
    assert (a.hours_this_week, a.max_hours_per_week) == (5.0, 38.0)
    assert (a.first_time_fix.count, a.first_time_fix.hits, a.first_time_fix_rate) == (5, 4, 80.0)
    assert (a.burnout_alert, a.burnout_risk) == (True, 0.85)
    # Bo: his one assignment moved to Ada, so nothing booked over 10 shift hours: a real 0 %.
    assert (b.utilisation_rate, b.hours_this_week) == (0.0, 0.0)
    assert (b.first_time_fix, b.first_time_fix_rate, b.burnout_alert, b.burnout_risk) == (None, None, None, None)


def test_one_technicians_figures_are_their_row_of_the_fleets(app, manager):
    ada, bo = _week_of_work(manager)
    fleet = by_name(metrics.technicians_now(NOW))
    assert metrics.technicians_now(NOW, technician_id=ada.id) == [fleet["Ada"]]
    assert metrics.technicians_now(NOW, technician_id=bo.id) == [fleet["Bo"]]


def test_a_page_of_the_dashboard_has_the_fleets_figures_for_its_technicians_only(app, manager):
    ada, bo = _week_of_work(manager)
    fleet = by_name(metrics.technicians_now(NOW))
    # One per page: each page's row has the figures the whole fleet's reading gives it
    # (burnout from Ada's latest record, Bo's none), though only its technician was read.
    for number in (1, 2):
        page, _ = dashboards.technician_page(dashboards.TechnicianFilters(page=number), per_page=1, now=NOW)
        (row,) = page.items
        assert row == fleet[row.name]
    page, _ = dashboards.technician_page(dashboards.TechnicianFilters(), now=NOW)
    assert {t.name: t for t in page.items} == fleet
    assert fleet["Ada"].burnout_alert is True and fleet["Ada"].utilisation_rate == 75.0
    assert metrics.with_figures([], NOW) == []


def test_the_figures_are_the_alert_checks_figures(app, manager):
    _week_of_work(manager)
    window = metrics.window_ending(NOW, hours=metrics.TECHNICIAN_WINDOW_HOURS)
    rows = by_name(metrics.technicians_now(NOW))
    for figure in metrics.utilisation(window).technicians:
        assert rows[figure.name].utilisation == figure
    for figure in metrics.first_time_fix(window).technicians:
        assert rows[figure.name].first_time_fix == figure
    at_risk = {t.name for t in metrics.burnout(window).technicians}
    assert at_risk == {name for name, row in rows.items() if row.burnout_alert}


def test_the_page_shows_each_figure(app, client, manager):
    _week_of_work(manager)
    body = get(client, manager, "/dashboard/technicians").get_data(as_text=True)
    ada_row = re.search(r"<tr>\s*<th scope=\"row\"><span class=\"long-text\">Ada</span>.*?</tr>", body, re.S).group(0)
    assert "75 %" in ada_row
    assert "5.0 of 38 h" in ada_row
    assert "at risk · 85 %" in ada_row
    assert "80 % <small>(4 of 5)</small>" in ada_row


def test_without_data_the_figures_say_no_data_never_zero_per_cent(app, client, manager):
    ms.technician("Nova", **WEDNESDAYS)
    one = ms.technician("Once", max_concurrent=10, **WEDNESDAYS)
    work = new_dispatch(at(-5))
    assign(work, one, at(-4))
    move(work, "In Progress", at(-3))
    move(work, "Completed", at(-2))
    rows = by_name(metrics.technicians_now(NOW))
    assert rows["Nova"].first_time_fix_rate is None and rows["Nova"].burnout_alert is None
    assert rows["Once"].first_time_fix.count == 1 and rows["Once"].first_time_fix_rate is None  # below the sample

    body = get(client, manager, "/dashboard/technicians").get_data(as_text=True)
    nova = re.search(r"Nova</span>.*?</tr>", body, re.S).group(0)
    assert nova.count("no data") == 2  # burnout and first-time fix; utilisation is a real 0 %
    once = re.search(r"Once</span>.*?</tr>", body, re.S).group(0)
    assert "no data</span> <small>(1 of 5 needed)</small>" in once


def test_with_no_technician_at_all_the_page_says_so(app, client, manager):
    response = get(client, manager, "/dashboard/technicians")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No technician matches." in body
    assert metrics.technicians_now(NOW) == []


# --- Filters, order, paging --------------------------------------------------------------


def test_sorted_by_state_then_name_filtered_by_state_and_name_and_paged(app, manager):
    ms.technician("Zed")
    ms.technician("amy")
    ms.technician("Off Olga", shift_days="1", shift_start=time(7), shift_end=time(17))
    worker = ms.technician("Busy Bea")
    work = new_dispatch(at(-3))
    assign(work, worker, at(-2))

    page, counts = dashboards.technician_page(dashboards.TechnicianFilters(), now=NOW)
    assert [t.name for t in page.items] == ["Busy Bea", "amy", "Zed", "Off Olga"]
    assert (counts["assigned"], counts["available"], counts["off shift"]) == (1, 2, 1)

    page, _ = dashboards.technician_page(dashboards.TechnicianFilters(state="available"), now=NOW)
    assert [t.name for t in page.items] == ["amy", "Zed"]
    page, _ = dashboards.technician_page(dashboards.TechnicianFilters(q="OLG"), now=NOW)
    assert [t.name for t in page.items] == ["Off Olga"]
    page, _ = dashboards.technician_page(dashboards.TechnicianFilters(page=2), per_page=3, now=NOW)
    assert ([t.name for t in page.items], page.pages) == (["Off Olga"], 2)
    page, _ = dashboards.technician_page(dashboards.TechnicianFilters(page=9), per_page=3, now=NOW)
    assert page.page == 2  # past the end: the last page


def test_the_url_carries_the_filters_and_htmx_gets_the_table_only(app, client, manager):
    ms.technician("Amy")
    ms.technician("Zed")
    full = get(client, manager, "/dashboard/technicians?state=available&q=am").get_data(as_text=True)
    assert '<option value="available" selected>' in full and 'value="am"' in full
    assert "Amy</span>" in full and "Zed</span>" not in full
    part = get(client, manager, "/dashboard/technicians?q=ze", **{"HX-Request": "true", "HX-Target": "technician-table"})
    text = part.get_data(as_text=True)
    assert text.lstrip().startswith('<div id="technician-table">') or '<div id="technician-table">' in text[:400]
    assert "<html" not in text and "Zed</span>" in text and "Amy</span>" not in text
    assert "HX-Request" in part.headers["Vary"]


def test_an_unknown_state_is_ignored_and_bad_input_is_refused_saying_why(app, client, manager):
    ms.technician("Amy")
    assert "Amy</span>" in get(client, manager, "/dashboard/technicians?state=asleep").get_data(as_text=True)
    bad_page = get(client, manager, "/dashboard/technicians?page=two")
    assert bad_page.status_code == 400
    assert "The page must be a whole number" in bad_page.get_data(as_text=True)
    long_search = get(client, manager, "/dashboard/technicians?q=" + "x" * 101)
    assert long_search.status_code == 400
    assert "The name search" in long_search.get_data(as_text=True)


# --- Tiles --------------------------------------------------------------------------------


def test_the_tiles_count_open_work_the_queue_free_technicians_and_work_past_sla(app, client, manager):
    ms.technician("Free")
    busy = ms.technician("Busy")
    waiting = new_dispatch(at(-5), priority="High", due_date=at(-1))  # waiting and past its SLA
    held = new_dispatch(at(-5))
    assign(held, busy, at(-4))
    move(held, "En Route", at(-3))
    db.session.commit()
    assert waiting.assigned_user_id is None

    with clock_at(NOW):
        tiles = dashboards.tiles(manager)
    assert tiles.open_by_status == {"Created": 1, "Assigned": 0, "En Route": 1, "In Progress": 0}
    assert (tiles.waiting, tiles.free_now, tiles.past_sla) == (1, 1, 1)

    response = get(client, manager, "/dashboard/technicians/tiles")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body
    assert 'hx-trigger="poll" data-poll-seconds="30"' in body
    assert '<strong>1</strong> waiting for a technician' in body
    assert 'href="/dispatches/?status=Created&amp;technician=none"' in body
    assert 'href="/dashboard/technicians?state=available"><strong>1</strong> technician free now' in body
    assert 'href="/dispatches/?due=overdue"><strong>1</strong> open past SLA' in body
    assert 'href="/dispatches/?status=En+Route"><strong>1</strong>' in body


def test_an_empty_fleet_has_zero_tiles(app, client, manager):
    body = get(client, manager, "/dashboard/technicians/tiles").get_data(as_text=True)
    assert "<strong>0</strong> waiting for a technician" in body
    assert "<strong>0</strong> technicians free now" in body


# --- Roles and navigation -----------------------------------------------------------------


def test_technicians_may_not_open_the_dashboard_and_managers_find_it_on_their_home_page(app, client, manager):
    technician = TechnicianFactory()
    for url in ("/dashboard/technicians", "/dashboard/technicians/tiles"):
        assert get(client, technician, url).status_code == 403
    home = get(client, technician, "/").get_data(as_text=True)
    assert 'href="/dashboard/technicians"' not in home
    client.post("/auth/logout")
    home = get(client, manager, "/").get_data(as_text=True)
    assert '<a class="button" href="/dashboard/technicians">Technicians</a>' in home
    assert '<nav aria-label="Main"' in home and 'href="/dashboard/technicians"' not in home.split('<main')[0]


# --- Queries ------------------------------------------------------------------------------


def _crew(n: int, manager) -> None:
    for i in range(n):
        technician = ms.technician(max_concurrent=10)
        work = new_dispatch(at(-6), priority=("High", "Low")[i % 2])
        assign(work, technician, at(-5))
        move(work, "In Progress", at(-4))
        move(work, "Completed", at(-3))
        open_work = new_dispatch(at(-6))
        assign(open_work, technician, at(-2))
        DispatchMetricFactory(created_at=at(-2), technician=technician, burnout_alert=bool(i % 3), burnout_risk=0.7)


def test_the_page_and_the_tiles_use_the_same_number_of_queries_for_3_and_30_technicians(app, client, manager):
    counts = []
    for added in (3, 27):  # 3 technicians, then 30
        _crew(added, manager)
        db.session.commit()
        client.post("/auth/login", data={"email": manager.email, "password": PASSWORD})
        with clock_at(NOW):
            with counting_queries() as page:
                assert client.get("/dashboard/technicians").status_code == 200
            with counting_queries() as tiles:
                assert client.get("/dashboard/technicians/tiles").status_code == 200
        counts.append((len(page), len(tiles)))
    assert counts[0] == counts[1]


# --- My work ------------------------------------------------------------------------------


def test_a_technician_sees_their_own_figures_on_my_work(app, client, manager):
    ada, _ = _week_of_work(manager)
    body = get(client, ada, "/dispatches/mine").get_data(as_text=True)
    section = re.search(r'<section class="card my-figures".*?</section>', body, re.S).group(0)
    assert "75 %" in section
    assert "5.0 of 38 h" in section
    assert "at risk · 85 %" in section
    assert "80 % <small>(4 of 5)</small>" in section
    assert "Bo" not in section


def test_a_technician_without_data_reads_no_data_on_my_work(app, client, manager):
    nova = ms.technician("Nova", **WEDNESDAYS)
    body = get(client, nova, "/dispatches/mine").get_data(as_text=True)
    section = re.search(r'<section class="card my-figures".*?</section>', body, re.S).group(0)
    assert section.count("no data") == 2
    assert "0.0 of 40 h" in section
