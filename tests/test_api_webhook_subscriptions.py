"""Webhook subscriptions over the API: admins only, the service's rules, the secret once, If-Match."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import NotificationDelivery, WebhookSubscription
from app.services import webhook_subscriptions as service
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import AdminFactory, ManagerFactory

URL = "/api/v1/webhook-subscriptions"


@pytest.fixture
def admin(app):
    return bearer(token_for(AdminFactory()))


def _count() -> int:
    return db.session.scalar(select(func.count(WebhookSubscription.id)))


def test_create_shows_the_secret_once_then_read_list_and_deliveries(app, admin):
    client = app.test_client()
    created = client.post(URL, json={"url": "https://hooks.example.com/mp", "event_types": ["dispatch.created"],
                                     "description": "ERP"}, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["secret"].startswith(service.SECRET_PREFIX) and body["active"] is True
    one = client.get(created.headers["Location"], headers=admin)
    assert one.status_code == 200 and "secret" not in one.get_json() and one.headers["ETag"] == created.headers["ETag"]
    listed = client.get(URL, headers=admin).get_json()["items"]
    assert [s["url"] for s in listed] == ["https://hooks.example.com/mp"] and "secret" not in listed[0]
    service.send_test(body["id"])
    log = client.get(f"{URL}/{body['id']}/deliveries", headers=admin)
    assert log.status_code == 200 and log.headers["X-Total-Count"] == "1"
    assert log.get_json()["items"][0]["event_type"] == "webhook.test"


def test_refused_creation_names_each_field_and_creates_nothing(app, admin):
    client = app.test_client()
    response = client.post(URL, json={"url": "ftp://x", "event_types": ["no.such"]}, headers=admin)
    problem = assert_problem(response, 422)
    assert "event_types.0" in problem["errors"] or "event_types" in problem["errors"], problem
    response = client.post(URL, json={"url": "ftp://hooks.example.com", "event_types": ["alert.raised"]}, headers=admin)
    assert "url" in assert_problem(response, 422, "URL")["errors"]
    assert _count() == 0


def test_patch_pauses_changes_and_needs_if_match(app, admin):
    client = app.test_client()
    created = client.post(URL, json={"url": "https://hooks.example.com/a", "event_types": ["alert.raised"]},
                          headers=admin)
    number, etag = created.get_json()["id"], created.headers["ETag"]
    assert_problem(client.patch(f"{URL}/{number}", json={"active": False}, headers=admin), 428)
    paused = client.patch(f"{URL}/{number}", json={"active": False, "event_types": ["dispatch.assigned"]},
                          headers={**admin, "If-Match": etag})
    assert paused.status_code == 200, paused.get_data(as_text=True)
    assert paused.get_json()["active"] is False and paused.get_json()["event_types"] == ["dispatch.assigned"]
    stale = client.patch(f"{URL}/{number}", json={"url": "https://hooks.example.com/b"},
                         headers={**admin, "If-Match": etag})
    assert_problem(stale, 412, "changed since you read it")
    bad = client.patch(f"{URL}/{number}", json={"url": "not a url"},
                       headers={**admin, "If-Match": paused.headers["ETag"]})
    assert "url" in assert_problem(bad, 422)["errors"]
    db.session.expire_all()
    stored = db.session.get(WebhookSubscription, number)
    assert stored.url == "https://hooks.example.com/a" and stored.active is False


def test_delete_needs_if_match_and_404_after(app, admin):
    client = app.test_client()
    created = client.post(URL, json={"url": "https://hooks.example.com/a", "event_types": ["alert.raised"]},
                          headers=admin)
    number = created.get_json()["id"]
    assert_problem(client.delete(f"{URL}/{number}", headers=admin), 428)
    assert _count() == 1
    assert client.delete(f"{URL}/{number}", headers={**admin, "If-Match": created.headers["ETag"]}).status_code == 204
    assert _count() == 0
    assert_problem(client.get(f"{URL}/{number}", headers=admin), 404)


def test_managers_are_refused(app):
    manager = bearer(token_for(ManagerFactory()))
    client = app.test_client()
    assert_problem(client.get(URL, headers=manager), 403)
    assert_problem(client.post(URL, json={"url": "https://hooks.example.com", "event_types": ["alert.raised"]},
                               headers=manager), 403)
    assert _count() == 0


def _create(client, admin, url="https://hooks.example.com/a"):
    created = client.post(URL, json={"url": url, "event_types": ["alert.raised"]}, headers=admin)
    assert created.status_code == 201, created.get_data(as_text=True)
    return created.get_json(), created.headers["ETag"]


def _stored(subscription_id) -> WebhookSubscription:
    db.session.expire_all()
    return db.session.get(WebhookSubscription, subscription_id)


def _deliveries(subscription_id) -> list[NotificationDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(NotificationDelivery).where(
        NotificationDelivery.subscription_id == subscription_id).order_by(NotificationDelivery.id)))


def test_rotating_the_secret_shows_the_new_one_once_and_needs_if_match(app, admin):
    client = app.test_client()
    body, etag = _create(client, admin)
    rotation = f"{URL}/{body['id']}/secret-rotation"
    assert_problem(client.post(rotation, headers=admin), 428, "If-Match")
    assert_problem(client.post(rotation, headers={**admin, "If-Match": '"stale"'}), 412)
    assert _stored(body["id"]).secret == body["secret"] and _stored(body["id"]).secret_rotated_at is None
    rotated = client.post(rotation, headers={**admin, "If-Match": etag})
    assert rotated.status_code == 200, rotated.get_data(as_text=True)
    new = rotated.get_json()
    assert new["secret"].startswith(service.SECRET_PREFIX) and new["secret"] != body["secret"]
    assert new["secret_rotated_at"] and _stored(body["id"]).secret == new["secret"]
    assert rotated.headers["ETag"] != etag  # the old ETag no longer changes anything
    assert_problem(client.patch(f"{URL}/{body['id']}", json={"description": "x"},
                                headers={**admin, "If-Match": etag}), 412)
    read = client.get(f"{URL}/{body['id']}", headers=admin)
    assert "secret" not in read.get_json() and read.headers["ETag"] == rotated.headers["ETag"]


def test_a_test_event_is_queued_for_this_subscription_only(app, admin):
    client = app.test_client()
    first, _ = _create(client, admin, "https://hooks.example.com/first")
    second, second_etag = _create(client, admin, "https://hooks.example.com/second")
    sent = client.post(f"{URL}/{first['id']}/test-deliveries", headers=admin)
    assert sent.status_code == 202, sent.get_data(as_text=True)
    body = sent.get_json()
    assert body["event_type"] == "webhook.test" and body["status"] == "pending" and body["attempts"] == 0
    assert body["subscription_id"] == first["id"] and sent.headers["Location"].endswith(f"/{first['id']}/deliveries")
    assert [d.public_id for d in _deliveries(first["id"])] == [body["id"]] and _deliveries(second["id"]) == []
    # Paused: refused, says why, queues nothing.
    client.patch(f"{URL}/{second['id']}", json={"active": False}, headers={**admin, "If-Match": second_etag})
    paused = client.post(f"{URL}/{second['id']}/test-deliveries", headers=admin)
    assert "paused" in assert_problem(paused, 422)["detail"]
    assert _deliveries(second["id"]) == []
    assert_problem(client.post(f"{URL}/999999/test-deliveries", headers=admin), 404)


def _dead(delivery: NotificationDelivery) -> None:
    delivery.status, delivery.attempts, delivery.last_error = "dead", 5, "HTTP 500"
    db.session.commit()


def test_a_dead_delivery_is_retried_with_fresh_tries(app, admin):
    client = app.test_client()
    body, _ = _create(client, admin)
    queued = client.post(f"{URL}/{body['id']}/test-deliveries", headers=admin).get_json()
    [delivery] = _deliveries(body["id"])
    _dead(delivery)
    retried = client.post(f"{URL}/{body['id']}/deliveries/{queued['id']}/retry", headers=admin)
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert retried.get_json()["status"] == "pending" and retried.get_json()["attempts"] == 0
    [delivery] = _deliveries(body["id"])
    assert delivery.status == "pending" and delivery.attempts == 0


def test_refused_retries_say_why_and_change_nothing(app, admin):
    client = app.test_client()
    body, etag = _create(client, admin)
    other, _ = _create(client, admin, "https://hooks.example.com/other")
    queued = client.post(f"{URL}/{body['id']}/test-deliveries", headers=admin).get_json()
    [delivery] = _deliveries(body["id"])
    delivery.status, delivery.attempts = "delivered", 1
    db.session.commit()
    retry = f"{URL}/{body['id']}/deliveries/{queued['id']}/retry"
    assert "only dead or waiting" in assert_problem(client.post(retry, headers=admin), 422)["detail"]
    # Another subscription's delivery, a malformed id: no such delivery here.
    assert_problem(client.post(f"{URL}/{other['id']}/deliveries/{queued['id']}/retry", headers=admin), 404)
    assert_problem(client.post(f"{URL}/{body['id']}/deliveries/not-an-id/retry", headers=admin), 404)
    [delivery] = _deliveries(body["id"])
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    # A paused subscription's dead delivery waits for it to resume.
    _dead(delivery)
    client.patch(f"{URL}/{body['id']}", json={"active": False}, headers={**admin, "If-Match": etag})
    assert "resume it" in assert_problem(client.post(retry, headers=admin), 422)["detail"]
    [delivery] = _deliveries(body["id"])
    assert (delivery.status, delivery.attempts) == ("dead", 5)


@pytest.mark.parametrize("path_id", ["a%00b", "{id}%00", "{id}x", "{id}%20", "%20{id}"])
def test_a_retry_of_an_id_that_is_no_uuid_is_a_404_on_both_databases(app, admin, path_id):
    """A NUL reaches no query (PostgreSQL's driver refuses one: not a 400 there and a 404 on
    SQLite), and a real id with anything around it is not taken for that id: each is no
    delivery of this subscription, and nothing is retried."""
    client = app.test_client()
    body, _ = _create(client, admin)
    queued = client.post(f"{URL}/{body['id']}/test-deliveries", headers=admin).get_json()
    [delivery] = _deliveries(body["id"])
    _dead(delivery)
    delivery_id = path_id.format(id=queued["id"])
    response = client.post(f"{URL}/{body['id']}/deliveries/{delivery_id}/retry", headers=admin)
    assert "has no delivery" in assert_problem(response, 404)["detail"]
    [delivery] = _deliveries(body["id"])
    assert (delivery.status, delivery.attempts) == ("dead", 5)


def test_managers_cannot_rotate_test_or_retry(app, admin):
    client = app.test_client()
    body, etag = _create(client, admin)
    queued = client.post(f"{URL}/{body['id']}/test-deliveries", headers=admin).get_json()
    manager = bearer(token_for(ManagerFactory()))
    assert_problem(client.post(f"{URL}/{body['id']}/secret-rotation", headers={**manager, "If-Match": etag}), 403)
    assert_problem(client.post(f"{URL}/{body['id']}/test-deliveries", headers=manager), 403)
    assert_problem(client.post(f"{URL}/{body['id']}/deliveries/{queued['id']}/retry", headers=manager), 403)
    assert _stored(body["id"]).secret == body["secret"] and len(_deliveries(body["id"])) == 1


@pytest.mark.parametrize("url", ["0", "hooks.example.com/x", "https://", "https://a b.example.com"])
def test_a_url_outside_the_documented_pattern_is_refused_by_the_service(app, admin, url):
    """The document's URL pattern is what the service takes: a URL outside it is a 422 naming url."""
    import re

    from app.api.webhook_subscriptions import URL_PATTERN

    assert not re.match(URL_PATTERN, url)
    response = app.test_client().post(URL, json={"url": url, "event_types": ["alert.raised"]}, headers=admin)
    assert "url" in assert_problem(response, 422)["errors"]
    assert _count() == 0
