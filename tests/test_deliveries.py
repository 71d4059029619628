"""Durable notification delivery: the outbox rows, routing, the worker, leases, backoff, dead letters.

Deliveries go to a real HTTP receiver on loopback through the example plugin's webhook
channel; nothing is mocked. Time moves with ``clock_at``, which the worker reads too.
"""

from __future__ import annotations

import os
import random
import sys
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import NotificationChannel, NotificationDelivery, clock_at, utcnow
from app.plugins import hookimpl
from app.plugins.contracts import Notification
from app.services import delivery_worker as worker
from app.services import dispatches as dispatch_service
from app.services import matching, notifications
from app.services.actors import acting_as, system_user
from app.services.errors import NotFound, ValidationError
from app.services.transaction import transaction
from tests import matching_support as ms
from tests.conftest import base_config
from tests.delivery_support import Receiver
from tests.plugin_support import Plugins

URL_SETTING = "MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def plugins(monkeypatch) -> Plugins:
    return Plugins(monkeypatch)


@pytest.fixture
def webhook_app(make_app, receiver):
    """An app whose only channel is the example plugin's webhook, posting to ``receiver``."""
    app = make_app(MOTORPOOL_NOTIFIERS="trailers_webhook", **{URL_SETTING: receiver.url},
                   MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_TIMEOUT=2.0, MOTORPOOL_DELIVERY_JITTER=0.0)
    with app.app_context():
        user = system_user()
        db.session.commit()
        with acting_as(user):
            yield app
        db.session.rollback()


def alert(subject="SLA compliance low", severity="warning", category="sla_compliance", kind="alert.firing", **more):
    more.setdefault("data", {"value": 68.5})
    return Notification(kind=kind, subject=subject, body="Only 137 of 200 met their SLA.", severity=severity,
                        category=category, **more)


def queue(*items: Notification) -> None:
    with transaction():
        for item in items:
            notifications.notify(item)


def rows(**where) -> list[NotificationDelivery]:
    db.session.expire_all()
    query = select(NotificationDelivery).order_by(NotificationDelivery.id)
    for name, value in where.items():
        query = query.where(getattr(NotificationDelivery, name) == value)
    return list(db.session.scalars(query))


def count_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(NotificationDelivery))


# --- Queuing in the caller's transaction --------------------------------------------------------


def test_an_assignment_queues_one_row_per_channel_in_its_own_transaction(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="console,log_file")
    with app.app_context(), acting_as(system_user()):
        technician = ms.technician("Tess Outbox")
        dispatch = ms.dispatch(priority="High")
        dispatch_service.assign(dispatch, technician, "Manual pick")
        number, email = dispatch.dispatch_number, technician.email
        queued = rows()
        assert sorted(r.channel for r in queued) == ["console", "log_file"]
        assert all(r.status == "pending" and r.attempts == 0 for r in queued)
        assert len({r.public_id for r in queued}) == 2 and all(uuid.UUID(r.public_id) for r in queued)
        stored = queued[0].notification
        assert stored["kind"] == "dispatch.assigned" and stored["dispatch_number"] == number
        assert stored["subject"] == f"Dispatch {number} assigned to you"
        assert stored["recipients"] == [email] and stored["severity"] == "warning"
        assert set(stored) == {"kind", "subject", "body", "recipients", "severity", "dispatch_number", "category",
                               "roles", "html", "data"}
        assert queued[0].created_by_id == system_user().id


def test_a_rolled_back_assignment_queues_nothing(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="console,log_file")
    with app.app_context(), acting_as(system_user()):
        ms.technician("Rolf Back")
        dispatch = ms.dispatch()
        with pytest.raises(RuntimeError), transaction():
            matching.auto_assign(dispatch)
            assert count_rows() == 2  # written inside the transaction ...
            raise RuntimeError("abort")
        assert count_rows() == 0  # ... and gone with it
        metric = matching.auto_assign(dispatch)
        assert metric is not None and count_rows() == 2


def test_batch_and_manual_assignments_queue_the_technician_s_notice_too(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="log_file")
    with app.app_context(), acting_as(system_user()):
        first, second = ms.technician("Bea Batch"), ms.technician("Manu Manual", at=ms.km_east(3))
        batch = [ms.dispatch(title=f"Batch {n}") for n in range(2)]
        report = matching.assign_pending()
        assert report.assigned == 2
        manual = ms.dispatch(title="Manual")
        matching.assign_to(manual, second.id, reason="Customer asked for Manu")
        numbers = sorted(d.dispatch_number for d in [*batch, manual])
        queued = rows()
        assert sorted(r.dispatch_number for r in queued) == numbers
        assert {r.notification["recipients"][0] for r in queued} <= {first.email, second.email}
        assert rows(dispatch_number=manual.dispatch_number)[0].notification["recipients"] == [second.email]


