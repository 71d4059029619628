"""The delivery log (filters, pages, dead letters, retry now) and the channels page (validated routing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import NotificationChannel, NotificationDelivery, utcnow
from app.plugins.contracts import Notification
from app.services import notifications
from tests.admin_support import counting_queries, html, rows
from tests.factories import AdminFactory, NotificationDeliveryFactory


@pytest.fixture
def admin(app, client, auth):
    user = AdminFactory(name="Ada Admin")
    auth.login(user)
    return user


def delivery(status="pending", channel="log_file", subject="Test", minutes_ago=0, **fields):
    row = NotificationDeliveryFactory(status=status, channel=channel, **fields)
    row.notification = {**row.notification, "subject": subject}
    row.created_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return row


def statuses() -> list[tuple]:
    return rows(NotificationDelivery, NotificationDelivery.public_id, NotificationDelivery.status,
                NotificationDelivery.attempts)


# --- The delivery log ----------------------------------------------------------------------------


def test_the_log_lists_newest_first_with_dead_letters_and_their_last_error(client, admin):
    old = delivery("delivered", subject="Older one", minutes_ago=10)
    dead = delivery("dead", channel="webhook", subject="Dead one", minutes_ago=1, attempts=6,
                    last_error="RetryableDeliveryError: webhook answered 503")
    page = html(client.get("/admin/deliveries"))
    assert page.index("Dead one") < page.index("Older one")
    row = page.split(f'data-delivery="{dead.public_id}"', 1)[1].split("</tr>", 1)[0]
    assert "RetryableDeliveryError: webhook answered 503" in row and "Retry now" in row
    assert "Retry now" not in page.split(f'data-delivery="{old.public_id}"', 1)[1].split("</tr>", 1)[0]
    assert "1 dead" in page and "Retry all 1 dead now" in page


def test_the_log_filters_by_status_and_channel(client, admin):
    delivery("dead", channel="webhook", subject="Dead webhook")
    delivery("dead", channel="log_file", subject="Dead file")
    delivery("delivered", channel="webhook", subject="Sent webhook")
    page = html(client.get("/admin/deliveries?status=dead&channel=webhook"))
    assert "Dead webhook" in page and "Dead file" not in page and "Sent webhook" not in page
    fragment = html(client.get("/admin/deliveries?status=delivered", headers={"HX-Request": "true"}))
    assert fragment.lstrip().startswith('<div id="delivery-table">')
    assert "Sent webhook" in fragment and "Dead" not in fragment
    # An unknown filter value shows everything instead of failing.
    assert "Dead file" in html(client.get("/admin/deliveries?status=lost&channel=nowhere"))


def test_the_log_is_paginated_with_a_constant_number_of_queries(app, client, admin):
    app.config["ADMIN_DELIVERIES_PER_PAGE"] = 5
    for n in range(3):
        delivery(subject=f"Row {n}", minutes_ago=n)
    client.get("/admin/deliveries")  # warm up: sign-in session, caches
    with counting_queries() as few:
        client.get("/admin/deliveries")
    for n in range(3, 12):
        delivery(subject=f"Row {n}", minutes_ago=n)
    with counting_queries() as many:
        first = html(client.get("/admin/deliveries"))
    assert len(many) == len(few)
    assert "Row 0" in first and "Row 4" in first and "Row 5" not in first and "Page 1 of 3" in first
    third = html(client.get("/admin/deliveries?page=3"))
    assert "Row 10" in third and "Row 11" in third and "Row 9" not in third
    assert client.get("/admin/deliveries?page=zero").status_code == 400


def test_retry_now_makes_a_dead_letter_due_again(client, admin):
    dead = delivery("dead", attempts=6, last_error="boom")
    response = client.post(f"/admin/deliveries/{dead.public_id}/retry", data={"status": "dead"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/deliveries?status=dead")
    assert statuses() == [(dead.public_id, "pending", 0)]
    assert "is due again now" in html(client.get("/admin/deliveries"))


def test_retry_now_refuses_a_delivered_or_unknown_delivery_and_changes_nothing(client, admin):
    sent = delivery("delivered", attempts=1)
    response = client.post(f"/admin/deliveries/{sent.public_id}/retry")
    assert response.status_code == 422
    assert "is delivered; only dead or waiting deliveries can be retried" in html(response)
    missing = client.post("/admin/deliveries/no-such-id/retry")
    assert missing.status_code == 422 and "There is no delivery &#39;no-such-id&#39;" in html(missing)
    unknown = client.post("/admin/deliveries/00000000-0000-4000-8000-000000000000/retry")
    assert unknown.status_code == 422 and "copy its id from the delivery log" in html(unknown)
    assert client.post("/admin/deliveries/bad%00id/retry").status_code == 422  # never reaches the database
    assert statuses() == [(sent.public_id, "delivered", 1)]


def test_retry_all_dead(client, admin):
    first, second = delivery("dead", attempts=6), delivery("dead", attempts=2)
    kept = delivery("delivered", attempts=1)
    assert client.post("/admin/deliveries/retry-dead").status_code == 302
    assert sorted(statuses()) == sorted([(first.public_id, "pending", 0), (second.public_id, "pending", 0),
                                         (kept.public_id, "delivered", 1)])
    assert "2 dead deliveries are due again now." in html(client.get("/admin/deliveries"))


def test_retry_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        email = AdminFactory().email
        dead = delivery("dead", attempts=6)
        public_id = dead.public_id
    client = app.test_client()
    login_page = client.get("/auth/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": email, "password": "correct horse battery", "csrf_token": token})
    assert client.post(f"/admin/deliveries/{public_id}/retry").status_code == 400
    with app.app_context():
        assert statuses() == [(public_id, "dead", 6)]


# --- Channels -----------------------------------------------------------------------------------


def test_the_channels_page_shows_every_known_channel_with_its_defaults(client, admin):
    page = html(client.get("/admin/channels"))
    for name in ("console", "log_file", "webhook"):
        assert f'id="channel-{name}"' in page
    assert "Default settings." in page
    for category in ("fallback_routing",):
        assert f'value="{category}"' in page


def test_saving_a_channel_stores_it_with_who_and_when_and_routes_by_it(app, client, admin):
    response = client.post("/admin/channels/log_file", data={
        "enabled": "1", "min_severity": "warning", "categories": ["fallback_routing"], "roles": ["manager"],
        "addresses": "Ops@Example.com\nfleet@example.com, ops@example.com",
    })
    assert response.status_code == 302
    stored = db.session.scalars(db.select(NotificationChannel)).one()
    assert (stored.enabled, stored.min_severity, stored.categories, stored.recipient_roles,
            stored.recipient_addresses) == (True, "warning", ["fallback_routing"], ["manager"],
                                            ["ops@example.com", "fleet@example.com"])
    assert stored.updated_by_id == admin.id
    page = html(client.get("/admin/channels"))
    assert "Changed by Ada Admin at" in page and "Channel log_file saved." in page
    notifications.notify(Notification(kind="alert.firing", subject="fallback", body="", severity="critical",
                                      category="fallback_routing"))
    notifications.notify(Notification(kind="alert.firing", subject="info", body="", severity="info",
                                      category="fallback_routing"))
    queued = db.session.scalars(db.select(NotificationDelivery).where(NotificationDelivery.channel == "log_file")).all()
    assert [row.notification["subject"] for row in queued] == ["fallback"]
    assert queued[0].notification["roles"] == ["manager"]


def test_turning_a_channel_off(client, admin):
    assert client.post("/admin/channels/log_file", data={"enabled": "0", "min_severity": "info"}).status_code == 302
    notifications.notify(Notification(kind="alert.test", subject="x", body=""))
    assert db.session.scalars(db.select(NotificationDelivery.channel)).all() == ["console", "in_app"]  # log_file is off


@pytest.mark.parametrize(("data", "message"), [
    ({"min_severity": "loud"}, "Minimum severity &#39;loud&#39; is not one of info, warning, critical"),
    ({"min_severity": "info", "categories": ["made_up"]}, "Unknown categories: &#39;made_up&#39;"),
    ({"min_severity": "info", "roles": ["owner"]}, "Unknown roles: &#39;owner&#39;"),
    ({"min_severity": "info", "addresses": "not-an-address"}, "Not email addresses: &#39;not-an-address&#39;"),
    ({"min_severity": "info", "addresses": "\n".join(f"u{n}@example.com" for n in range(51))},
     "51 addresses is too many; give at most 50"),
])
def test_refused_channel_settings_say_why_and_change_nothing(client, admin, data, message):
    client.post("/admin/channels/log_file", data={"enabled": "1", "min_severity": "warning"})
    before = rows(NotificationChannel, NotificationChannel.name, NotificationChannel.enabled,
                  NotificationChannel.min_severity, NotificationChannel.categories)
    response = client.post("/admin/channels/log_file", data={"enabled": "0", **data})
    assert response.status_code == 422
    page = html(response)
    assert message in page
    assert rows(NotificationChannel, NotificationChannel.name, NotificationChannel.enabled,
                NotificationChannel.min_severity, NotificationChannel.categories) == before


def test_every_refusal_is_shown_at_once(client, admin):
    response = client.post("/admin/channels/console", data={
        "enabled": "1", "min_severity": "loud", "roles": ["owner"], "addresses": "nope"})
    page = html(response)
    assert response.status_code == 422
    assert "Minimum severity" in page and "Unknown roles" in page and "Not email addresses" in page
    assert rows(NotificationChannel, NotificationChannel.name) == []


def test_an_unknown_channel_is_refused(client, admin):
    response = client.post("/admin/channels/pager", data={"enabled": "1", "min_severity": "info"})
    assert response.status_code == 404 and "There is no channel &#39;pager&#39;" in html(response)
    assert rows(NotificationChannel, NotificationChannel.name) == []
