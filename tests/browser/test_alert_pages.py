"""The alert list and the alerting settings in a real browser, at 360 and 1280 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.services import alerting
from tests.browser.support import horizontal_overflow, main_nav, sign_in


def _raise_alerts(live_server) -> None:
    with live_server.database():
        alerting.raise_alert("fallback_routing", "warning",
                             "Fallback routing used for DSP-000123 (declined by a technician with a long name, "
                             "Bartholomew Featherstonehaugh-Worthington); 1 in the last 24 h", value=1)
        alerting.raise_alert("fallback_routing", "critical", "Fallback routing used many times", value=9,
                             subject="region:north", subject_label="North region")


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_a_manager_acknowledges_and_silences_on_the_alert_list(new_context, live_server, live_data, shot, device):
    _raise_alerts(live_server)
    page = new_context(device).new_page()
    sign_in(page, live_data.manager())
    expect(main_nav(page).get_by_role("link", name="Alerts 2 firing")).to_be_visible()
    main_nav(page).get_by_role("link", name="Alerts 2 firing").click()
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    table = page.get_by_role("region", name="Open alerts")
    expect(table.get_by_role("row")).to_have_count(3)
    shot(page, f"alerts-{device}")
    assert horizontal_overflow(page) == 0

    first = table.get_by_role("row").filter(has_text="North region")
    first.get_by_role("button", name="Acknowledge").click()
    expect(first).to_contain_text("Acknowledged")
    expect(first.get_by_role("button", name="Acknowledge")).to_have_count(0)

    silences = page.get_by_role("region", name="Silences")
    silences.get_by_role("button", name="Silence").click()
    expect(silences.get_by_role("alert")).to_contain_text("Say why the category is silenced")
    silences.get_by_label("Reason").fill("Fleet move this week")
    silences.get_by_role("button", name="Silence").click()
    expect(silences).to_contain_text("Fleet move this week")
    shot(page, f"alerts-silenced-{device}")
    assert horizontal_overflow(page) == 0
    silences.get_by_role("button", name="Lift").click()
    expect(silences).to_contain_text("No active silences.")


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_an_admin_changes_thresholds_and_settings_and_sees_refusals(new_context, live_server, live_data, shot,
                                                                      device):
    page = new_context(device).new_page()
    sign_in(page, live_data.admin())
    page.goto("/alerts/settings")
    expect(page.get_by_role("heading", name="Alerting settings")).to_be_visible()
    shot(page, f"settings-{device}")
    assert horizontal_overflow(page) == 0

    page.get_by_label("Suppression window (minutes)").fill("-1")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("alert").first).to_contain_text("must be from 0 to 1440 minutes, not -1")
    shot(page, f"settings-refused-{device}")
    assert horizontal_overflow(page) == 0
    page.get_by_label("Suppression window (minutes)").fill("20")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Alert settings saved.")).to_be_visible()

    page.get_by_role("link", name="Change Fallback routing").click()
    page.get_by_label("Critical threshold").fill("0")
    page.get_by_role("button", name="Save thresholds").click()
    expect(page.get_by_role("alert").first).to_contain_text("must be higher than the warning one")
    page.get_by_label("Critical threshold").fill("3")
    page.get_by_role("button", name="Save thresholds").click()
    expect(page.get_by_text("Thresholds of Fallback routing saved.")).to_be_visible()
