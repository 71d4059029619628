"""The scheduler page in a real browser at 360 and 1280 px: nothing scrolls sideways, a refusal shows at its job."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.support import horizontal_overflow, sign_in


def test_the_scheduler_page_fits_a_phone_and_a_desktop_and_edits_a_schedule(
    phone, desktop, live_server, live_data, shot
):
    admin = live_data.admin()
    sign_in(desktop, admin)
    desktop.goto("/admin/scheduler")
    expect(desktop.get_by_role("heading", name="Scheduler", level=1)).to_be_visible()
    desktop.get_by_role("button", name="Run now retention").click()
    expect(desktop.locator("#flashes")).to_contain_text("retention succeeded")
    expect(desktop.locator("#job-runs")).to_contain_text("deleted 0 ended sessions")
    shot(desktop, "scheduler-1280")
    assert horizontal_overflow(desktop) == 0

    card = desktop.get_by_role("region", name="alert-check")
    card.get_by_label("Every (minutes)").fill("0")
    card.get_by_role("button", name="Save the schedule of alert-check").click()
    card = desktop.get_by_role("region", name="alert-check")
    expect(card.get_by_role("alert")).to_contain_text("whole number from 1 to 1440")
    expect(card.get_by_label("Every (minutes)")).to_have_attribute("aria-invalid", "true")
    card.get_by_label("Every (minutes)").fill("15")
    card.get_by_role("button", name="Save the schedule of alert-check").click()
    expect(desktop.get_by_role("region", name="alert-check")).to_contain_text("every 15 min")

    sign_in(phone, admin)
    phone.goto("/admin/scheduler")
    expect(phone.get_by_role("heading", name="Scheduler", level=1)).to_be_visible()
    shot(phone, "scheduler-360")
    assert horizontal_overflow(phone) == 0
