"""The interface shell and its pages at phone (360 px) and desktop (1280 px) size, in Chromium.

The main menu folds behind a Menu button on a phone and works by keyboard; no page scrolls
sideways; the work-order page leaves out empty sections; the print view prints without the
navigation and with blank boxes and signature lines. Every page leaves a screenshot under
``test-artifacts/browser/`` (docs/ui.md says what to look for).
"""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from app.models import Asset, Dispatch, utcnow
from tests.browser.support import AssetRef, DispatchRef, LiveData, LiveServer, horizontal_overflow, main_nav, sign_in


def _at_north_depot(live_server: LiveServer, asset: AssetRef) -> None:
    """The asset's location becomes North Depot, with an address and coordinates."""
    with live_server.database() as session:
        location = session.get(Asset, asset.id).major_location
        location.name, location.address = "North Depot", "1 Yard Road, Leeds LS1 4AB"
        location.latitude, location.longitude = 53.8008, -1.5491


def _overdue(live_server: LiveServer, dispatch: DispatchRef) -> None:
    """Its SLA time has passed (set directly, as time passing would)."""
    with live_server.database() as session:
        session.get(Dispatch, dispatch.id).sla_due_at = utcnow() - timedelta(hours=3)


def _fleet(live_server: LiveServer, live_data: LiveData):
    manager = live_data.manager(name="Morgan Manager")
    tess = live_data.technician(name="Tess Technician")
    truck = live_data.asset(asset_tag="TRK-0100", name="Volvo FH16 #100")
    _at_north_depot(live_server, truck)
    working = live_data.dispatch(truck, title="Check tyre pressures and the spare wheel before the Monday run",
                                 status="Assigned", technician=tess, priority="Critical",
                                 description="Front axle reads low on the dashboard. " * 4)
    waiting = live_data.dispatch(truck, title="Replace brake pads", priority="High")
    cancelled = live_data.dispatch(truck, title="Tow to North Depot", status="Cancelled")
    _overdue(live_server, working)
    return manager, tess, working, waiting, cancelled


def test_phone_menu_opens_closes_and_works_by_keyboard(phone, live_server, live_data, shot):
    _manager, tess, working, _waiting, _cancelled = _fleet(live_server, live_data)
    sign_in(phone, tess)

    toggle = phone.get_by_role("button", name="Menu")
    nav = phone.get_by_role("navigation", name="Main")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()  # a compact top bar: brand and Menu
    assert horizontal_overflow(phone) == 0, "the technician's home scrolls sideways at 360 px"
    expect(phone.get_by_role("heading", name="My work", level=1)).to_be_visible()
    card = phone.get_by_role("listitem").filter(has_text=working.number)
    expect(card.locator(".badge-status-assigned")).to_have_text("Assigned")
    expect(card.locator(".badge-priority-critical")).to_have_text("Critical")
    expect(card.get_by_role("link", name=re.compile("North Depot"))).to_have_attribute(
        "href", "geo:53.8008,-1.5491?q=53.8008,-1.5491(North%20Depot)")
    shot(phone, "technician-home-360")

    # Keyboard only: Tab to the button, Enter opens, Escape closes and focus stays on the button.
    toggle.focus()
    phone.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="My work")).to_be_visible()
    assert horizontal_overflow(phone) == 0, "the open menu widens the page"
    shot(phone, "menu-open-360")
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.textContent.trim()") == "Home"
    phone.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    expect(toggle).to_be_focused()
    phone.keyboard.press("Space")
    expect(nav).to_be_visible()
    phone.keyboard.press("Tab")
    phone.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="My work")).to_be_focused()
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    expect(phone).to_have_url(re.compile(r"/dispatches/mine$"))
    expect(main_nav(phone).get_by_role("link", name="My work")).to_have_attribute("aria-current", "page")

    # The work order on the phone: the next step and the way there first, nothing sideways.
    phone.goto(f"/dispatches/{working.id}")
    sections = phone.locator("#dispatch-detail section > h2").all_inner_texts()
    assert [text.strip() for text in sections][:3] == ["Next step", "Checklists", "Details"]
    where = phone.get_by_role("region", name="Next step").get_by_role("link", name=re.compile("North Depot"))
    expect(where).to_have_attribute("href", re.compile(r"^geo:53\.8008,-1\.5491\?q="))
    expect(phone.get_by_role("region", name="Assignment")).to_have_count(0)  # managers only
    assert horizontal_overflow(phone) == 0, "the work order scrolls sideways at 360 px"
    shot(phone, "technician-work-order-360")


