"""Webhook subscriptions end to end: the service, the events it is sent, the worker, a real receiver.

The receiver listens on 127.0.0.1 and verifies every request with the ``standardwebhooks``
library and the secret the service showed once. Beside it, the ordinary ``webhook``
notification channel posts to a receiver of its own: neither gets the other's traffic.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.extensions import db
from app.models import NotificationDelivery, WebhookSubscription, clock_at, utcnow
from app.services import alerting, delivery_worker, dispatches, matching, notifications
from app.services import webhook_subscriptions as service
from app.services.actors import acting_as
from app.services.errors import NotFound, ValidationError
from app.services.events_feed import EVENT_TYPES
from app.services.transaction import transaction
from tests import matching_support as ms
from tests.delivery_support import Receiver
from tests.factories import AdminFactory, TechnicianFactory
from tests.test_defects_and_repairs import sign_off_with_defects
from tests.test_checklist_rules import TRUCK, asset_with, assigned_dispatch

CHANNEL_SECRET = "whsec_" + "bW90b3Jwb29sLWNoYW5uZWwtc2VjcmV0LTAwMDAwMDE="


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def channel_receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def app(make_app, channel_receiver):
    app = make_app(
        MOTORPOOL_NOTIFIERS="webhook", MOTORPOOL_DISABLED_PLUGINS="trailers",
        MOTORPOOL_WEBHOOK_URL=channel_receiver.url, MOTORPOOL_WEBHOOK_SECRET=CHANNEL_SECRET,
        MOTORPOOL_WEBHOOK_TIMEOUT=2.0, MOTORPOOL_DELIVERY_BACKOFF="30s", MOTORPOOL_DELIVERY_JITTER=0.0,
    )
    with app.app_context():
        yield app


@pytest.fixture
def admin(app):
    admin = AdminFactory(name="Ada Admin")
    with acting_as(admin):
        yield admin


def subscribe(receiver: Receiver, *types: str) -> tuple[WebhookSubscription, str]:
    return service.create_subscription(url=receiver.url, event_types=list(types or ["dispatch.assigned"]),
                                       description="Fleet ERP")


def rows(**where) -> list[NotificationDelivery]:
    db.session.expire_all()
    query = select(NotificationDelivery).order_by(NotificationDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(NotificationDelivery, name) == value)
    return list(db.session.scalars(query))


def work() -> delivery_worker.WorkReport:
    report = delivery_worker.deliver_due()
    db.session.expire_all()
    return report


def later(minutes: float):
    return clock_at(utcnow() + timedelta(minutes=minutes))


def assign_one():
    technician = ms.technician("Tess")
    dispatch = ms.dispatch()
    matching.assign_to(dispatch, technician.id)
    return dispatch, technician


# --- The whole path ----------------------------------------------------------------------------


def test_an_assignment_reaches_the_subscriber_signed_with_the_secret_shown_once(admin, receiver, channel_receiver):
    subscription, secret = subscribe(receiver, "dispatch.assigned")
    assert secret.startswith("whsec_") and secret == subscription.secret
    dispatch, technician = assign_one()

    (queued,) = rows(channel=service.CHANNEL)
    assert queued.subscription_id == subscription.id and queued.kind == "dispatch.assigned"
    assert [r.channel for r in rows(channel="webhook")] == ["webhook"]  # the technician's notice, as ever
    report = work()
    assert report.delivered == 2 and report.errors == []

    (request,) = receiver.received
    payload = Webhook(secret).verify(request["body"], request["headers"])
    assert request["id"] == queued.public_id
    assert payload["type"] == "dispatch.assigned"
    assert payload["timestamp"].endswith("Z")
    assert payload["data"]["dispatch_number"] == dispatch.dispatch_number
    assert payload["data"]["dispatch"]["status"] == "Assigned"
    assert payload["data"]["technician"] == {"id": technician.id, "name": "Tess"}
    assert payload["data"]["actor"]["name"] == "Ada Admin"
    with pytest.raises(WebhookVerificationError):
        Webhook(CHANNEL_SECRET).verify(request["body"], request["headers"])
    # The notification channel got its notification and nothing of the subscription's.
    (notice,) = channel_receiver.received
    assert notice["json"]["type"] == "dispatch.assigned" and "subject" in notice["json"]["data"]
    assert notice["id"] != queued.public_id
    db.session.refresh(subscription)
    assert subscription.last_success_at is not None and subscription.last_failure_at is None


def test_a_500_is_retried_with_the_same_id_then_dead_and_retried_from_the_log(admin, receiver):
    subscription, secret = subscribe(receiver)
    receiver.answers = [(500, {}), (503, {})]
    assign_one()
    (queued,) = rows(channel=service.CHANNEL)

    assert work().retried == 1
    (row,) = rows(channel=service.CHANNEL)
    assert row.status == "pending" and row.attempts == 1 and "answered 500" in row.last_error
    db.session.refresh(subscription)
    assert subscription.last_failure_at is not None and "500" in subscription.last_error
    with later(1):
        assert work().dead == 1  # the schedule has one retry: the second failure is the last
    (row,) = rows(channel=service.CHANNEL)
    assert row.status == "dead" and row.attempts == 2

    service.retry_delivery(subscription.id, row.public_id)
    assert work().delivered == 1
    (request,) = receiver.received
    assert receiver.refused == [500, 503]
    assert request["id"] == queued.public_id  # one id for every try: receivers de-duplicate on it
    Webhook(secret).verify(request["body"], request["headers"])


def test_a_paused_subscription_gets_nothing(admin, receiver):
    subscription, _ = subscribe(receiver)
    assign_one()  # queued while active
    service.set_active(subscription.id, False)
    assign_one()  # paused: nothing queued
    assert len(rows(channel=service.CHANNEL)) == 1
    work()
    assert receiver.received == [] and receiver.refused == []
    (row,) = rows(channel=service.CHANNEL)
    assert row.status == "dead" and "paused" in row.last_error
    with pytest.raises(ValidationError, match="paused; resume it"):
        service.retry_delivery(subscription.id, row.public_id)
    assert rows(channel=service.CHANNEL)[0].status == "dead"


def test_a_subscription_to_other_types_gets_nothing(admin, receiver):
    subscribe(receiver, "alert.raised", "checklist.signed_off")
    assign_one()
    assert rows(channel=service.CHANNEL) == []
    work()
    assert receiver.received == []


def test_a_rolled_back_change_queues_nothing(admin, receiver):
    subscribe(receiver, "dispatch.assigned", "dispatch.status_changed")
    dispatch = ms.dispatch()
    off_duty = TechnicianFactory(name="Inactive", is_active_user=False)
    with pytest.raises(ValidationError):
        dispatches.assign(dispatch, off_duty)
    technician = ms.technician("Tess")
    with pytest.raises(RuntimeError), transaction():
        dispatches.assign(dispatch, technician)
        raise RuntimeError("the caller fails after the assignment")
    assert rows(channel=service.CHANNEL) == []


def test_nothing_is_queued_while_notifications_are_held(admin, receiver):
    subscribe(receiver)
    with notifications.held():
        assign_one()
    assert rows(channel=service.CHANNEL) == []


def test_each_event_type_of_the_catalogue_is_published_where_it_happens(admin, receiver):
    subscription, _ = subscribe(receiver, *EVENT_TYPES)
    technician = TechnicianFactory(name="Tess")
    truck = asset_with(TRUCK, asset_tag="TRK-7")
    trip = assigned_dispatch(truck, technician, title="Trip")
    dispatches.change_status(trip, "In Progress")
    repair = sign_off_with_defects(trip, technician, {"tires_checked": "Front left tyre worn to the cord"})
    alerting.raise_alert("pending_queue", "warning", "12 dispatches wait")
    kinds = [r.kind for r in rows(subscription_id=subscription.id)]
    assert kinds == ["dispatch.created", "dispatch.status_changed", "dispatch.assigned", "dispatch.status_changed",
                     "checklist.signed_off", "dispatch.created", "checklist.defect_reported", "alert.raised"]
    assert set(kinds) == set(EVENT_TYPES)
    work()
    by_type = {r["json"]["type"]: r["json"]["data"] for r in receiver.received}
    assert len(receiver.received) == len(kinds)
    defect = by_type["checklist.defect_reported"]
    assert defect["repair_dispatch_number"] == repair.dispatch_number
    assert defect["defects"][0]["description"] == "Front left tyre worn to the cord"
    assert defect["actor"]["name"] == "Tess" and defect["asset_tag"] == "TRK-7"
    assert by_type["checklist.signed_off"]["checklist"]["open_defects"] == 1
    assert by_type["alert.raised"]["alert"]["category_key"] == "pending_queue"
    assert by_type["alert.raised"]["actor"] is None
    created = [r["json"]["data"] for r in receiver.received if r["json"]["type"] == "dispatch.created"]
    assert [c["actor"]["name"] for c in created] == ["Ada Admin", "Tess"]  # the trip, then its repair


# --- Managing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"url": ""}, "url", "Give the URL"),
    ({"url": "ftp://files.example.com/x"}, "url", "must be an http:// or https:// URL"),
    ({"url": "https://"}, "url", "must name a host"),
    ({"url": "https://hooks.example.com/a b"}, "url", "spaces or control characters"),
    ({"url": "https://hooks.example.com/" + "a" * 500}, "url", "at most 500"),
    ({"event_types": []}, "event_types", "at least one event type"),
    ({"event_types": ["dispatch.deleted"]}, "event_types", "Unknown event types: 'dispatch.deleted'"),
    ({"description": "x" * 201}, "description", "keep it to 200"),
    ({"description": "two\nlines"}, "description", "without control characters"),
])
def test_refused_input_says_why_and_changes_nothing(admin, values, field, words):
    given = {"url": "https://hooks.example.com/motorpool", "event_types": ["dispatch.created"], "description": ""}
    given.update(values)
    with pytest.raises(ValidationError) as refused:
        service.create_subscription(**given)
    assert words in refused.value.message
    assert field in {e.field for e in getattr(refused.value, "errors", [refused.value])}
    assert db.session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_types_may_be_given_as_one_comma_separated_text(admin):
    subscription, _ = service.create_subscription(url="https://hooks.example.com/x",
                                                  event_types="alert.raised, dispatch.created")
    assert subscription.event_types == ["dispatch.created", "alert.raised"]  # in the catalogue's order


def test_private_addresses_are_refused_when_the_setting_says_so(make_app):
    app = make_app(MOTORPOOL_WEBHOOK_REFUSE_PRIVATE=True)
    with app.app_context(), acting_as(AdminFactory()):
        with pytest.raises(ValidationError, match="127.0.0.1, a loopback"):
            service.create_subscription(url="http://127.0.0.1:9/hook", event_types=["dispatch.created"])
        assert db.session.scalar(select(func.count()).select_from(WebhookSubscription)) == 0


def test_rotating_the_secret_signs_from_then_on_with_the_new_one_only(admin, receiver):
    subscription, old = subscribe(receiver)
    assign_one()
    _, new = service.rotate_secret(subscription.id)
    assert new != old and new.startswith("whsec_")
    work()  # queued before the rotation, sent after it: signed with the new secret
    (request,) = receiver.received
    Webhook(new).verify(request["body"], request["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request["body"], request["headers"])


def test_a_test_event_goes_to_that_subscription_only(admin, receiver):
    first, secret = subscribe(receiver, "alert.raised")
    second, _ = subscribe(receiver, "alert.raised")
    row = service.send_test(first.id)
    assert row.subscription_id == first.id and [r.kind for r in rows(channel=service.CHANNEL)] == ["webhook.test"]
    work()
    (request,) = receiver.received
    assert Webhook(secret).verify(request["body"], request["headers"])["type"] == "webhook.test"
    service.set_active(second.id, False)
    with pytest.raises(ValidationError, match="paused; resume it to send a test"):
        service.send_test(second.id)
    assert len(rows(channel=service.CHANNEL)) == 1


def test_pausing_twice_is_refused_and_changes_nothing(admin, receiver):
    subscription, _ = subscribe(receiver)
    service.set_active(subscription.id, False)
    with pytest.raises(ValidationError, match="already paused"):
        service.set_active(subscription.id, False)
    service.set_active(subscription.id, True)
    db.session.refresh(subscription)
    assert subscription.active is True


def test_deleting_removes_the_subscription_and_its_deliveries(admin, receiver):
    subscription, _ = subscribe(receiver)
    other, _ = subscribe(receiver)
    assign_one()
    assert len(rows(channel=service.CHANNEL)) == 2
    service.delete_subscription(subscription.id)
    assert [r.subscription_id for r in rows(channel=service.CHANNEL)] == [other.id]
    assert db.session.get(WebhookSubscription, subscription.id) is None
    with pytest.raises(NotFound, match="no webhook subscription"):
        service.delete_subscription(subscription.id)


def test_a_delivery_of_another_subscription_is_not_retried_from_this_log(admin, receiver):
    first, _ = subscribe(receiver)
    second, _ = subscribe(receiver)
    assign_one()
    theirs = rows(subscription_id=second.id)[0]
    with pytest.raises(NotFound, match="has no delivery"):
        service.retry_delivery(first.id, theirs.public_id)


def test_the_list_shows_each_last_delivery_in_three_queries(admin, receiver):
    from tests.support.query_counter import counting_queries

    first, _ = subscribe(receiver)
    second, _ = subscribe(receiver, "alert.raised")
    assign_one()
    work()
    with counting_queries() as statements:
        views = service.list_subscriptions()
    assert len(statements) == 3
    assert [v.last_delivery.status if v.last_delivery else None for v in views] == ["delivered", None]
    assert [v.status for v in views] == ["active", "active"]


def test_publishing_an_unknown_type_is_a_programming_error(app):
    with pytest.raises(ValueError, match="not in the webhook event catalogue"):
        service.publish("dispatch.deleted", data={})
