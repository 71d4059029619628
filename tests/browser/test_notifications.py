"""The bell and the notification list in Chromium, at phone (360 px) and desktop (1280 px) size."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import func, select

from app.models import UserNotification, utcnow
from tests.browser.support import LiveData, LiveServer, horizontal_overflow, sign_in


def _notes(live_server: LiveServer, person, items: list[tuple[str, str, str]]) -> None:
    """``(severity, subject, body)`` items for ``person``, the last one newest."""
    with live_server.database() as session:
        start = utcnow() - timedelta(hours=len(items))
        for n, (severity, subject, body) in enumerate(items):
            session.add(UserNotification(user_id=person.id, delivery_id=f"live-{person.id}-{n}", kind="alert.firing",
                                         severity=severity, subject=subject, body=body,
                                         created_at=start + timedelta(minutes=n)))


ITEMS = [
    ("info", "Daily summary for 1 December 2026", "41 dispatches created, 37 completed, 2 cancelled."),
    ("warning", "Pending queue is above its warning threshold", "11 dispatches wait for a technician (warning above 10)."),
    ("critical", "SLA compliance is critical: 62 % of completed work within SLA",
     "Below the critical threshold of 70 %. Open work past its SLA: D-00041, D-00042, D-00057, D-00063."),
]


def _unread(live_server: LiveServer, person) -> int:
    with live_server.database() as session:
        return session.scalar(select(func.count()).select_from(UserNotification).where(
            UserNotification.user_id == person.id, UserNotification.read_at.is_(None)))


def test_the_bell_counts_unread_and_the_list_marks_them_read_on_a_phone(phone, live_server, live_data: LiveData, shot):
    manager = live_data.manager(name="Morgan Manager")
    _notes(live_server, manager, ITEMS)
    sign_in(phone, manager)

    bell = phone.get_by_role("link", name="Notifications 3 unread")
    expect(bell).to_be_visible()  # beside the Menu button, without opening the menu
    assert horizontal_overflow(phone) == 0
    shot(phone, "bell-360")

    bell.click()
    expect(phone.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
    items = phone.locator("li.notification")
    expect(items).to_have_count(3)
    expect(items.first).to_contain_text("SLA compliance is critical")  # newest first
    assert horizontal_overflow(phone) == 0, "the notification list scrolls sideways at 360 px"
    shot(phone, "notifications-360")

    items.first.get_by_role("button", name="Mark read").click()  # htmx: the list and the bell change in place
    expect(phone.get_by_role("link", name="Notifications 2 unread")).to_be_visible()
    expect(phone.locator("li.notification.unread")).to_have_count(2)
    assert _unread(live_server, manager) == 2
    shot(phone, "one-read-360")


def test_mark_all_read_on_a_desktop(desktop, live_server, live_data: LiveData, shot):
    manager = live_data.manager(name="Morgan Manager")
    _notes(live_server, manager, ITEMS)
    sign_in(desktop, manager)
    desktop.get_by_role("link", name="Notifications 3 unread").click()
    assert horizontal_overflow(desktop) == 0
    shot(desktop, "notifications-1280")

    desktop.get_by_role("button", name="Mark all read").click()
    expect(desktop.locator("li.notification.unread")).to_have_count(0)
    expect(desktop.get_by_role("link", name="Notifications", exact=True)).to_be_visible()
    expect(desktop.locator(".bell-count")).to_have_count(0)
    assert _unread(live_server, manager) == 0
    shot(desktop, "all-read-1280")
