"""``flask alerts …``: each command's output, and refusals that say why and change nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.services.alert_checks import registered_checks
from app.services.delivery_worker import deliver_due
from app.extensions import db
from app.models import Alert, AlertSetting, AlertSilence, AlertThreshold, utcnow
from tests.alert_support import Collector, Gauge, sent  # noqa: F401 - sent is a fixture
from tests.plugin_support import Plugins


@pytest.fixture
def gauge() -> Gauge:
    return Gauge()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def app(make_app, monkeypatch, gauge, collector):
    plugins = Plugins(monkeypatch)
    plugins.add("gauge", gauge)
    plugins.add("collector", collector)
    app = make_app(MOTORPOOL_NOTIFIERS="collector")
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def snapshot() -> list:
    db.session.expire_all()
    rows = []
    for model in (Alert, AlertThreshold, AlertSilence, AlertSetting):
        for row in db.session.scalars(select(model).order_by(model.id)):
            rows.append({c.key: getattr(row, c.key) for c in model.__mapper__.column_attrs})
    return rows


def ok(runner, *args: str) -> str:
    result = runner.invoke(args=["alerts", *args])
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def refused(runner, *args: str) -> str:
    before = snapshot()
    result = runner.invoke(args=["alerts", *args])
    assert result.exit_code != 0, (result.output, result.stderr)
    assert snapshot() == before
    return result.stderr or result.output


def test_check_prints_the_report_and_dry_run_writes_nothing(runner, gauge, sent):
    gauge.values = {None: 6.0}
    output = ok(runner, "check", "--dry-run")
    assert output.startswith("Dry run (nothing written, nobody told)")
    assert "tyre_pressure: 6 — CRITICAL — Tyre pressure at 6.0" in output and "Raised: 1" in output
    assert snapshot() == [] and sent == []
    output = ok(runner, "check")
    assert "Raised: 1" in output and sent.kinds() == ["alert.firing"]
    assert "Suppressed: 1" in ok(runner, "check")


def test_test_sends_a_sample_per_category_and_severity_through_the_channels(runner, collector):
    output = ok(runner, "test")
    categories = {*registered_checks(), "fallback_routing"}  # the built-in eight, the test plugin's, fallback
    assert "tyre_pressure" in categories and len(categories) == 10
    assert f"Sent {3 * len(categories)} test alert notifications (kind alert.test) through: collector." in output
    deliver_due()
    assert {(n.category, n.severity) for n in collector.received} == {
        (c, s) for c in categories for s in ("info", "warning", "critical")}
    assert snapshot() == []


def test_list_ack_resolve_and_history(runner, gauge):
    gauge.values = {"asset:1": 4.0, "asset:2": 6.0}
    ok(runner, "check")
    ids = [a.id for a in db.session.scalars(select(Alert).order_by(Alert.id))]
    listing = ok(runner, "list", "--state", "firing")
    assert f"#{ids[0]}" in listing and f"#{ids[1]}" in listing and "[Asset:1]" in listing
    assert f"Alert #{ids[0]} acknowledged." in ok(runner, "ack", str(ids[0]))
    assert f"#{ids[0]}" not in ok(runner, "list", "--state", "firing")
    assert f"Alert #{ids[1]} resolved." in ok(runner, "resolve", str(ids[1]), "--note", "fixed")
    assert "No alerts." in ok(runner, "list", "--category", "fallback_routing")
    history = json.loads(ok(runner, "history", "--json"))
    assert [(h["priority"], h["state"]) for h in history] == [("WARNING", "acknowledged"), ("CRITICAL", "resolved")]
    assert (history[1]["resolved_by"], history[1]["resolution_note"]) == ("System", "fixed")
    since = (utcnow() + timedelta(hours=1)).isoformat()
    assert json.loads(ok(runner, "history", "--json", "--since", since)) == []


def test_silence_and_lift(runner, gauge, sent):
    assert "Silenced tyre_pressure until" in ok(runner, "silence", "tyre_pressure", "--minutes", "30",
                                                 "--reason", "supplier on site")
    assert "supplier on site" in ok(runner, "silences")
    gauge.values = {None: 4.0}
    ok(runner, "check")
    assert sent == []
    assert "Lifted 1 silence of tyre_pressure." in ok(runner, "silence", "tyre_pressure", "--lift")
    assert "No active silences." in ok(runner, "silences")


def test_thresholds_show_and_set(runner):
    output = ok(runner, "thresholds")
    assert "tyre_pressure" in output and "(default)" in output and "fallback_routing" in output
    assert "tyre_pressure: warning 1, critical 2." in ok(runner, "thresholds", "set", "tyre_pressure",
                                                          "--warning", "1", "--critical", "2")
    assert "(database by System)" in ok(runner, "thresholds")


@pytest.mark.parametrize(("args", "why"), [
    (("ack", "999"), "There is no alert #999"),
    (("resolve", "999"), "There is no alert #999"),
    (("silence", "nope", "--minutes", "5", "--reason", "x"), "no alert category 'nope'"),
    (("silence", "tyre_pressure", "--minutes", "0", "--reason", "x"), "from 1 to 43200 minutes"),
    (("silence", "tyre_pressure", "--minutes", "5"), "Say why"),
    (("silence", "tyre_pressure", "--reason", "x"), "Give --minutes N"),
    (("silence", "tyre_pressure", "--lift"), "no active silence to lift"),
    (("history", "--since", "yesterday"), "--since must be an ISO 8601 time"),
    (("thresholds", "set", "tyre_pressure", "--warning", "5", "--critical", "3"), "must be higher than the warning"),
    (("thresholds", "set", "tyre_pressure", "--warning", "5"), "Give --critical"),
    (("thresholds", "set", "nope", "--warning", "1", "--critical", "2"), "no alert check 'nope'"),
    (("list", "--state", "sleeping"), "Invalid value for '--state'"),
    (("resolve", "1", "--note", "bad\x00note"), "contains"),
])
def test_bad_input_is_refused_with_the_reason_and_changes_nothing(runner, args, why):
    assert why in refused(runner, *args)


def test_acknowledging_twice_is_refused(runner, gauge):
    gauge.values = {None: 4.0}
    ok(runner, "check")
    alert_id = db.session.scalar(select(Alert.id))
    ok(runner, "ack", str(alert_id))
    assert "already acknowledged" in refused(runner, "ack", str(alert_id))
