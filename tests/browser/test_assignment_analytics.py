"""Assignment analytics at phone (360 px) and desktop (1280 px) size: reached from the manager's
home page, its SVG charts and data tables drawn without sideways scroll, the range and location
filters swapping the figures in place with the URL following, a bar and a table link opening the
work-order list with the same filters, and a CSV download."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.support import horizontal_overflow, sign_in


def _world(live_server, live_data):
    """Five dispatches at two depots: three created today, assigned (two completed), with the
    matching engine's assignment records; two created four days ago and never assigned."""
    from app.models import Dispatch, User, utcnow
    from tests.factories import DispatchMetricFactory

    tess = live_data.technician(name="Tess Technician")
    ulf = live_data.technician(name="Ulf Underwood")
    # No detail sets: a dispatch completes without checklists to sign off.
    north = live_data.asset(asset_tag="TRK-0410", name="Volvo FH16 #410", asset_type="Tractor", detail_types=(),
                            major_location__name="North Depot")
    south = live_data.asset(asset_tag="VAN-0520", name="Ford Transit #520", asset_type="Van", detail_types=(),
                            major_location__name="South Depot")
    made = {
        "north-critical": live_data.dispatch(north, title="Replace brake pads", priority="Critical",
                                             status="Completed", technician=tess),
        "north-high": live_data.dispatch(north, title="Fix tail lift", priority="High", status="Assigned",
                                         technician=tess),
        "south-critical": live_data.dispatch(south, title="Replace windscreen", priority="Critical",
                                             status="Completed", technician=ulf),
        "north-old": live_data.dispatch(north, title="Check tyre pressure", priority="Normal"),
        "south-old": live_data.dispatch(south, title="Wash the van", priority="Low"),
    }
    with live_server.database() as session:
        for key in ("north-old", "south-old"):
            old = session.get(Dispatch, made[key].id)
            old.created_date = old.created_at = utcnow() - timedelta(days=4)
        for key, person, mode, cost, hours, sla in (("north-critical", tess, "auto", 120.0, 2.0, True),
                                                    ("north-high", tess, "manual", 80.0, 3.5, True),
                                                    ("south-critical", ulf, "auto", 200.0, 4.0, False)):
            DispatchMetricFactory(dispatch=session.get(Dispatch, made[key].id), technician=session.get(User, person.id),
                                  mode=mode, operational_cost=cost, estimated_completion_hours=hours, sla_met=sla,
                                  routing_speed_seconds=45.0)
    return made


def _summary(page):
    return page.locator("#analytics-range")


def test_the_page_draws_its_figures_filters_in_place_and_drills_down(phone, desktop, live_server, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    made = _world(live_server, live_data)
    for page, size in ((phone, "360"), (desktop, "1280")):
        sign_in(page, manager)
        page.get_by_role("main").get_by_role("link", name="Assignment analytics", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Assignment analytics")
        expect(_summary(page)).to_contain_text("5 dispatches created, 2 completed and 3 assignments made")
        # Every figure with data is an SVG chart with its data table; an empty one says so.
        for name in ("Dispatches by status", "Dispatches by priority", "Workload per technician",
                     "SLA compliance per day", "SLA compliance per priority"):
            figure = page.get_by_role("region", name=name)
            expect(figure.locator("svg[role=img]")).to_have_count(1)
            expect(figure.get_by_role("img", name=name)).to_be_visible()
            expect(figure.locator("details table")).to_have_count(1)
            box = figure.locator("svg").bounding_box()
            assert box and box["width"] <= page.viewport_size["width"], f"{name} is wider than {size} px"
        priority = page.get_by_role("region", name="Dispatches by priority")
        expect(priority.locator("svg a[data-count]")).to_have_count(4)
        expect(page.get_by_role("region", name="Workload per technician").locator("svg")) \
            .to_contain_text("Tess Technician")
        expect(page.get_by_role("region", name="Recent assignments").get_by_role("table")) \
            .to_contain_text(made["south-critical"].number)
        # A priority with nothing completed has no rate: its bar says so instead of "0 %".
        sla = page.get_by_role("region", name="SLA compliance per priority").locator("svg")
        expect(sla.locator("g.chart-row text.chart-label")).to_have_text(["Critical", "High", "Normal", "Low"])
        expect(sla.locator("g.chart-row text.chart-value")).to_have_text(["100 %", "no data", "no data", "no data"])
        assert horizontal_overflow(page) == 0, f"assignment analytics scrolls sideways at {size} px"
        shot(page, f"assignment-analytics-{size}")

        # The range, then the location: each swaps the results in place and the URL follows.
        form = page.get_by_role("search", name="Analytics filters")
        marker = page.evaluate("() => { window.__samePage = true; return window.__samePage; }")
        with page.expect_response(re.compile(r"/dashboard/assignments\?.*range=today")):
            form.get_by_label("Range").select_option("today")
        expect(page).to_have_url(re.compile(r"/dashboard/assignments\?.*range=today"))
        expect(_summary(page)).to_contain_text("3 dispatches created, 2 completed and 3 assignments made")
        north_id = form.get_by_label("Location").locator("option", has_text="North Depot").get_attribute("value")
        form.get_by_label("Location").select_option(label="North Depot")
        expect(page).to_have_url(re.compile(rf"location={north_id}(&|$)"))
        expect(_summary(page)).to_contain_text("2 dispatches created, 1 completed and 2 assignments made")
        expect(_summary(page)).to_contain_text("location North Depot")
        assert page.evaluate("() => window.__samePage") is marker, "the filter reloaded the page"
        priority = page.get_by_role("region", name="Dispatches by priority")
        expect(priority.locator("svg a[data-count='1']")).to_have_count(2)  # Critical and High, one each
        expect(page.get_by_role("region", name="Workload per technician").locator("svg")) \
            .not_to_contain_text("Ulf Underwood")
        assert horizontal_overflow(page) == 0, f"the filtered analytics scroll sideways at {size} px"
        shot(page, f"assignment-analytics-filtered-{size}")

        # Back in history gives the unfiltered range again (the pushed URLs are real entries).
        page.go_back()
        expect(page).to_have_url(re.compile(r"range=today(?!.*location=\d)"))
        expect(_summary(page)).to_contain_text("3 dispatches created")
        page.go_forward()
        expect(_summary(page)).to_contain_text("2 dispatches created")

        # The CSV beside the priority chart answers text/csv for the filters shown.
        download = priority.get_by_role("link", name="Download CSV")
        response = page.request.get(download.get_attribute("href"))
        assert response.status == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text())))
        counts = {row[0]: row[1] for row in rows[1:]}
        assert counts.get("Critical") == "1" and counts.get("High") == "1" and counts.get("Low") == "0", rows

        # Drill down: at 360 px through the data table, at 1280 px through the bar itself.
        if size == "360":
            priority.get_by_text("Data table").click()
            link = priority.get_by_role("row", name=re.compile(r"^Critical")).get_by_role("link")
        else:
            link = priority.locator("svg a[data-count]").filter(has=page.locator("title", has_text="Critical"))
        with page.expect_navigation():
            link.click()
        expect(page).to_have_url(re.compile(rf"/dispatches/\?.*location={north_id}.*priority=Critical"))
        table = page.locator("#dispatch-table")
        expect(table).to_contain_text("1 dispatch")
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text(made["north-critical"].number)
        expect(page.get_by_label("Priority", exact=True)).to_have_value("Critical")
        assert horizontal_overflow(page) == 0
