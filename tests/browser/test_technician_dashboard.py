"""The technician dashboard at phone (360 px) and desktop (1280 px) size: reached from the
manager's home page, no sideways scroll, the filter swaps the table in place and the tiles refresh."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import horizontal_overflow, sign_in


def test_the_dashboard_fits_filters_in_place_and_its_tiles_refresh(phone, desktop, live_server, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    tess = live_data.technician(name="Tess Technician")
    live_data.technician(name="Theodora Maximiliana Wolfeschlegelsteinhausen-Bergerdorff")
    live_data.technician(name="Ulf Unavailable")
    truck = live_data.asset(asset_tag="TRK-0300", name="Volvo FH16 #300")
    live_data.dispatch(truck, title="Replace brake pads", status="In Progress", technician=tess, priority="Critical")
    live_data.dispatch(truck, title="Check lights", status="Created", priority="High")
    for page, size in ((phone, "360"), (desktop, "1280")):
        sign_in(page, manager)
        page.get_by_role("main").get_by_role("link", name="Technicians", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Technicians")
        board = page.get_by_role("region", name="Every technician")
        tess_row = board.get_by_role("row", name=re.compile("Tess Technician"))
        expect(tess_row).to_contain_text("on site")
        expect(tess_row).to_contain_text("Critical 1")
        tiles = page.get_by_role("region", name=re.compile("^Now"))
        expect(tiles).to_contain_text(re.compile(r"\d+\s+waiting for a technician"))
        waiting = int(re.search(r"(\d+)\s+waiting", tiles.inner_text()).group(1))
        expect(tiles).to_contain_text(re.compile(r"2\s+technicians free now"))
        assert horizontal_overflow(page) == 0, f"the technician dashboard scrolls sideways at {size} px"
        shot(page, f"technician-dashboard-{size}")

        # The state filter swaps the table in place and the URL follows it.
        page.get_by_label("State").select_option("available")
        expect(page).to_have_url(re.compile(r"state=available"))
        expect(board.get_by_role("row", name=re.compile("Tess Technician"))).to_have_count(0)
        expect(board).to_contain_text("2 technicians available")
        page.get_by_label("Name").fill("ulf")
        expect(page).to_have_url(re.compile(r"q=ulf"))
        expect(board).to_contain_text("1 technician available named like")
        assert horizontal_overflow(page) == 0

        # The tiles ask for themselves again (app.js sends "poll" every 30 s; sent here at once).
        live_data.dispatch(truck, title=f"Wash at {size}", status="Created", priority="Low")
        with page.expect_response(re.compile(r"/dashboard/technicians/tiles$")):
            page.evaluate("htmx.trigger(document.getElementById('live-tiles'), 'poll')")
        expect(page.get_by_role("region", name=re.compile("^Now"))).to_contain_text(
            re.compile(rf"{waiting + 1}\s+waiting for a technician"))
        assert horizontal_overflow(page) == 0
        shot(page, f"technician-dashboard-filtered-{size}")


@pytest.mark.live_config(DASHBOARD_TILES_REFRESH_SECONDS=0.5)
def test_the_tiles_poll_by_themselves_and_wait_while_the_tab_is_hidden(desktop, live_server, live_data):
    manager = live_data.manager(name="Morgan Manager")
    sign_in(desktop, manager)
    desktop.goto(live_server.absolute("/dashboard/technicians"))
    live_data.dispatch(title="Arrives while watching", status="Created")
    # Every 0.5 s here: the tiles fetch themselves and show the new dispatch without a reload.
    expect(desktop.get_by_role("region", name=re.compile("^Now"))).to_contain_text(re.compile(r"[1-9]\d*\s+waiting for a technician"))
    requests: list[str] = []
    desktop.on("request", lambda request: requests.append(request.url) if "/tiles" in request.url else None)
    desktop.evaluate("""() => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => window.__visibility});
        window.__visibility = 'hidden';
    }""")
    desktop.wait_for_timeout(600)  # a request already on its way may still be counted
    requests.clear()
    desktop.wait_for_timeout(1600)
    assert requests == [], "the tiles polled while the tab was hidden"
    with desktop.expect_response(re.compile(r"/dashboard/technicians/tiles$")):
        desktop.evaluate("() => { window.__visibility = 'visible'; document.dispatchEvent(new Event('visibilitychange')); }")


def test_the_trends_chart_loads_after_the_page_and_fits_a_phone(phone, desktop, live_server, live_data, shot):
    from datetime import timedelta

    from app.models import utcnow
    from tests.factories import DispatchMetricFactory

    manager = live_data.manager(name="Morgan Manager")
    with live_server.database():
        for days_ago, routing, hours in ((1, 40.0, 2.0), (1, 90.0, 3.5), (3, 20.0, 1.0), (6, 150.0, 5.0)):
            DispatchMetricFactory(created_at=utcnow() - timedelta(days=days_ago), routing_speed_seconds=routing,
                                  estimated_completion_hours=hours)
    for page, size in ((phone, "360"), (desktop, "1280")):
        sign_in(page, manager)
        with page.expect_response(re.compile(r"/dashboard/technicians/trends$")):
            page.goto(live_server.absolute("/dashboard/technicians"))
        trends = page.get_by_role("region", name=re.compile("^Trends"))
        routing = trends.get_by_role("img", name="Routing speed per day, p50 and p95")
        expect(routing).to_be_visible()
        expect(trends.get_by_role("img", name="Estimated completion per day, p50 and p95")).to_be_visible()
        expect(routing.locator("polyline")).to_have_count(6)  # p50 and p95 of three days apart: no line joins them
        expect(trends.get_by_role("link", name="Download these figures (CSV)")).to_be_visible()
        expect(trends.get_by_role("table")).to_have_count(0)  # folded until asked for
        trends.get_by_text("The figures per day", exact=True).click()
        expect(trends.get_by_role("table")).to_contain_text("90 s")
        trends.scroll_into_view_if_needed()
        assert horizontal_overflow(page) == 0, f"the trends scroll sideways at {size} px"
        box = routing.bounding_box()
        assert box and box["width"] <= page.viewport_size["width"]
        shot(page, f"technician-trends-{size}")
