"""The webhooks admin page: the list, create (secret shown once), pause, rotate, delete, test, the log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import NotificationDelivery, WebhookSubscription
from app.services import webhook_subscriptions as service
from tests.admin_support import HX, html
from tests.factories import AdminFactory, NotificationDeliveryFactory, WebhookSubscriptionFactory

URL = "https://hooks.example.com/motorpool"


@pytest.fixture
def admin(app, client, auth):
    user = AdminFactory(name="Ada Admin")
    auth.login(user)
    return user


def subscriptions() -> list[WebhookSubscription]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def shown_secret(page: str) -> str:
    found = re.findall(r'value="(whsec_[A-Za-z0-9+/=]+)"', page)
    assert len(found) == 1, found
    return found[0]


def test_creating_shows_the_secret_once_and_never_again(client, admin):
    response = client.post("/admin/webhooks", data={"url": URL, "description": "Fleet ERP",
                                                    "event_types": ["dispatch.assigned", "alert.raised"]})
    assert response.status_code == 201
    page = html(response)
    secret = shown_secret(page)
    (subscription,) = subscriptions()
    assert subscription.secret == secret and subscription.owner_id == admin.id
    assert subscription.event_types == ["dispatch.assigned", "alert.raised"]
    assert "shown this once" in page
    listing = html(client.get("/admin/webhooks"))
    assert URL in listing and "Fleet ERP" in listing and "Active" in listing
    assert secret not in listing and "whsec_" not in listing
    assert secret not in html(client.get(f"/admin/webhooks/{subscription.id}"))


def test_a_refused_form_says_why_keeps_what_was_typed_and_stores_nothing(client, admin):
    response = client.post("/admin/webhooks", data={"url": "ftp://files.example.com/x", "description": "Kept"})
    assert response.status_code == 422
    page = html(response)
    assert "must be an http:// or https:// URL" in page
    assert "Choose at least one event type" in page
    assert 'value="Kept"' in page
    assert "whsec_" not in page
    assert subscriptions() == []


def test_pausing_and_resuming_with_htmx_answer_the_list_fragment(client, admin):
    subscription = WebhookSubscriptionFactory(owner=admin)
    db.session.commit()
    response = client.post(f"/admin/webhooks/{subscription.id}/active", data={"active": "0"}, headers=HX)
    assert response.status_code == 200
    fragment = html(response)
    assert fragment.lstrip().startswith('<div id="webhook-table">') and "Paused" in fragment and "Resume" in fragment
    assert subscriptions()[0].active is False
    again = client.post(f"/admin/webhooks/{subscription.id}/active", data={"active": "0"}, headers=HX)
    assert again.status_code == 422 and "already paused" in html(again)
    response = client.post(f"/admin/webhooks/{subscription.id}/active", data={"active": "1"})
    assert response.status_code == 302
    assert subscriptions()[0].active is True


def test_rotating_shows_the_new_secret_once(client, admin):
    subscription = WebhookSubscriptionFactory(owner=admin)
    db.session.commit()
    old = subscription.secret
    response = client.post(f"/admin/webhooks/{subscription.id}/rotate")
    assert response.status_code == 200
    new = shown_secret(html(response))
    assert new != old and subscriptions()[0].secret == new
    assert "old secret no longer verifies" in html(response)


def test_deleting_asks_for_confirmation_first(client, admin):
    subscription = WebhookSubscriptionFactory(owner=admin)
    NotificationDeliveryFactory(channel=service.CHANNEL, subscription_id=subscription.id)
    db.session.commit()
    confirm = client.get(f"/admin/webhooks/{subscription.id}/delete")
    assert confirm.status_code == 200 and "cannot be undone" in html(confirm) and "1 delivery" in html(confirm)
    refused = client.post(f"/admin/webhooks/{subscription.id}/delete", data={})
    assert refused.status_code == 422 and "Tick the box" in html(refused)
    assert len(subscriptions()) == 1
    done = client.post(f"/admin/webhooks/{subscription.id}/delete", data={"confirm": "yes"})
    assert done.status_code == 302
    assert subscriptions() == []
    assert db.session.scalar(select(func.count()).select_from(NotificationDelivery)) == 0
    assert client.get(f"/admin/webhooks/{subscription.id}").status_code == 404


def test_send_test_queues_one_event_shown_in_the_log(client, admin):
    subscription = WebhookSubscriptionFactory(owner=admin)
    db.session.commit()
    response = client.post(f"/admin/webhooks/{subscription.id}/test")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/webhooks/{subscription.id}")
    log = html(client.get(f"/admin/webhooks/{subscription.id}"))
    assert "webhook.test" in log and "pending" in log


def test_a_dead_delivery_is_retried_from_the_subscriptions_log(client, admin):
    subscription = WebhookSubscriptionFactory(owner=admin)
    dead = NotificationDeliveryFactory(channel=service.CHANNEL, subscription_id=subscription.id, status="dead",
                                       attempts=6, last_error="subscription: hooks.example.com answered 500")
    db.session.commit()
    log = client.get(f"/admin/webhooks/{subscription.id}")
    assert "answered 500" in html(log) and "Retry now" in html(log)
    response = client.post(f"/admin/webhooks/{subscription.id}/deliveries/{dead.public_id}/retry")
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(NotificationDelivery, dead.id)
    assert (row.status, row.attempts) == ("pending", 0)


def test_a_delivery_of_another_subscription_is_not_found_here(client, admin):
    mine, theirs = WebhookSubscriptionFactory(owner=admin), WebhookSubscriptionFactory(owner=admin)
    dead = NotificationDeliveryFactory(channel=service.CHANNEL, subscription_id=theirs.id, status="dead")
    db.session.commit()
    response = client.post(f"/admin/webhooks/{mine.id}/deliveries/{dead.public_id}/retry")
    assert response.status_code == 404 and "has no delivery" in html(response)
    db.session.expire_all()
    assert db.session.get(NotificationDelivery, dead.id).status == "dead"


def test_an_unknown_subscription_is_a_404(client, admin):
    assert client.get("/admin/webhooks/999999").status_code == 404
    assert client.post("/admin/webhooks/999999/active", data={"active": "0"}).status_code == 404
    assert client.post("/admin/webhooks/999999/rotate").status_code == 404


def test_the_log_pages_with_htmx(client, admin, app):
    app.config["ADMIN_DELIVERIES_PER_PAGE"] = 2
    subscription = WebhookSubscriptionFactory(owner=admin)
    for _ in range(3):
        NotificationDeliveryFactory(channel=service.CHANNEL, subscription_id=subscription.id)
    db.session.commit()
    fragment = html(client.get(f"/admin/webhooks/{subscription.id}?page=2", headers=HX))
    assert fragment.lstrip().startswith('<div id="webhook-log">') and "Page 2 of 2" in fragment
    assert client.get(f"/admin/webhooks/{subscription.id}?page=x").status_code == 400