def test_notify_opens_a_transaction_when_none_is_open(webhook_app):
    notifications.notify(alert())
    db.session.rollback()  # nothing left uncommitted to lose
    assert [r.channel for r in rows()] == ["trailers_webhook"]


def test_held_queues_nothing_and_counts_by_kind(webhook_app):
    with notifications.held() as held:
        notifications.notify(alert())
        notifications.notify(alert(kind="alert.resolved"))
    assert held.counts == {"alert.firing": 1, "alert.resolved": 1} and count_rows() == 0


@pytest.mark.parametrize(("bad", "message"), [
    ({"severity": "urgent"}, "severity must be one of info, warning, critical, not 'urgent'"),
    ({"data": {"when": object()}}, "Notification.data must be JSON-serialisable"),
    ({"recipients": "ada@example.com"}, "recipients must be a list of strings"),
])
def test_a_malformed_notification_raises_at_once_and_queues_nothing(webhook_app, bad, message):
    fields = {"kind": "alert.firing", "subject": "x", "body": "", **bad}
    with pytest.raises((ValueError, TypeError), match=message):
        notifications.notify(Notification(**fields))
    assert count_rows() == 0


# --- Routing ---------------------------------------------------------------------------------


def test_routing_by_enabled_severity_category_and_extra_recipients(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="console,log_file")
    with app.app_context(), acting_as(system_user()):
        with transaction():
            db.session.add_all([
                NotificationChannel(name="log_file", enabled=True, min_severity="warning",
                                    categories=["sla_compliance"], recipient_roles=["manager"],
                                    recipient_addresses=["ops@example.com"]),
                NotificationChannel(name="console", enabled=False),
                NotificationChannel(name="trailers_webhook", enabled=True),  # not in MOTORPOOL_NOTIFIERS: turned on here
            ])
        queue(
            alert("info sla", severity="info"),                      # below log_file's minimum
            alert("critical cost", severity="critical", category="operational_cost"),  # category not taken
            alert("warning sla", severity="warning"),
        )
        routed = sorted((r.channel, r.notification["subject"]) for r in rows())
        assert routed == [("log_file", "warning sla"), ("trailers_webhook", "critical cost"), ("trailers_webhook", "info sla"),
                          ("trailers_webhook", "warning sla")]
        log_row = rows(channel="log_file")[0]
        assert log_row.notification["roles"] == ["manager"]
        assert log_row.notification["recipients"] == ["ops@example.com"]
        assert rows(channel="trailers_webhook")[0].notification["roles"] == []


def test_categories_filter_alerts_only(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="log_file")
    with app.app_context(), acting_as(system_user()):
        with transaction():
            db.session.add(NotificationChannel(name="log_file", categories=["sla_compliance"]))
        queue(
            Notification(kind="dispatch.assigned", subject="Dispatch D-1 assigned to you", body=""),
            Notification(kind="report.daily", subject="Daily summary", body=""),
            alert("other alert", category="utilisation"),
        )
        assert [r.kind for r in rows()] == ["dispatch.assigned", "report.daily"]


def test_channel_settings_are_read_once_per_transaction(make_app):
    app = make_app(MOTORPOOL_NOTIFIERS="log_file")
    with app.app_context(), acting_as(system_user()):
        statements: list[str] = []

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            with transaction():
                for n in range(5):
                    notifications.notify(alert(f"alert {n}"))
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        reads = [s for s in statements if "FROM notification_channels" in s]
        inserts = [s for s in statements if s.startswith("INSERT INTO notification_deliveries")]
        assert len(reads) == 1 and len(inserts) == 5
        assert count_rows() == 5


# --- Backoff -----------------------------------------------------------------------------------


