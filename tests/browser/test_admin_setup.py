"""Setting up the fleet and people in Chromium, at phone and desktop size: the CSV import with
its dry-run report, the technician profile form (home base, shift days as check boxes) and a
user's own time zone. No page scrolls sideways; each leaves a screenshot.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models import MajorLocation, TechnicianProfile, User
from tests.browser.support import both_sizes, horizontal_overflow, sign_in

GOOD = "name,address,latitude,longitude\nHull Terminal,Dock 4 Road Hull HU9 1TA,53.7448,-0.2736\n"
BAD = GOOD + "Leeds Yard,,95,-1.55\nhull terminal,,,\n"


def _upload(page, csv: str) -> None:
    page.get_by_label("Locations (CSV)").set_input_files(
        files=[{"name": "locations.csv", "mimeType": "text/csv", "buffer": csv.encode()}])


@both_sizes
def test_an_admin_checks_then_imports_locations_from_csv(page, live_server, live_data, shot):
    admin = live_data.admin(name="Avery Admin")
    sign_in(page, admin)
    page.goto("/admin/fleet/import")
    expect(page.get_by_role("heading", name="Import and export the fleet", level=1)).to_be_visible()

    _upload(page, BAD)
    page.get_by_role("button", name="Check (dry run)").click()
    report = page.locator("#import-report")
    expect(report.get_by_role("alert")).to_be_visible()
    rows = report.get_by_role("row")
    expect(rows.filter(has_text="latitude")).to_have_count(1)  # 95 is out of range, by row and column
    expect(rows.filter(has_text=re.compile("hull terminal", re.I)).filter(has_text="name")).not_to_have_count(0)
    assert horizontal_overflow(page) == 0, "the dry-run report scrolls sideways"
    shot(page, "dry-run-problems")
    with live_server.database() as session:
        assert session.query(MajorLocation).count() == 0  # a dry run writes nothing

    _upload(page, GOOD)
    page.get_by_role("button", name="Check (dry run)").click()
    expect(report.get_by_role("status")).to_be_visible()
    page.get_by_role("button", name="Import these files").click()
    expect(page.get_by_role("status").first).to_contain_text("Imported 1 location.")
    shot(page, "imported")
    with live_server.database() as session:
        assert [loc.name for loc in session.query(MajorLocation)] == ["Hull Terminal"]


@both_sizes
def test_an_admin_sets_a_home_base_and_shift_days_with_check_boxes(page, live_server, live_data, shot):
    admin = live_data.admin(name="Avery Admin")
    tess = live_data.technician(name="Tess Technician")
    with live_server.database() as session:
        session.add(MajorLocation(name="North Depot", address="1 Yard Road, Leeds LS1 4AB",
                                  latitude=53.8008, longitude=-1.5491))
    sign_in(page, admin)
    page.goto(f"/admin/technicians/{tess.id}/profile")
    page.get_by_label("Home base").select_option(label="North Depot — 1 Yard Road, Leeds LS1 4AB")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        page.get_by_label(day, exact=True).set_checked(day in ("Mon", "Wed", "Sat"))
    assert horizontal_overflow(page) == 0, "the profile form scrolls sideways"
    shot(page, "profile-form")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").first).to_be_visible()
    with live_server.database() as session:
        profile = session.query(TechnicianProfile).filter_by(user_id=tess.id).one()
        assert (profile.shift_days, profile.home_latitude, profile.home_longitude) == ("136", 53.8008, -1.5491)

    page.goto(f"/admin/technicians/{tess.id}/profile")
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        page.get_by_label(day, exact=True).set_checked(False)
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("alert").first).to_contain_text("Choose at least one shift day")
    shot(page, "profile-refused")
    with live_server.database() as session:
        assert session.query(TechnicianProfile).filter_by(user_id=tess.id).one().shift_days == "136"


@both_sizes
def test_a_manager_chooses_their_time_zone(page, live_server, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    sign_in(page, manager)
    page.goto("/account/")
    page.get_by_label("Time zone you see and type times in").select_option("Europe/Berlin")
    page.get_by_role("button", name="Save time zone").click()
    expect(page.get_by_text("Pages show times in Europe/Berlin")).to_be_visible()
    assert horizontal_overflow(page) == 0, "the account page scrolls sideways"
    shot(page, "time-zone")
    with live_server.database() as session:
        assert session.get(User, manager.id).time_zone == "Europe/Berlin"
