"""The delivery log and the channels page in a real browser: readable on a phone and at 1280 px."""

from __future__ import annotations

from playwright.sync_api import expect

from app.models import NotificationDelivery
from tests.browser.support import horizontal_overflow, sign_in


def _dead_letter(live_server) -> str:
    with live_server.database() as session:
        row = NotificationDelivery(
            public_id="3b1f6c5e-8d7a-4c1e-9a0b-2f4d6e8a1c3b", channel="webhook", kind="alert.firing",
            severity="critical", category="sla_compliance", status="dead", attempts=6,
            notification={"kind": "alert.firing", "subject": "SLA compliance critically low at 68.5%", "body": "",
                          "recipients": [], "roles": [], "severity": "critical", "category": "sla_compliance",
                          "dispatch_number": None, "html": None, "data": {}},
            last_error="RetryableDeliveryError: webhook answered 503 Service Unavailable; the receiver was down "
                       "for maintenance and every try in the schedule failed",
        )
        session.add(row)
        return row.public_id


def test_the_delivery_log_shows_a_dead_letter_and_retries_it_on_a_phone(phone, live_server, live_data, shot):
    public_id = _dead_letter(live_server)
    sign_in(phone, live_data.admin())
    phone.goto("/admin/deliveries")
    row = phone.locator(f'tr[data-delivery="{public_id}"]')
    expect(row).to_contain_text("webhook answered 503")
    shot(phone, "deliveries-360")
    assert horizontal_overflow(phone) == 0
    row.get_by_role("button", name="Retry now").click()
    expect(phone.locator("#flashes")).to_contain_text("is due again now")
    expect(phone.locator(f'tr[data-delivery="{public_id}"]')).to_contain_text("pending")


def test_the_channels_page_fits_and_refuses_a_bad_address_in_place(desktop, phone, live_server, live_data, shot):
    admin = live_data.admin()
    for page, name in ((desktop, "channels-1280"), (phone, "channels-360")):
        sign_in(page, admin)
        page.goto("/admin/channels")
        expect(page.get_by_role("heading", name="Notification channels")).to_be_visible()
        assert horizontal_overflow(page) == 0
        shot(page, name)
    section = desktop.get_by_role("region", name="log_file")
    section.get_by_label("Also send to these addresses").fill("not an address")
    section.get_by_role("button", name="Save log_file").click()
    expect(desktop.get_by_role("region", name="log_file")).to_contain_text("Not email addresses")
    assert horizontal_overflow(desktop) == 0
