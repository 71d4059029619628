"""A manager signed in on two browsers signs the other one out and changes their password on
the account page; an admin sees the failed sign-ins on the sign-in activity page — on a
phone and on a desktop."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.support import both_sizes, horizontal_overflow, open_menu, sign_in

NEW_PASSWORD = "Tram-lines over Kirkstall 42"


@both_sizes
def test_a_manager_signs_out_another_browser_and_changes_the_password(page, new_context, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    elsewhere = new_context("desktop").new_page()
    sign_in(elsewhere, manager)
    sign_in(page, manager)

    open_menu(page)
    page.get_by_role("link", name=re.compile("Morgan Manager")).click()
    expect(page.get_by_role("heading", name="Your account", level=1)).to_be_visible()
    sessions = page.get_by_role("row").filter(has=page.get_by_role("cell"))
    expect(sessions).to_have_count(2)
    expect(sessions.filter(has_text="This browser")).to_have_count(1)
    assert horizontal_overflow(page) == 0, "the account page scrolls sideways"
    shot(page, "two-sessions")

    page.get_by_role("button", name="Sign out all other sessions").click()
    expect(page.get_by_role("status")).to_contain_text("Signed out 1 other session")
    expect(sessions).to_have_count(1)
    elsewhere.goto("/dispatches/")
    expect(elsewhere).to_have_url(re.compile(r"/auth/login\?next="))  # the other browser's cookie is dead

    page.get_by_label("Current password").fill(manager.password)
    page.get_by_label(re.compile("^New password \\(")).fill("password12")
    page.get_by_label("New password again").fill("password12")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert").first).to_be_visible()  # refused, and it says why
    shot(page, "weak-password-refused")

    page.get_by_label("Current password").fill(manager.password)
    page.get_by_label(re.compile("^New password \\(")).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    assert horizontal_overflow(page) == 0
    shot(page, "password-changed")

    page.goto("/dispatches/")  # this browser stays signed in
    expect(page.get_by_role("heading", name="Dispatches", level=1)).to_be_visible()


@both_sizes
def test_an_admin_sees_failed_sign_ins(page, new_context, live_data, shot):
    admin = live_data.admin(name="Avery Admin")
    manager = live_data.manager(name="Morgan Manager")
    stranger = new_context("desktop").new_page()
    stranger.goto("/auth/login")
    stranger.get_by_label("Email").fill(manager.email)
    stranger.get_by_label("Password").fill("not the password")
    stranger.get_by_role("button", name="Sign in").click()
    expect(stranger.get_by_role("alert")).to_contain_text("Email or password is wrong")

    sign_in(page, admin)
    page.goto("/admin/sign-in-activity")
    expect(page.get_by_role("heading", name="Sign-in activity", level=1)).to_be_visible()
    failed = page.get_by_role("row").filter(has_text=manager.email)
    expect(failed.first).to_be_visible()
    expect(failed.first).to_contain_text("Morgan Manager")
    assert horizontal_overflow(page) == 0, "the sign-in activity page scrolls sideways"
    shot(page, "sign-in-activity")
