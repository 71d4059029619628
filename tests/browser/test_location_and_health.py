"""My work's "Share my location" and the admin health page, in Chromium at 360 px.

The browser's Geolocation API is given a position (Playwright grants the permission), so
the whole path runs: app.js asks for the fix, fills the form, posts it with its CSRF token
under the strict content security policy, and the page says when it was shared.
"""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select

from app.models import TechnicianPosition
from tests.browser.support import horizontal_overflow, sign_in


def test_a_technician_shares_their_location_from_my_work_on_a_phone(new_context, live_server, live_data, shot):
    tess = live_data.technician(name="Tess Field")
    phone = new_context("phone", geolocation={"latitude": 53.8008, "longitude": -1.5491, "accuracy": 15},
                        permissions=["geolocation"]).new_page()
    sign_in(phone, tess)
    phone.goto("/dispatches/mine")
    location = phone.get_by_role("region", name="My location")
    expect(location).to_contain_text("Not shared yet")
    button = location.get_by_role("button", name="Share my location")
    expect(button).to_be_visible()  # shown by app.js once it can ask the browser
    assert horizontal_overflow(phone) == 0, "My work scrolls sideways at 360 px"
    shot(phone, "my-work-location-360")

    with phone.expect_navigation():
        button.click()
    expect(phone.locator("#flashes")).to_contain_text("Location shared (within 15 m)")
    expect(phone.get_by_role("region", name="My location")).to_contain_text("Last shared")
    assert horizontal_overflow(phone) == 0
    shot(phone, "my-work-location-shared-360")
    with live_server.database() as session:
        stored = session.scalars(select(TechnicianPosition)).one()
        assert (round(stored.latitude, 4), round(stored.longitude, 4), stored.accuracy_m) == (53.8008, -1.5491, 15.0)


def test_a_refused_permission_says_what_to_do_and_sends_nothing(new_context, live_server, live_data):
    tess = live_data.technician(name="Tess Denied")
    phone = new_context("phone").new_page()  # no geolocation permission granted
    sign_in(phone, tess)
    phone.goto("/dispatches/mine")
    phone.get_by_role("button", name="Share my location").click()
    expect(phone.locator("[data-share-location-status]")).to_contain_text("allow this site to use your location")
    with live_server.database() as session:
        assert session.scalars(select(TechnicianPosition)).first() is None


def test_the_health_page_fits_a_phone(phone, live_server, live_data, shot):
    admin = live_data.admin()
    sign_in(phone, admin)
    phone.goto("/admin/")
    with phone.expect_navigation():
        phone.get_by_role("link", name="Health").click()
    expect(phone.get_by_role("heading", name="Health", level=1)).to_be_visible()
    expect(phone.get_by_role("region", name="Database")).to_contain_text("Answers")
    expect(phone.get_by_role("heading", name="Scheduled jobs")).to_be_visible()
    assert horizontal_overflow(phone) == 0, "the health page scrolls sideways at 360 px"
    shot(phone, "admin-health-360")