def test_desktop_pages_manager_home_work_order_and_admin(page, new_context, live_server, live_data, shot):
    manager, _tess, working, waiting, cancelled = _fleet(live_server, live_data)
    admin = live_data.admin(name="Ada Admin")
    sign_in(page, manager)

    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Home", "Dispatches", "New work order", "Out of service"):
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    expect(page.get_by_role("heading", name="Fleet overview", level=1)).to_be_visible()
    cards = page.get_by_role("list", name="Dispatches by status")
    expect(cards.get_by_role("link", name=re.compile(r"^1 Cancelled$"))).to_have_attribute(
        "href", "/dispatches/?status=Cancelled")
    overdue = page.get_by_role("region", name=re.compile("Overdue open orders"))
    expect(overdue.get_by_role("link", name=re.compile(working.number))).to_be_visible()
    unassigned = page.get_by_role("region", name=re.compile("Waiting for a technician"))
    expect(unassigned.get_by_role("link", name=re.compile(waiting.number))).to_be_visible()
    expect(unassigned).not_to_contain_text(cancelled.number)
    assert horizontal_overflow(page) == 0
    shot(page, "manager-home-1280")

    overdue.get_by_role("link", name="Show in the list").click()
    expect(page).to_have_url(re.compile(r"due=overdue"))
    expect(page.get_by_role("row").filter(has_text=working.title)).to_have_count(1)

    page.goto(f"/dispatches/{working.id}")
    sections = [text.strip() for text in page.locator("#dispatch-detail section > h2").all_inner_texts()]
    assert sections == ["Status", "Assignment", "Checklists", "Details", "History"]
    expect(page.locator(".wo-head .badge-status-assigned")).to_have_text("Assigned")
    expect(page.get_by_role("link", name="Print")).to_have_attribute("href", f"/dispatches/{working.id}/print")
    assert horizontal_overflow(page) == 0
    shot(page, "work-order-1280")

    page.goto(f"/dispatches/{cancelled.id}")  # nobody was assigned: no empty Assignment card
    expect(page.get_by_role("heading", name=re.compile("Tow to North Depot"), level=1)).to_be_visible()
    expect(page.get_by_role("region", name="Assignment")).to_have_count(0)
    expect(page.locator(".wo-head .badge-status-cancelled")).to_have_text("Cancelled")
    shot(page, "cancelled-work-order-1280")

    # Keyboard focus is visible (the focus ring is drawn, not left to the browser's default).
    page.get_by_role("link", name="Print").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"

    # A refused form: the field with the error has a red 2 px border and its message below.
    page.goto("/dispatches/new")
    page.locator("form.dispatch-form .primary").click()
    title = page.get_by_label("Title")
    expect(title).to_have_attribute("aria-invalid", "true")
    border = title.evaluate("e => [getComputedStyle(e).borderTopWidth, getComputedStyle(e).borderTopColor]")
    assert border == ["2px", "rgb(180, 35, 24)"], border
    message = page.locator(f"#{title.get_attribute('id')}-error")
    expect(message).to_be_visible()
    shot(page, "form-errors-1280")

    admin_tab = new_context("desktop").new_page()
    sign_in(admin_tab, admin)
    expect(admin_tab.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    assert horizontal_overflow(admin_tab) == 0
    # An admin has the most links (Alerts with its count, Reports, a plugin's, Admin): at
    # 1280 px they, the user and the bell still fit one row of the bar.
    middles = admin_tab.evaluate(
        "[...document.querySelectorAll('.topbar nav a, .topbar .who, .topbar .bell')]"
        ".map(e => { const r = e.getBoundingClientRect(); return r.top + r.height / 2; })")
    assert max(middles) - min(middles) < 10, f"the bar wraps at 1280 px: {middles}"
    shot(admin_tab, "admin-home-1280")
    admin_phone = new_context("phone").new_page()
    sign_in(admin_phone, admin)
    assert horizontal_overflow(admin_phone) == 0, "the admin home (plugins table) scrolls sideways at 360 px"
    shot(admin_phone, "admin-home-360")
    admin_tab.goto("/admin/")
    assert horizontal_overflow(admin_tab) == 0
    shot(admin_tab, "admin-index-1280")


def test_print_view_hides_the_navigation_and_has_boxes_and_signature_lines(page, live_server, live_data, shot):
    manager, _tess, working, _waiting, _cancelled = _fleet(live_server, live_data)
    sign_in(page, manager)
    page.goto(f"/dispatches/{working.id}")
    page.get_by_role("link", name="Print").click()
    expect(page).to_have_url(re.compile(rf"/dispatches/{working.id}/print$"))

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_role("button", name="Print this sheet")).to_be_hidden()
    sheet = page.get_by_role("article")
    expect(sheet).to_contain_text(working.number)
    expect(sheet).to_contain_text("TRK-0100")
    expect(sheet).to_contain_text("1 Yard Road, Leeds LS1 4AB")
    expect(sheet.locator(".badge-priority-critical")).to_have_text("Critical")
    expect(sheet.locator(".signature-label")).to_have_text(["Technician", "Driver / manager", "Date"])
    assert sheet.locator(".signature-line").count() == 3
    assert sheet.locator(".blank-box").count() >= 6, "unanswered checklist items print as blank boxes"
    expect(sheet.get_by_role("table").first).to_contain_text("Brakes")
    assert horizontal_overflow(page) == 0
    picture = shot(page, "print-view")
    page.pdf(path=str(picture.with_name("work-order.pdf")), format="A4")  # what the printer gets