def test_backoff_follows_the_schedule_with_jitter_and_retry_after_as_the_minimum(webhook_app):
    webhook_app.config["MOTORPOOL_DELIVERY_JITTER"] = 0.0
    assert [worker.retry_delay(n) for n in range(1, 7)] == [30, 120, 600, 3600, 21600, 21600]
    assert worker.max_attempts() == 6
    assert worker.retry_delay(1, retry_after=90) == 90
    assert worker.retry_delay(2, retry_after=5) == 120
    webhook_app.config["MOTORPOOL_DELIVERY_JITTER"] = 0.2
    rng = random.Random(7)
    delays = [worker.retry_delay(2, rng=rng) for _ in range(200)]
    assert 96 <= min(delays) < 110 and 130 < max(delays) <= 144


@pytest.mark.parametrize(("overrides", "message"), [
    ({"MOTORPOOL_DELIVERY_BACKOFF": "30s,soon"}, "MOTORPOOL_DELIVERY_BACKOFF must be waits separated by commas"),
    ({"MOTORPOOL_DELIVERY_BACKOFF": "30s,-2m"}, "'-2m' is not one"),
    ({"MOTORPOOL_DELIVERY_JITTER": 1.5}, "MOTORPOOL_DELIVERY_JITTER must be a fraction"),
    ({"MOTORPOOL_DELIVERY_LEASE_SECONDS": 0}, "MOTORPOOL_DELIVERY_LEASE_SECONDS must be a positive number"),
])
def test_bad_delivery_settings_stop_start_up_with_what_to_set(database_url, overrides, message):
    with pytest.raises(ValueError, match=message):
        create_app({**base_config(database_url), **overrides})


# --- The worker --------------------------------------------------------------------------------


def test_the_worker_delivers_with_the_delivery_id_and_records_it(webhook_app, receiver):
    queue(alert())
    report = worker.deliver_due()
    assert (report.claimed, report.delivered) == (1, 1)
    row = rows()[0]
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)
    assert row.delivered_at is not None and row.lease_until is None
    assert receiver.ids() == [row.public_id]
    assert receiver.received[0]["json"]["id"] == row.public_id
    assert receiver.received[0]["json"]["subject"] == "SLA compliance low"
    assert worker.deliver_due().claimed == 0  # nothing sent twice


def test_a_retryable_answer_is_retried_after_retry_after(webhook_app, receiver):
    receiver.answers = [(503, {"Retry-After": "120"})]
    queue(alert())
    start = utcnow()
    report = worker.deliver_due()
    assert (report.retried, report.delivered) == (1, 0)
    row = rows()[0]
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "RetryableDeliveryError: webhook answered 503")
    assert row.next_attempt_at >= start + timedelta(seconds=120)  # the schedule says 30 s; the receiver 120
    with clock_at(start + timedelta(seconds=60)):
        assert worker.deliver_due().claimed == 0  # not due yet
    with clock_at(row.next_attempt_at + timedelta(seconds=1)):
        assert worker.deliver_due().delivered == 1
    assert rows()[0].status == "delivered" and receiver.ids() == [row.public_id]


def test_without_retry_after_the_schedule_decides(webhook_app, receiver):
    receiver.answers = [(500, {}), (429, {})]
    queue(alert())
    start = utcnow()
    worker.deliver_due()
    first = rows()[0].next_attempt_at
    assert timedelta(seconds=29) <= first - start <= timedelta(seconds=31)
    with clock_at(first + timedelta(seconds=1)):
        worker.deliver_due()
        second = rows()[0]
        assert second.attempts == 2
        assert timedelta(seconds=119) <= second.next_attempt_at - (first + timedelta(seconds=1)) <= timedelta(seconds=121)


@pytest.mark.parametrize("status", [408, 429, 502])
def test_the_example_webhook_retries_408_429_and_5xx(webhook_app, receiver, status):
    receiver.answers = [(status, {})]
    queue(alert())
    assert worker.deliver_due().retried == 1
    assert rows()[0].last_error == f"RetryableDeliveryError: webhook answered {status}"


def test_the_example_webhook_reads_retry_after_as_an_http_date(webhook_app, receiver):
    from email.utils import format_datetime

    start = utcnow()
    receiver.answers = [(503, {"Retry-After": format_datetime(start + timedelta(minutes=10), usegmt=True)})]
    queue(alert())
    worker.deliver_due()
    assert rows()[0].next_attempt_at >= start + timedelta(minutes=9, seconds=58)


def test_the_example_webhook_retries_a_timeout(webhook_app, receiver):
    webhook_app.config["MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_TIMEOUT"] = 0.2
    receiver.delay = 1.0
    queue(alert())
    assert worker.deliver_due().retried == 1
    assert rows()[0].last_error == "RetryableDeliveryError: webhook not reachable: timed out"


