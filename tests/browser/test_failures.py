"""What a person sees in a real browser when an action fails: a job taken back, a session
that ended while typing, a cancellation that asks first, a title too long for the table."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Dispatch, TruckDispatchChecklist, User
from app.services import dispatches as dispatch_service
from app.services import matching
from tests.browser.support import horizontal_overflow, sign_in


def test_start_work_on_a_job_taken_back_says_so_in_place(phone, live_server, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    tess = live_data.technician(name="Tess Tech")
    job = live_data.dispatch(title="Replace the wiper blades")
    with live_server.database() as session:
        matching.assign_to(session.get(Dispatch, job.id), tess.id)
    sign_in(phone, tess)
    phone.goto("/dispatches/mine")
    card = phone.get_by_role("article", name=job.title)
    expect(card).to_be_visible()

    with live_server.database() as session:  # the manager takes it back meanwhile
        from app.services.actors import acting_as

        with acting_as(session.get(User, manager.id)):
            dispatch_service.unassign(session.get(Dispatch, job.id), "Needs a second person")
    card.get_by_role("button", name="Start work").click()

    alert = phone.get_by_role("alert")
    expect(alert).to_contain_text(f"{job.number} is no longer assigned to you: Morgan Manager took it back")
    expect(alert.get_by_role("link", name="Refresh the page")).to_have_attribute("href", "/dispatches/mine")
    expect(card).to_be_visible()  # the card stays, the message sits right by its buttons
    assert phone.locator(".work-card .htmx-alert").count() == 1
    expect(phone.locator(".topbar")).to_have_count(1)
    shot(phone, "taken-back")
    with live_server.database() as session:
        assert session.get(Dispatch, job.id).status == "Created"


def test_session_ended_while_answering_a_checklist_keeps_the_answer(page, live_server, live_data, shot):
    tess = live_data.technician(name="Tess Tech")
    truck = live_data.asset()
    job = live_data.dispatch(truck, status="Assigned", technician=tess)
    with live_server.database() as session:
        detail_id = session.scalar(select(TruckDispatchChecklist.detail_id)
                                   .where(TruckDispatchChecklist.dispatch_id == job.id))
    sign_in(page, tess)
    page.goto(f"/checklists/{detail_id}")
    expect(page.get_by_role("heading", name="Truck dispatch checklist")).to_be_visible()

    page.context.clear_cookies()  # the session ends (signed out elsewhere, or expired)
    notes = page.get_by_label("Notes")
    notes.fill("Mirror bracket loose, tightened")
    with page.expect_navigation(url=re.compile(rf"/auth/login\?next=/checklists/{detail_id}$")):
        notes.blur()  # the item saves on change
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.locator(".item")).to_have_count(0)  # no sign-in page inside the item: a real page
    shot(page, "sign-in")

    page.get_by_label("Email").fill(tess.email)
    page.get_by_label("Password").fill(tess.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/checklists/{detail_id}")
    expect(page.get_by_role("status").filter(has_text="Your unsaved answer was restored and saved.")).to_be_visible()
    expect(page.get_by_label("Notes")).to_have_value("Mirror bracket loose, tightened")
    shot(page, "restored")
    with live_server.database() as session:
        notes_saved = session.scalar(select(TruckDispatchChecklist.checklist_notes)
                                     .where(TruckDispatchChecklist.dispatch_id == job.id))
    assert notes_saved == "Mirror bracket loose, tightened"
    assert page.evaluate("Object.keys(sessionStorage).filter((k) => k.startsWith('motorpool:'))") == []
    page.reload()
    expect(page.get_by_text("Your unsaved answer was restored")).to_have_count(0)


def test_cancel_asks_for_a_reason_in_place_first(page, live_server, live_data, shot):
    manager = live_data.manager(name="Morgan Manager")
    job = live_data.dispatch(title="Wash the trailer")
    sign_in(page, manager)
    page.goto(f"/dispatches/{job.id}")
    page.get_by_role("link", name="Cancel work order…").click()
    panel = page.get_by_role("group", name=f"Cancel {job.number}?")
    expect(panel).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/dispatches/{job.id}")  # in place, not another page
    shot(page, "confirm-open")

    panel.get_by_role("link", name="Keep it").click()
    expect(page.get_by_role("group", name=f"Cancel {job.number}?")).to_have_count(0)
    with live_server.database() as session:
        assert session.get(Dispatch, job.id).status == "Created"

    page.get_by_role("link", name="Cancel work order…").click()
    panel = page.get_by_role("group", name=f"Cancel {job.number}?")
    panel.get_by_label("Reason for cancelling").fill("Customer sold the trailer")
    panel.get_by_role("button", name="Cancel work order").click()
    expect(page.locator("#flashes")).to_contain_text(f"{job.number} is now Cancelled.")
    expect(page.locator(".facts .status")).to_have_text("Cancelled")
    expect(page.get_by_text("Customer sold the trailer").first).to_be_visible()
    shot(page, "cancelled")


LONG_WORD = "X" * 200  # the longest title there can be


def _table_measures(page):
    return page.evaluate("""(word) => {
        const scroller = document.querySelector('#dispatch-table .scroll');
        const cell = [...document.querySelectorAll('.dispatch-list td')].find((td) => td.textContent.includes(word));
        return {table: scroller.scrollWidth, box: scroller.clientWidth, cell: cell.getBoundingClientRect().width};
    }""", LONG_WORD)


def test_a_title_of_one_long_word_in_a_title_keeps_the_table_on_screen(new_context, live_server, live_data, shot):
    manager = live_data.manager()
    truck = live_data.asset()
    live_data.dispatch(truck, title=LONG_WORD)
    live_data.dispatch(truck, title="Short title")
    for device in ("desktop", "phone"):
        page = new_context(device).new_page()
        sign_in(page, manager)
        page.goto("/dispatches/")
        expect(page.get_by_role("row").filter(has_text="Short title")).to_have_count(1)
        shot(page, f"list-{device}")
        measures = _table_measures(page)
        assert horizontal_overflow(page) == 0, device
        if device == "desktop":
            assert measures["table"] <= measures["box"], measures  # every column in sight
        else:
            assert measures["cell"] <= 200, measures  # the title wraps instead of widening the table


def test_a_request_that_cannot_reach_the_server_says_so_in_place(phone, live_server, live_data, page_watch, shot):
    tess = live_data.technician(name="Tess Tech")
    job = live_data.dispatch(title="Check the tail lights", status="Assigned", technician=tess)
    sign_in(phone, tess)
    phone.goto("/dispatches/mine")
    # The dropped request itself, and htmx's own log line for a request that got no answer.
    page_watch.allow_console_error(r"net::ERR_|^htmx:(sendError|afterRequest),")
    phone.route("**/status", lambda route: route.abort("internetdisconnected"))
    card = phone.get_by_role("article", name=job.title)
    card.get_by_role("button", name="Start work").click()
    expect(card.get_by_role("alert")).to_contain_text("could not be reached: check the connection. Nothing was saved")
    shot(phone, "offline")
    with live_server.database() as session:
        assert session.get(Dispatch, job.id).status == "Assigned"
