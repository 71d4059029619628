"""The in-app channel: one row per recipient, written once per delivery; the bell and /notifications."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import UserNotification, utcnow
from app.plugins.builtin.in_app import InAppNotifier
from app.plugins.contracts import DeliveryAttempt, Notification
from app.services import user_notifications
from app.services.notifications import EXTENSION_KEY
from tests.dispatch_pages_support import html, login
from tests.factories import AdminFactory, DispatchFactory, ManagerFactory, TechnicianFactory
from tests.support.query_counter import counting_queries


def _attempt(delivery_id: str = "dlv-1", attempt: int = 1) -> DeliveryAttempt:
    return DeliveryAttempt(delivery_id=delivery_id, channel="in_app", attempt=attempt, created_at=utcnow())


def _alert(subject: str = "Pending queue is critical", **fields) -> Notification:
    defaults = dict(kind="alert.firing", body="23 dispatches wait.", severity="critical", category="pending_queue",
                    roles=["manager"])
    return Notification(subject=subject, **{**defaults, **fields})


def _rows(user=None) -> list[UserNotification]:
    query = select(UserNotification).order_by(UserNotification.id)
    if user is not None:
        query = query.where(UserNotification.user_id == user.id)
    return list(db.session.scalars(query))


def test_the_channel_is_registered_as_in_app(app):
    assert isinstance(app.extensions[EXTENSION_KEY]["in_app"], InAppNotifier)


def test_managers_get_their_alerts_and_nobody_else(app):
    first, second = ManagerFactory(), ManagerFactory()
    TechnicianFactory()
    AdminFactory()
    InAppNotifier().send(_alert(), _attempt())
    rows = _rows()
    assert sorted(row.user_id for row in rows) == sorted([first.id, second.id])
    row = rows[0]
    assert (row.kind, row.severity, row.category, row.subject, row.body, row.read_at, row.link) == (
        "alert.firing", "critical", "pending_queue", "Pending queue is critical", "23 dispatches wait.", None, None)
    assert row.delivery_id == "dlv-1"


def test_technicians_get_assigned_to_you_with_a_link_to_the_dispatch(app):
    tess = TechnicianFactory(email="tess@example.com")
    dispatch = DispatchFactory()
    InAppNotifier().send(Notification(
        kind="dispatch.assigned", subject=f"Dispatch {dispatch.dispatch_number} assigned to you", body="Brakes.",
        recipients=["TESS@example.com"], dispatch_number=dispatch.dispatch_number,
    ), _attempt())
    (row,) = _rows()
    assert row.user_id == tess.id
    assert row.link == f"/dispatches/{dispatch.id}"


def test_a_retried_delivery_writes_once_and_another_delivery_writes_again(app):
    manager = ManagerFactory()
    notifier = InAppNotifier()
    notifier.send(_alert(), _attempt("dlv-1", 1))
    notifier.send(_alert(), _attempt("dlv-1", 2))  # the first try wrote, but its success was not recorded
    assert len(_rows(manager)) == 1
    assert user_notifications.record(_alert(), _attempt("dlv-1", 3), [manager]) == 0  # nothing new
    assert user_notifications.record(_alert(), _attempt("dlv-9", 1), [manager]) == 1
    notifier.send(_alert(), _attempt("dlv-2", 1))
    assert len(_rows(manager)) == 3


def test_a_retry_after_a_new_recipient_appeared_adds_only_the_new_row(app):
    first = ManagerFactory()
    InAppNotifier().send(_alert(), _attempt("dlv-1"))
    second = ManagerFactory()
    InAppNotifier().send(_alert(), _attempt("dlv-1", 2))
    assert sorted(row.user_id for row in _rows()) == sorted([first.id, second.id])


def test_outside_addresses_only_write_nothing(app):
    ManagerFactory()
    InAppNotifier().send(_alert(roles=[], recipients=["someone@outside.example"]), _attempt())
    assert _rows() == []


def _notes(user, count: int, *, start: int = 0) -> None:
    base = utcnow() - timedelta(hours=count + start)
    for n in range(start, start + count):
        db.session.add(UserNotification(
            user_id=user.id, delivery_id=f"d-{user.id}-{n}", kind="alert.firing", severity="warning",
            subject=f"Alert number {n}", body=f"Body {n}", created_at=base + timedelta(minutes=n),
        ))
    db.session.commit()


def _bell(body: str) -> str | None:
    match = re.search(r'<span class="bell-count" data-unread="([^"]+)"', body)
    return match.group(1) if match else None


def test_the_bell_shows_the_unread_count_on_every_page(app, client):
    manager = ManagerFactory()
    login(client, manager)
    body = html(client.get("/"))
    assert 'class="bell"' in body and 'href="/notifications/"' in body
    assert _bell(body) is None  # nothing unread: no number
    _notes(manager, 3)
    _notes(ManagerFactory(), 5)  # someone else's do not count
    assert _bell(html(client.get("/"))) == "3"
    assert _bell(html(client.get("/account/"))) == "3"


def test_the_bell_caps_its_count(app, client):
    manager = ManagerFactory()
    _notes(manager, user_notifications.BADGE_LIMIT + 3)
    login(client, manager)
    assert _bell(html(client.get("/"))) == "99+"


def test_the_bell_costs_the_same_queries_however_many_notifications(app, client):
    manager = ManagerFactory()
    login(client, manager)
    _notes(manager, 1)
    with counting_queries() as few:
        client.get("/account/")
    _notes(manager, 40, start=1)
    with counting_queries() as many:
        client.get("/account/")
    assert len(many) == len(few)
    assert sum("user_notifications" in statement for statement in many) == 1


def test_the_list_is_newest_first_and_paginated(app, client):
    manager = ManagerFactory()
    _notes(manager, user_notifications.PER_PAGE + 5)
    login(client, manager)
    first = html(client.get("/notifications/"))
    subjects = re.findall(r"<strong>(Alert number \d+)</strong>", first)
    assert subjects[0] == f"Alert number {user_notifications.PER_PAGE + 4}"
    assert len(subjects) == user_notifications.PER_PAGE
    assert "Page 1 of 2" in first
    second = html(client.get("/notifications/?page=2"))
    assert re.findall(r"<strong>(Alert number \d+)</strong>", second) == [f"Alert number {n}" for n in range(4, -1, -1)]
    assert client.get("/notifications/?page=x").status_code == 400


def test_an_empty_list_says_what_will_appear(app, client):
    login(client, TechnicianFactory())
    assert "Assignments and alerts meant for you appear here." in html(client.get("/notifications/"))


def test_mark_one_read(app, client):
    manager = ManagerFactory()
    _notes(manager, 2)
    target, other = _rows(manager)
    login(client, manager)
    response = client.post(f"/notifications/{target.id}/read")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(UserNotification, target.id).read_at is not None
    assert db.session.get(UserNotification, other.id).read_at is None
    assert _bell(html(client.get("/"))) == "1"


def test_mark_read_by_htmx_answers_the_list_and_the_bell(app, client):
    manager = ManagerFactory()
    _notes(manager, 2)
    target = _rows(manager)[0]
    login(client, manager)
    body = html(client.post(f"/notifications/{target.id}/read", headers={"HX-Request": "true"}))
    assert body.startswith('<div id="notification-list">') or '<div id="notification-list">' in body[:200]
    assert 'id="bell"' in body and 'hx-swap-oob="true"' in body
    assert _bell(body) == "1"
    assert "<html" not in body


def test_someone_elses_notification_is_refused_and_unchanged(app, client):
    owner = ManagerFactory()
    _notes(owner, 1)
    (row,) = _rows(owner)
    login(client, ManagerFactory())
    response = client.post(f"/notifications/{row.id}/read")
    assert response.status_code == 404
    assert "There is no such notification in your list" in html(response)
    db.session.expire_all()
    assert db.session.get(UserNotification, row.id).read_at is None


def test_mark_all_read_marks_only_ones_own(app, client):
    manager, other = ManagerFactory(), ManagerFactory()
    _notes(manager, 3)
    _notes(other, 2)
    login(client, manager)
    response = client.post("/notifications/read-all", follow_redirects=True)
    assert "Marked 3 notifications read." in html(response)
    db.session.expire_all()
    unread = select(func.count()).select_from(UserNotification).where(UserNotification.read_at.is_(None))
    assert db.session.scalar(unread.where(UserNotification.user_id == manager.id)) == 0
    assert db.session.scalar(unread.where(UserNotification.user_id == other.id)) == 2
    assert "Nothing was unread." in html(client.post("/notifications/read-all", follow_redirects=True))


def test_marking_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        manager = ManagerFactory()
        _notes(manager, 1)
        (row,) = _rows(manager)
        client = app.test_client()
        sign_in = html(client.get("/auth/login"))
        token = sign_in.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        response = client.post("/auth/login", data={"email": manager.email, "password": "correct horse battery",
                                                    "csrf_token": token})
        assert response.status_code == 302
        page = html(client.get("/notifications/"))
        form_token = page.split('name="csrf_token" value="')[1].split('"')[0]
        for path in (f"/notifications/{row.id}/read", "/notifications/read-all"):
            assert client.post(path).status_code == 400  # no token: refused
        db.session.expire_all()
        assert db.session.get(UserNotification, row.id).read_at is None
        assert client.post(f"/notifications/{row.id}/read", data={"csrf_token": form_token}).status_code == 302
        db.session.expire_all()
        assert db.session.get(UserNotification, row.id).read_at is not None