def test_probes_say_what_is_wrong(webhook_app, tmp_path):
    webhook, log_file = (notifications.available_notifiers()[name] for name in ("trailers_webhook", "log_file"))
    webhook.probe()  # the receiver's URL is set
    webhook_app.config[URL_SETTING] = "ftp://example.com/hook"
    with pytest.raises(RuntimeError, match="must be an http or https URL"):
        webhook.probe()
    webhook_app.config[URL_SETTING] = None
    with pytest.raises(RuntimeError, match="MOTORPOOL_PLUGIN_TRAILERS_WEBHOOK_URL is not set"):
        webhook.probe()
    log_file.probe()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    webhook_app.config["MOTORPOOL_ALERT_LOG"] = str(locked / "alerts.log")
    try:
        if os.geteuid() == 0:  # root writes anywhere: a file where the folder should be instead
            webhook_app.config["MOTORPOOL_ALERT_LOG"] = str(tmp_path / "a-file" / "alerts.log")
            (tmp_path / "a-file").write_text("")
        with pytest.raises(OSError):
            log_file.probe()
    finally:
        locked.chmod(0o700)


def test_a_permanent_error_is_dead_at_once(webhook_app, receiver):
    receiver.answers = [(404, {})]
    queue(alert())
    report = worker.deliver_due()
    assert (report.dead, report.retried) == (1, 0)
    row = rows()[0]
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error == "PermanentDeliveryError: webhook answered 404; check the URL and the receiver"
    with clock_at(utcnow() + timedelta(days=2)):
        assert worker.deliver_due().claimed == 0


def test_after_the_last_try_the_delivery_is_dead_with_its_last_error(webhook_app, receiver):
    webhook_app.config["MOTORPOOL_DELIVERY_BACKOFF"] = "1m,2m"
    receiver.answers = [(500, {}), (502, {}), (503, {})]
    queue(alert())
    moment = utcnow()
    for expected in ("pending", "pending", "dead"):
        with clock_at(moment):
            worker.deliver_due()
        row = rows()[0]
        assert row.status == expected
        moment = row.next_attempt_at + timedelta(seconds=1)
    assert (row.attempts, row.last_error) == (3, "RetryableDeliveryError: webhook answered 503")
    assert receiver.refused == [500, 502, 503] and receiver.received == []


def test_retry_now_sends_a_dead_letter_again_and_refuses_what_cannot_be_retried(webhook_app, receiver):
    receiver.answers = [(410, {})]
    queue(alert())
    worker.deliver_due()
    dead = rows()[0]
    assert dead.status == "dead"
    worker.retry_now(dead.public_id)
    assert (rows()[0].status, rows()[0].attempts) == ("pending", 0)
    assert worker.deliver_due().delivered == 1
    assert receiver.ids() == [dead.public_id]
    with pytest.raises(ValidationError, match="is delivered; only dead or waiting deliveries can be retried"):
        worker.retry_now(dead.public_id)
    with pytest.raises(NotFound, match="There is no delivery 'nope'"):
        worker.retry_now("nope")
    assert rows()[0].status == "delivered"


def test_retry_all_dead(webhook_app, receiver):
    receiver.answers = [(400, {}), (400, {})]
    queue(alert("one"), alert("two"))
    worker.deliver_due()
    assert [r.status for r in rows()] == ["dead", "dead"]
    assert worker.retry_all_dead() == 2
    assert worker.deliver_due().delivered == 2 and len(receiver.received) == 2


def test_a_worker_killed_mid_send_loses_nothing(webhook_app, receiver):
    queue(alert())
    start = utcnow()
    claimed = worker._claim(10, "killed-worker", start)  # claimed, then the process died
    assert len(claimed) == 1
    row = rows()[0]
    assert (row.status, row.claimed_by, row.attempts) == ("sending", "killed-worker", 1)
    assert worker.deliver_due(worker="second").claimed == 0  # the lease still holds
    with clock_at(row.lease_until + timedelta(seconds=1)):
        assert worker.deliver_due(worker="second").delivered == 1
    row = rows()[0]
    assert (row.status, row.claimed_by, row.attempts) == ("delivered", "second", 2)
    assert receiver.ids() == [claimed[0].public_id]  # the same delivery id as the first try had
    # The first worker coming back late does not overwrite the outcome.
    worker._finish(claimed[0], "killed-worker", status="pending", last_error="late")
    assert rows()[0].status == "delivered"


