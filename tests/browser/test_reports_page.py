"""The summary pages at phone (360 px) and desktop (1280 px) size: reached from the navigation, no sideways scroll."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import horizontal_overflow, main_nav, sign_in


def test_the_daily_and_weekly_summaries_fit_a_phone_and_a_desktop(phone, desktop, live_server, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    tess = live_data.technician(name="Tess Technician")
    truck = live_data.asset(asset_tag="TRK-0200", name="Volvo FH16 #200")
    live_data.dispatch(truck, title="Replace brake pads", status="Assigned", technician=tess, priority="High")
    live_data.dispatch(truck, title="Tow to North Depot", status="Cancelled")
    for page, size in ((phone, "360"), (desktop, "1280")):
        sign_in(page, manager)
        main_nav(page).get_by_role("link", name="Reports").click()
        expect(page).to_have_url(re.compile(r"/reports/daily/\d{4}-\d{2}-\d{2}$"))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Daily summary")
        dispatches = page.get_by_role("region", name="Dispatches")
        expect(dispatches).to_contain_text("1 cancelled")
        expect(page.get_by_role("region", name="Figures").get_by_role("row", name=re.compile("SLA compliance"))) \
            .to_contain_text("no data")
        assert horizontal_overflow(page) == 0, f"the daily summary scrolls sideways at {size} px"
        shot(page, f"daily-summary-{size}")
        page.get_by_role("link", name="Weekly summary").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Weekly summary, week")
        assert horizontal_overflow(page) == 0, f"the weekly summary scrolls sideways at {size} px"
        shot(page, f"weekly-summary-{size}")
