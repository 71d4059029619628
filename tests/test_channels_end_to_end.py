"""The built-in channels through the whole path: queued with the change, sent by the worker.

Real servers on loopback: an SMTP server and an HTTP receiver that verifies each Standard
Webhooks signature. Both are down when the notifications are first tried, and come back:
everything arrives once, each webhook with its delivery's id, nothing is lost.
"""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from app.extensions import db
from app.models import NotificationDelivery, clock_at, utcnow
from app.plugins.contracts import Notification
from app.services import delivery_worker, matching
from app.services.actors import acting_as, system_user
from app.services.notifications import notify
from tests import matching_support as ms
from tests.delivery_support import Receiver
from tests.factories import ManagerFactory
from tests.support.smtp_server import SMTPServer

SECRET = "whsec_" + base64.b64encode(b"motorpool-end-to-end-secret-0001").decode()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def smtp():
    server = SMTPServer("none")  # not started yet: the relay is down
    yield server
    try:
        server.stop()
    except Exception:  # never started
        pass


@pytest.fixture
def app(make_app, receiver, smtp):
    app = make_app(
        MOTORPOOL_NOTIFIERS="webhook,email,in_app", MOTORPOOL_DISABLED_PLUGINS="trailers",
        MOTORPOOL_WEBHOOK_URL=receiver.url, MOTORPOOL_WEBHOOK_SECRET=SECRET,
        MOTORPOOL_SMTP_HOST="127.0.0.1", MOTORPOOL_SMTP_PORT=smtp.port, MOTORPOOL_SMTP_SECURITY="none",
        MOTORPOOL_SMTP_FROM="motorpool@fleet.example", MOTORPOOL_SMTP_TIMEOUT=2.0,
    )
    with app.app_context(), acting_as(system_user()):
        yield app


def rows() -> list[NotificationDelivery]:
    db.session.expire_all()
    return list(db.session.query(NotificationDelivery).order_by(NotificationDelivery.id))


def test_an_assignment_and_an_alert_reach_every_channel_after_an_outage(app, receiver, smtp):
    ManagerFactory(email="mia@fleet.example")
    technician = ms.technician("Ada")
    dispatch = ms.dispatch()
    matching.assign_to(dispatch, technician.id)  # queues "assigned to you" in its transaction
    notify(Notification(kind="alert.firing", subject="Pending queue is critical", body="23 dispatches wait.",
                        severity="critical", category="pending_queue", roles=("manager",),
                        data={"alert": {"category": "pending_queue", "metric_value": "23"}}))
    queued = rows()
    assert sorted((r.kind, r.channel) for r in queued) == [
        ("alert.firing", "email"), ("alert.firing", "in_app"), ("alert.firing", "webhook"),
        ("dispatch.assigned", "email"), ("dispatch.assigned", "in_app"), ("dispatch.assigned", "webhook"),
    ]

    receiver.stop()  # both receivers are down
    start = utcnow()
    report = delivery_worker.deliver_due()
    assert report.delivered == 2 and report.retried == 4  # only the bell is in-house
    waiting = [r for r in rows() if r.status == "pending"]
    assert {r.channel for r in waiting} == {"email", "webhook"}
    assert all(r.attempts == 1 and r.last_error for r in waiting)
    assert receiver.received == [] and smtp.received == []

    receiver.start()
    smtp.start()
    with clock_at(start + timedelta(minutes=1)):  # past the first backoff step (30 s ± 20 %)
        assert delivery_worker.deliver_due().delivered == 4
    assert {r.status for r in rows()} == {"delivered"}

    # Each webhook verifies with the shared secret and carries its delivery's stable id.
    verifier = Webhook(SECRET)
    webhook_ids = {r.public_id for r in rows() if r.channel == "webhook"}
    assert sorted(item["id"] for item in receiver.received) == sorted(webhook_ids)
    for item in receiver.received:
        verified = verifier.verify(item["body"], {k.lower(): v for k, v in item["headers"].items()})
        assert verified["type"] in {"dispatch.assigned", "alert.firing"}
    assert {json.loads(item["body"])["type"] for item in receiver.received} == {"dispatch.assigned", "alert.firing"}

    # The email went to the technician and to the managers by role.
    recipients = sorted(address for message in smtp.received for address in message.recipients)
    assert recipients == sorted([technician.email, "mia@fleet.example"])

    # Running the worker again sends nothing twice.
    with clock_at(start + timedelta(minutes=2)):
        assert delivery_worker.deliver_due().delivered == 0
    assert len(receiver.received) == 2 and len(smtp.received) == 2