def test_two_workers_at_once_deliver_each_row_exactly_once(make_app, receiver):
    app = make_app(MOTORPOOL_NOTIFIERS="trailers_webhook", **{URL_SETTING: receiver.url})
    with app.app_context(), acting_as(system_user()):
        queue(*[alert(f"alert {n}") for n in range(120)])
        expected = {r.public_id for r in rows()}
    errors: list[BaseException] = []
    reports: dict[str, list] = {"a": [], "b": []}

    def work(name: str) -> None:
        try:
            with app.app_context():
                idle = 0
                while idle < 3:
                    report = worker.deliver_due(limit=10, worker=name)
                    reports[name].append(report)
                    idle = idle + 1 if report.idle else 0
                db.session.remove()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    ids = receiver.ids()
    assert len(ids) == 120 and set(ids) == expected  # every row once, none twice
    assert all(sum(r.delivered for r in reports[name]) > 0 for name in reports), "both workers took a share"
    with app.app_context():
        assert {r.status for r in rows()} == {"delivered"}


def test_a_channel_down_for_a_while_gets_everything_once_it_is_back(webhook_app, receiver):
    receiver.stop()
    queue(*[alert(f"alert {n}") for n in range(5)])
    start = utcnow()
    report = worker.deliver_due()
    assert (report.retried, report.delivered) == (5, 0)
    assert all(r.last_error.startswith("RetryableDeliveryError: webhook not reachable") for r in rows())
    receiver.start()  # back, on the same address
    with clock_at(start + timedelta(minutes=1)):
        assert worker.deliver_due().delivered == 5
    assert sorted(receiver.ids()) == sorted(r.public_id for r in rows())
    assert {r.status for r in rows()} == {"delivered"}


class _Raising:
    def send(self, notification):  # the old one-argument contract
        raise ConnectionError("pager gateway is down")


class _OldStyle:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification):
        self.sent.append(notification)


class _Channels:
    def __init__(self, notifiers: dict) -> None:
        self.notifiers = notifiers

    @hookimpl
    def motorpool_notifiers(self):
        return self.notifiers


def test_a_notifier_plugin_that_raises_has_its_error_recorded_even_in_strict_mode(plugins, make_app):
    old = _OldStyle()
    plugins.add("pager", _Channels({"pager": _Raising(), "old": old}))
    app = make_app(MOTORPOOL_NOTIFIERS="pager,old")
    assert app.config["MOTORPOOL_STRICT_PLUGINS"] is True
    with app.app_context(), acting_as(system_user()):
        queue(alert())
        report = worker.deliver_due()
        assert (report.delivered, report.retried) == (1, 1)
        pager = rows(channel="pager")[0]
        assert (pager.status, pager.last_error) == ("pending", "ConnectionError: pager gateway is down")
        assert rows(channel="old")[0].status == "delivered"
        assert [n.subject for n in old.sent] == ["SLA compliance low"]  # called without the attempt


def test_a_channel_no_longer_available_waits_without_using_a_try(plugins, make_app):
    plugins.add("pager", _Channels({"pager": _OldStyle()}))
    app = make_app(MOTORPOOL_NOTIFIERS="pager")
    with app.app_context(), acting_as(system_user()):
        queue(alert())
    later = make_app(MOTORPOOL_NOTIFIERS="pager", MOTORPOOL_DISABLED_PLUGINS="pager")  # the plugin is gone
    with later.app_context():
        report = worker.deliver_due()
        assert (report.deferred, report.dead) == (1, 0)
        row = rows()[0]
        assert (row.status, row.attempts) == ("pending", 0)
        assert row.last_error == "channel 'pager' is not available: no enabled plugin provides it"


def test_a_channel_turned_off_after_queuing_still_delivers_what_was_queued(webhook_app, receiver):
    queue(alert())
    with transaction():
        db.session.add(NotificationChannel(name="trailers_webhook", enabled=False))
    queue(alert("after"))
    assert worker.deliver_due().delivered == 1
    assert [item["json"]["subject"] for item in receiver.received] == ["SLA compliance low"]


