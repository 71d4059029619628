"""The delivery worker as a real process: SIGTERM stops it cleanly, SIGKILL mid-send loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import NotificationDelivery, clock_at
from app.plugins.contracts import Notification
from app.services import delivery_worker, notifications
from app.services.actors import acting_as, system_user
from tests.delivery_support import Receiver

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


def worker_process(database_url: str, receiver: Receiver, tmp_path: Path) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MOTORPOOL_", "FLASK_"))}
    env.update({
        "DATABASE_URL": database_url, "SECRET_KEY": "worker-test", "FLASK_APP": "wsgi",
        "MOTORPOOL_NOTIFIERS": "trailers_webhook", "MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL": receiver.url,
        "MOTORPOOL_DELIVERY_POLL_SECONDS": "0.1", "MOTORPOOL_ALERT_LOG": str(tmp_path / "alerts.log"),
        "PYTHONWARNINGS": "ignore",
    })
    flask = Path(sys.executable).parent / "flask"
    return subprocess.Popen([str(flask), "deliveries", "work"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def queue(app, subject: str) -> None:
    with app.app_context(), acting_as(system_user()):
        notifications.notify(Notification(kind="alert.test", subject=subject, body=""))
        db.session.remove()


def wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_stops_the_worker_cleanly_after_it_delivered(make_app, database_url, receiver, tmp_path):
    app = make_app(MOTORPOOL_NOTIFIERS="trailers_webhook")
    queue(app, "before start")
    process = worker_process(database_url, receiver, tmp_path)
    try:
        wait_for(lambda: len(receiver.received) == 1)
        queue(app, "while running")
        wait_for(lambda: len(receiver.received) == 2)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Delivery worker running" in output and "Delivery worker stopped." in output
    assert [item["json"]["subject"] for item in receiver.received] == ["before start", "while running"]
    with app.app_context():
        assert set(db.session.scalars(select(NotificationDelivery.status))) == {"delivered"}


def test_a_worker_killed_mid_send_is_taken_over_after_its_lease_with_the_same_delivery_id(
    make_app, database_url, receiver, tmp_path
):
    app = make_app(MOTORPOOL_NOTIFIERS="trailers_webhook", MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL=receiver.url)
    queue(app, "in flight")
    receiver.delay = 3.0  # the request arrives, the answer does not come before the kill
    process = worker_process(database_url, receiver, tmp_path)
    try:
        assert receiver.arrived.wait(30)
    finally:
        process.kill()  # SIGKILL: no clean-up, no outcome recorded
        process.communicate(timeout=30)
    receiver.delay = 0.0
    with app.app_context():
        row = db.session.scalar(select(NotificationDelivery))
        assert (row.status, row.attempts) == ("sending", 1) and f":{process.pid}:" in row.claimed_by
        assert delivery_worker.deliver_due(worker="successor").claimed == 0  # the lease still holds
        with clock_at(row.lease_until + timedelta(seconds=1)):
            assert delivery_worker.deliver_due(worker="successor").delivered == 1
        db.session.expire_all()
        row = db.session.scalar(select(NotificationDelivery))
        assert (row.status, row.attempts, row.claimed_by) == ("delivered", 2, "successor")
        public_id = row.public_id
    # The receiver may have recorded the killed try too once its sleep ended: every copy has the same id.
    assert receiver.ids() and set(receiver.ids()) == {public_id}
