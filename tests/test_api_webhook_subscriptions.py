"""Webhook subscriptions over the API: admins only, the service's rules, the secret once, If-Match."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import WebhookSubscription
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
