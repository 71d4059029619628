"""The webhooks page in a real browser: creating shows the secret once, pausing swaps the list, 360 px fits."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import horizontal_overflow, sign_in


def test_a_subscription_is_created_paused_and_its_log_read_on_a_phone(phone, desktop, live_server, live_data, shot):
    sign_in(phone, live_data.admin())
    phone.goto("/admin/webhooks")
    expect(phone.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()
    phone.get_by_label("URL", exact=True).fill("https://hooks.example.com/motorpool/a-rather-long-path-for-a-phone")
    phone.get_by_label("Description").fill("Fleet ERP")
    phone.get_by_label("Assigned").check()
    phone.get_by_role("button", name="Create subscription").click()
    secret = phone.get_by_role("textbox", name="Secret")
    expect(secret).to_have_value(re.compile(r"^whsec_"))
    assert horizontal_overflow(phone) == 0
    shot(phone, "webhooks-created-360")

    row = phone.locator("#webhook-table tr[data-subscription]")
    row.get_by_role("button", name="Pause").click()  # htmx: the list is swapped in place
    expect(phone.locator("#webhook-table")).to_contain_text("Paused")
    expect(secret).to_be_visible()  # the page around the list stayed as it was
    phone.goto("/admin/webhooks")
    expect(phone.get_by_role("textbox", name="Secret")).to_have_count(0)
    row.get_by_role("link", name="Log").click()
    expect(phone.get_by_role("heading", name="Deliveries of subscription")).to_be_visible()
    assert horizontal_overflow(phone) == 0
    shot(phone, "webhook-log-360")

    sign_in(desktop, live_data.admin())
    desktop.goto("/admin/webhooks")
    assert horizontal_overflow(desktop) == 0
    shot(desktop, "webhooks-1280")