def test_run_worker_delivers_until_stopped(webhook_app, receiver):
    queue(alert("first"))
    stop = threading.Event()
    app = webhook_app

    def run() -> None:
        with app.app_context():
            worker.run_worker(stop, poll_seconds=0.05)

    thread = threading.Thread(target=run)
    thread.start()
    try:
        for _ in range(200):
            if len(receiver.received) == 1:
                break
            stop.wait(0.02)
        queue(alert("second"))
        for _ in range(200):
            if len(receiver.received) == 2:
                break
            stop.wait(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert [item["json"]["subject"] for item in receiver.received] == ["first", "second"]


# --- The built-in channels ---------------------------------------------------------------------


def test_the_log_file_holds_one_alert_block_per_notification(make_app, tmp_path):
    log = tmp_path / "alerts.log"
    app = make_app(MOTORPOOL_NOTIFIERS="log_file", MOTORPOOL_ALERT_LOG=str(log), MOTORPOOL_TIMEZONE="Europe/Berlin")
    with app.app_context(), acting_as(system_user()):
        queue(alert(severity="critical", data={"value": "68.5%", "details": {"met": 137, "of": 200}}))
        worker.deliver_due()
        row = rows()[0]
    lines = log.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "=" * 60 and lines[2] == "=" * 60 and lines[-1] == "=" * 60
    assert lines[1] == "🚨 CRITICAL ALERT - sla_compliance"
    assert lines[3].startswith("Time: ") and lines[3].endswith(("CET", "CEST"))
    assert lines[4:] == [
        "Category: sla_compliance",
        "Subject: SLA compliance low",
        "Message: Only 137 of 200 met their SLA.",
        "Metric Value: 68.5%",
        'Details: {"met": 137, "of": 200}',
        f"Delivery: {row.public_id}",
        "=" * 60,
    ]


def _console_line(make_app, stream) -> None:
    app = make_app(MOTORPOOL_NOTIFIERS="console")
    with app.app_context(), acting_as(system_user()):
        queue(alert(severity="critical", recipients=["ops@example.com"]))
        previous, sys.stderr = sys.stderr, stream
        try:
            worker.deliver_due()
        finally:
            sys.stderr = previous


def test_the_console_line_is_plain_when_stderr_is_not_a_terminal(make_app, tmp_path):
    path = tmp_path / "stderr.txt"
    with path.open("w", encoding="utf-8") as stream:
        _console_line(make_app, stream)
    assert path.read_text(encoding="utf-8") == "[CRITICAL] SLA compliance low → ops@example.com\n"


def test_the_console_line_is_coloured_by_severity_on_a_terminal(make_app):
    main, secondary = os.openpty()  # a real terminal
    with open(secondary, "w", encoding="utf-8", closefd=True) as stream:
        assert stream.isatty()
        _console_line(make_app, stream)
    output = os.read(main, 4096).decode()
    os.close(main)
    assert "\x1b[31m" in output and "[CRITICAL]" in output and "SLA compliance low → ops@example.com" in output


# --- The command line --------------------------------------------------------------------------


def test_the_deliveries_commands(webhook_app, receiver):
    runner = webhook_app.test_cli_runner()
    receiver.answers = [(404, {})]
    queue(alert("goes dead"), alert("goes through"))
    result = runner.invoke(args=["deliveries", "work", "--once"])
    assert result.exit_code == 0, result.output
    assert "Claimed 2: 1 delivered, 0 to retry, 1 dead, 0 waiting for their channel." in result.output
    dead = rows(status="dead")[0]
    listed = runner.invoke(args=["deliveries", "list", "--status", "dead"])
    assert dead.public_id in listed.output and "goes dead" in listed.output
    assert "last error: PermanentDeliveryError: webhook answered 404" in listed.output
    assert "goes through" not in listed.output
    assert runner.invoke(args=["deliveries", "list", "--channel", "email"]).output == "No deliveries.\n"

    refused = runner.invoke(args=["deliveries", "retry"])
    assert refused.exit_code == 2 and "Give one delivery id, or --all-dead" in refused.output
    unknown = runner.invoke(args=["deliveries", "retry", "no-such-id"])
    assert unknown.exit_code == 1 and "There is no delivery 'no-such-id'" in unknown.output
    assert rows(status="dead")[0].public_id == dead.public_id  # nothing changed

    retried = runner.invoke(args=["deliveries", "retry", dead.public_id])
    assert retried.exit_code == 0 and f"Delivery {dead.public_id} (trailers_webhook) is due again now." in retried.output
    assert runner.invoke(args=["deliveries", "work", "--once"]).exit_code == 0
    assert sorted(receiver.ids()) == sorted(r.public_id for r in rows())
    assert "0 dead deliveries are due again now." in runner.invoke(args=["deliveries", "retry", "--all-dead"]).output
