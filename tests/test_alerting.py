"""The alert check: raising, suppression, resolution, quiet hours, escalation, silences, thresholds."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from app.services.delivery_worker import deliver_due
from app.extensions import db
from app.models import Alert, AlertSetting, AlertSilence, AlertThreshold, DispatchMetric
from app.services import alerting, matching
from app.services.actors import acting_as, system_user
from app.services.errors import NotFound, ValidationError
from tests import matching_support as ms
from tests.alert_support import Collector, Gauge, at, clock, sent  # noqa: F401 - sent is a fixture
from tests.factories import AdminFactory
from tests.plugin_support import Plugins

BERLIN = ZoneInfo("Europe/Berlin")
T0 = at("2026-12-02 10:00")  # 11:00 in Berlin: outside the quiet hours


@pytest.fixture
def plugins(monkeypatch) -> Plugins:
    return Plugins(monkeypatch)


@pytest.fixture
def gauge() -> Gauge:
    return Gauge()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def app(make_app, plugins, gauge, collector):
    plugins.add("gauge", gauge)
    plugins.add("collector", collector)
    app = make_app(MOTORPOOL_NOTIFIERS="collector", MOTORPOOL_TIMEZONE="Europe/Berlin")
    with app.app_context():
        user = system_user()
        db.session.commit()
        with acting_as(user):
            yield app
        db.session.rollback()


def check(moment, **kwargs):
    with clock(moment):
        return alerting.run_check(moment, **kwargs)


def alerts() -> list[Alert]:
    db.session.expire_all()
    return list(db.session.scalars(select(Alert).order_by(Alert.id)))


def quiet_hours(start="22:00", end="06:00", suppression=30, escalation=30):
    alerting.save_settings(quiet_hours_start=start, quiet_hours_end=end, suppression_minutes=suppression,
                           escalation_minutes=escalation)


# --- Raising, suppression, resolution --------------------------------------------------------


def test_a_new_breach_raises_a_firing_alert_and_tells_managers_and_admins(app, gauge, collector, sent):
    gauge.values = {None: 4.0}
    report = check(T0)

    [alert] = alerts()
    assert (alert.category, alert.severity, alert.state, alert.value, alert.occurrences) == (
        "tyre_pressure", "warning", "firing", 4.0, 1)
    assert alert.fingerprint == "tyre_pressure" and alert.first_seen_at == T0 and alert.last_notified_at == T0
    [notification] = sent
    assert (notification.kind, notification.severity, notification.category, tuple(notification.roles)) == (
        "alert.firing", "warning", "tyre_pressure", ("manager", "admin"))
    assert notification.data["alert"]["id"] == alert.id and notification.data["alert"]["metric_value"] == "4"
    assert "Metric Value: 4" in notification.body and "Message: Tyre pressure at 4.0" in notification.body
    assert collector.received == []  # queued in the check's transaction, sent by the delivery worker
    with clock(T0):
        deliver_due()
    assert collector.received == [notification]  # through the active channel
    assert [o.alert_id for o in report.raised] == [alert.id]
    assert gauge.windows[-1].end == T0 and gauge.windows[-1].start == T0 - timedelta(hours=24)


def test_a_repeat_inside_the_suppression_window_is_counted_not_told_and_told_again_after_it(app, gauge, sent):
    gauge.values = {None: 4.0}
    check(T0)
    report = check(T0 + timedelta(minutes=29))
    [alert] = alerts()
    assert alert.occurrences == 2 and alert.last_seen_at == T0 + timedelta(minutes=29)
    assert sent.kinds() == ["alert.firing"]
    assert [o.alert_id for o in report.suppressed] == [alert.id]

    report = check(T0 + timedelta(minutes=30))
    assert sent.kinds() == ["alert.firing", "alert.firing"]
    assert [o.alert_id for o in report.renotified] == [alert.id]
    assert alerts()[0].occurrences == 3 and alerts()[0].last_notified_at == T0 + timedelta(minutes=30)


def test_the_suppression_window_is_the_admins_setting(app, gauge, sent):
    alerting.save_settings(quiet_hours_start="", quiet_hours_end="", suppression_minutes="5", escalation_minutes="30")
    gauge.values = {None: 4.0}
    check(T0)
    check(T0 + timedelta(minutes=5))
    assert sent.kinds() == ["alert.firing", "alert.firing"]


def test_a_rise_from_warning_to_critical_is_told_at_once(app, gauge, sent):
    gauge.values = {None: 4.0}
    check(T0)
    gauge.values = {None: 6.0}
    report = check(T0 + timedelta(minutes=5))
    [alert] = alerts()
    assert (alert.severity, alert.occurrences, alert.critical_since) == ("critical", 2, T0 + timedelta(minutes=5))
    assert [(n.kind, n.severity) for n in sent] == [("alert.firing", "warning"), ("alert.firing", "critical")]
    assert [o.alert_id for o in report.renotified] == [alert.id]
    # Falling back to warning is no news: counted, not told.
    gauge.values = {None: 4.0}
    check(T0 + timedelta(minutes=10))
    assert len(sent) == 2 and alerts()[0].severity == "warning"


def test_a_cleared_condition_resolves_the_alert_by_the_check_and_tells_so(app, gauge, sent):
    gauge.values = {None: 4.0}
    check(T0)
    gauge.values = {None: 2.0}
    report = check(T0 + timedelta(minutes=5))
    [alert] = alerts()
    assert (alert.state, alert.resolved_at, alert.resolved_by_id) == ("resolved", T0 + timedelta(minutes=5), None)
    assert "back within the thresholds" in alert.resolution_note
    assert sent.kinds() == ["alert.firing", "alert.resolved"]
    assert "Resolved by the alert check" in sent[-1].body
    assert [o.alert_id for o in report.resolved] == [alert.id]
    # The next breach is a new alert.
    gauge.values = {None: 4.0}
    check(T0 + timedelta(minutes=10))
    assert [a.state for a in alerts()] == ["resolved", "firing"]


def test_a_subject_no_longer_reported_resolves_its_alert(app, gauge, sent):
    gauge.values = {"asset:1": 4.0, "asset:2": 4.0}
    check(T0)
    gauge.values = {"asset:2": 4.0}
    check(T0 + timedelta(minutes=5))
    assert [(a.fingerprint, a.state) for a in alerts()] == [("tyre_pressure:asset:1", "resolved"),
                                                             ("tyre_pressure:asset:2", "firing")]


def test_an_acknowledged_alert_is_not_told_again_but_still_resolves(app, gauge, sent):
    gauge.values = {None: 4.0}
    check(T0)
    admin = AdminFactory()
    alert = alerting.acknowledge(alerts()[0].id, admin)
    assert (alert.state, alert.acknowledged_by_id) == ("acknowledged", admin.id)
    report = check(T0 + timedelta(hours=2))
    assert sent.kinds() == ["alert.firing"]
    assert [o.alert_id for o in report.suppressed] == [alert.id]
    gauge.values = {None: 1.0}
    check(T0 + timedelta(hours=3))
    assert alerts()[0].state == "resolved"
    assert sent.kinds() == ["alert.firing", "alert.resolved"]


def test_an_acknowledged_alert_that_gets_worse_fires_again_and_a_hand_resolution_is_told(app, gauge, sent):
    gauge.values = {None: 4.0}
    check(T0)
    alerting.acknowledge(alerts()[0].id, AdminFactory())
    gauge.values = {None: 6.0}
    check(T0 + timedelta(minutes=5))
    [alert] = alerts()
    assert (alert.state, alert.severity, alert.acknowledged_by_id) == ("firing", "critical", None)
    assert [(n.kind, n.severity) for n in sent] == [("alert.firing", "warning"), ("alert.firing", "critical")]
    alerting.resolve(alert.id, AdminFactory(name="Ada Admin"), "valve replaced")
    assert sent.kinds()[-1] == "alert.resolved" and "Resolved by Ada Admin: valve replaced." in sent[-1].body


def test_acknowledging_twice_or_a_resolved_alert_is_refused(app, gauge):
    gauge.values = {None: 4.0}
    check(T0)
    admin = AdminFactory(name="Ada Admin")
    alerting.acknowledge(alerts()[0].id, admin)
    with pytest.raises(ValidationError, match="already acknowledged by Ada Admin"):
        alerting.acknowledge(alerts()[0].id, admin)
    alerting.resolve(alerts()[0].id, admin, "tyres changed")
    with pytest.raises(ValidationError, match="already resolved"):
        alerting.resolve(alerts()[0].id, admin)
    with pytest.raises(NotFound, match="no alert #999"):
        alerting.acknowledge(999, admin)
    [alert] = alerts()
    assert (alert.state, alert.resolved_by_id, alert.resolution_note) == ("resolved", admin.id, "tyres changed")


def test_no_data_never_alerts_nor_resolves(app, gauge, sent):
    gauge.values = {None: None}
    report = check(T0)
    assert alerts() == [] and sent == []
    assert report.readings[0].shown == "no data" and report.readings[0].severity is None
    gauge.values = {None: 4.0}
    check(T0 + timedelta(minutes=5))
    gauge.values = {None: None}
    check(T0 + timedelta(minutes=10))
    assert [a.state for a in alerts()] == ["firing"]


def test_a_dry_run_reports_but_writes_and_tells_nothing(app, gauge, sent):
    gauge.values = {None: 6.0}
    report = check(T0, dry_run=True)
    assert report.dry_run and [(o.severity, o.alert_id) for o in report.raised] == [("critical", None)]
    assert alerts() == [] and sent == []
    check(T0)
    gauge.values = {None: 1.0}
    report = check(T0 + timedelta(minutes=40), dry_run=True)
    assert len(report.resolved) == 1
    assert [a.state for a in alerts()] == ["firing"] and len(sent) == 1


def test_one_open_alert_per_fingerprint_is_enforced_by_the_database(app):
    def add():
        db.session.add(Alert(category="x", severity="warning", message="m", fingerprint="x", details={},
                             first_seen_at=T0, last_seen_at=T0, occurrences=1, state="firing"))
        db.session.commit()

    add()
    with pytest.raises(IntegrityError):
        add()
    db.session.rollback()
    first = db.session.scalar(select(Alert))
    first.state = "resolved"
    db.session.commit()
    add()  # a resolved alert does not block a new one
    assert db.session.scalar(select(func.count(Alert.id))) == 2


def test_a_check_that_meets_an_alert_another_writer_just_opened_counts_it_instead_of_duplicating(app, gauge):
    """Another process raises the same alert between this check's reads and its writes."""
    from sqlalchemy import create_engine

    other = create_engine(db.engine.url)
    real = gauge.measure

    def measure_while_another_writer_raises(window):
        if not gauge.windows:
            with other.begin() as connection:
                connection.execute(Alert.__table__.insert().values(
                    category="tyre_pressure", severity="warning", message="from the other writer", value=4.0,
                    details={}, fingerprint="tyre_pressure", first_seen_at=T0, last_seen_at=T0, occurrences=1,
                    state="firing", last_notified_at=T0, created_at=T0, updated_at=T0))
        return real(window)

    gauge.check = gauge.check.__class__(**{**gauge.check.__dict__, "measure": measure_while_another_writer_raises})
    app.extensions["motorpool.alert_checks"]["tyre_pressure"] = gauge.check
    gauge.values = {None: 4.0}
    try:
        check(T0 + timedelta(minutes=1))
    finally:
        other.dispose()
    [alert] = alerts()
    assert (alert.message, alert.occurrences) == ("Tyre pressure at 4.0", 2)


def test_a_long_or_unprintable_message_from_a_check_is_stored_shortened(app, gauge):
    gauge.check = gauge.check.__class__(**{**gauge.check.__dict__, "measure": lambda window: [
        alerting.MetricReading(value=9.0, message="bad\x00" + "x" * 600, subject="s" * 250)]})
    app.extensions["motorpool.alert_checks"]["tyre_pressure"] = gauge.check
    check(T0)
    [alert] = alerts()
    assert len(alert.message) == 500 and alert.message.startswith("bad x") and alert.message.endswith("…")
    assert len(alert.subject) == 200


def test_the_queries_of_a_check_do_not_grow_with_the_number_of_alerts(app, gauge):
    def statements_for(subjects: int, moment) -> int:
        gauge.values = {f"asset:{n}": 4.0 for n in range(subjects)}
        with clock(moment):
            alerting.run_check(moment)  # raise them
        count = []
        listener = lambda *args: count.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            with clock(moment + timedelta(minutes=5)):
                alerting.run_check(moment + timedelta(minutes=5))  # repeat them all
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        gauge.values = {}
        with clock(moment + timedelta(minutes=6)):
            alerting.run_check(moment + timedelta(minutes=6))  # resolve them
        return len(count)

    assert statements_for(3, T0) == statements_for(30, T0 + timedelta(hours=1))


# --- Quiet hours, escalation ---------------------------------------------------------------


def test_quiet_hours_hold_warnings_and_send_one_digest_when_they_end(app, gauge, sent):
    quiet_hours("22:00", "06:00")
    gauge.values = {"asset:1": 4.0, "asset:2": 4.0}
    night = at("2026-12-02 23:30", BERLIN)
    report = check(night)
    assert sent == [] and len(report.held) == 2
    assert all(a.held_since == night and a.last_notified_at is None for a in alerts())
    gauge.values = {"asset:1": 4.0}  # asset 2 resolves during the night: held too
    check(night + timedelta(hours=2))
    assert sent == []

    report = check(at("2026-12-03 05:55", BERLIN))
    assert sent == [] and report.quiet_hours
    morning = at("2026-12-03 06:00", BERLIN)
    report = check(morning)
    assert sent.kinds() == ["alert.digest"]
    [digest] = sent
    assert [a["fingerprint"] for a in digest.data["alerts"]] == ["tyre_pressure:asset:1", "tyre_pressure:asset:2"]
    assert [a["state"] for a in digest.data["alerts"]] == ["firing", "resolved"]
    assert digest.subject.startswith("[DIGEST] 2 alert notifications held during quiet hours")
    assert len(report.digest) == 2
    assert all(a.held_since is None for a in alerts()) and alerts()[0].last_notified_at == morning
    check(morning + timedelta(minutes=5))
    assert sent.kinds() == ["alert.digest"]  # once; the firing alert's repeat is inside its window


def test_quiet_hours_follow_the_organisation_zone_across_a_clock_change(app):
    settings = alerting.AlertSettings(("22:00", "06:00"), 30, 30)
    # 29 March 2026: Berlin goes from UTC+1 to UTC+2 at 02:00 local.
    assert alerting.in_quiet_hours(at("2026-03-29 03:30"), settings)  # 05:30 CEST
    assert not alerting.in_quiet_hours(at("2026-03-29 04:00"), settings)  # 06:00 CEST
    assert alerting.in_quiet_hours(at("2026-03-28 21:00"), settings)  # 22:00 CET
    assert not alerting.in_quiet_hours(at("2026-03-28 20:59"), settings)
    day = alerting.AlertSettings(("12:00", "13:00"), 30, 30)
    assert alerting.in_quiet_hours(at("2026-12-02 11:30"), day) and not alerting.in_quiet_hours(T0, day)


def test_critical_alerts_go_at_once_during_quiet_hours(app, gauge, sent):
    quiet_hours()
    gauge.values = {None: 6.0}
    check(at("2026-12-02 23:30", BERLIN))
    assert [(n.kind, n.severity) for n in sent] == [("alert.firing", "critical")]
    assert alerts()[0].held_since is None


def test_an_unacknowledged_critical_alert_escalates_to_the_admins_once(app, gauge, sent):
    gauge.values = {None: 6.0}
    check(T0)
    check(T0 + timedelta(minutes=29))
    assert sent.kinds() == ["alert.firing"]
    report = check(T0 + timedelta(minutes=30))
    escalations = sent.of("alert.escalated")
    assert len(escalations) == 1 and tuple(escalations[0].roles) == ("admin",)
    assert [o.alert_id for o in report.escalated] == [alerts()[0].id]
    assert alerts()[0].escalated_at == T0 + timedelta(minutes=30)
    check(T0 + timedelta(minutes=90))
    assert len(sent.of("alert.escalated")) == 1


def test_an_acknowledged_critical_alert_does_not_escalate(app, gauge, sent):
    gauge.values = {None: 6.0}
    check(T0)
    alerting.acknowledge(alerts()[0].id, AdminFactory())
    check(T0 + timedelta(hours=1))
    assert sent.of("alert.escalated") == []


# --- Silences --------------------------------------------------------------------------------


def test_a_silenced_category_records_alerts_but_tells_nobody_and_the_silence_expires_by_itself(app, gauge, sent):
    with clock(T0):
        row = alerting.silence("tyre_pressure", 60, "Tyre supplier on site", None)
        assert [s.id for s in alerting.active_silences()] == [row.id]
    gauge.values = {None: 6.0}
    report = check(T0 + timedelta(minutes=1))
    assert [a.state for a in alerts()] == ["firing"] and sent == []
    assert len(report.silenced) == 1
    check(T0 + timedelta(minutes=45))
    assert sent == []  # still silenced: no escalation either
    assert alerting.active_silences(T0 + timedelta(minutes=59)) != []
    assert alerting.active_silences(T0 + timedelta(minutes=60)) == []  # expired by itself
    check(T0 + timedelta(minutes=61))
    assert sent.kinds() == ["alert.firing", "alert.escalated"]


def test_lifting_a_silence_ends_it_now(app, gauge, sent):
    with clock(T0):
        row = alerting.silence("tyre_pressure", 60, "maintenance", None)
    with clock(T0 + timedelta(minutes=10)):
        alerting.lift_silence(row.id)
        assert alerting.active_silences() == []
        with pytest.raises(ValidationError, match="is not active"):
            alerting.lift_silence(row.id)
    gauge.values = {None: 4.0}
    check(T0 + timedelta(minutes=11))
    assert sent.kinds() == ["alert.firing"]


@pytest.mark.parametrize(("category", "minutes", "reason", "why"), [
    ("nope", 60, "x", "no alert category 'nope'"),
    ("tyre_pressure", 0, "x", "from 1 to 43200 minutes"),
    ("tyre_pressure", "soon", "x", "whole number of minutes"),
    ("tyre_pressure", 60, "  ", "Say why"),
])
def test_a_refused_silence_says_why_and_changes_nothing(app, category, minutes, reason, why):
    with pytest.raises(ValidationError, match=why):
        alerting.silence(category, minutes, reason, None)
    assert db.session.scalar(select(func.count(AlertSilence.id))) == 0


# --- Thresholds -------------------------------------------------------------------------------


def test_thresholds_come_from_the_database_then_the_configuration_then_the_check(app, gauge, sent):
    check_ = alerting.known_checks()["tyre_pressure"]
    assert alerting.effective_thresholds(check_).source == "default"
    app.config["MOTORPOOL_ALERT_THRESHOLDS"] = {"tyre_pressure": {"warning": 10, "critical": 20}}
    assert (alerting.effective_thresholds(check_).warning, alerting.effective_thresholds(check_).source) == (
        10.0, "configuration")
    gauge.values = {None: 4.0}
    check(T0)
    assert alerts() == []
    alerting.set_thresholds("tyre_pressure", "1", "3")
    thresholds = alerting.effective_thresholds(check_)
    assert (thresholds.warning, thresholds.critical, thresholds.source) == (1.0, 3.0, "database")
    row = db.session.scalar(select(AlertThreshold))
    assert row.updated_by_id == system_user().id
    check(T0 + timedelta(minutes=5))
    assert [a.severity for a in alerts()] == ["critical"]
    alerting.reset_thresholds("tyre_pressure")
    assert alerting.effective_thresholds(check_).source == "configuration"
    with pytest.raises(NotFound, match="no alert check 'nope'"):
        alerting.reset_thresholds("nope")


@pytest.mark.parametrize(("direction", "unit", "warning", "critical", "why"), [
    ("above", "count", "5", "3", "critical threshold \\(3\\) must be higher than the warning one \\(5\\)"),
    ("above", "count", "3", "3", "must be higher than the warning one"),
    ("below", "%", "60", "70", "critical threshold \\(70\\) must be lower than the warning one \\(60\\)"),
    ("below", "%", "120", "70", "percentage from 0 to 100, not 120"),
    ("above", "money", "-1", "5", "number of 0 or more, not -1"),
    ("above", "s", "fast", "5", "must be a number; 'fast' is not"),
    ("outside", "%", ("90", "50"), ("40", "95"), "warning band's low end \\(90\\) must be below its high end"),
    ("outside", "%", ("50", "90"), ("55", "95"), "critical band \\(55–95\\) must be wider than the warning band"),
    ("outside", "%", ("50", "90"), ("40", "101"), "percentage from 0 to 100, not 101"),
    ("outside", "%", "50", ("40", "95"), "warning band must be a low and a high value"),
])
def test_refused_thresholds_say_why_and_change_nothing(make_app, plugins, direction, unit, warning, critical, why):
    bands = direction == "outside"
    plugins.add("gauge", Gauge(direction=direction, unit=unit, warning=(50.0, 90.0) if bands else 3.0,
                               critical=(40.0, 95.0) if bands else 5.0))
    app = make_app(MOTORPOOL_NOTIFIERS="")
    with app.app_context():
        with pytest.raises(ValidationError, match=why):
            alerting.set_thresholds("tyre_pressure", warning, critical)
        assert db.session.scalar(select(func.count(AlertThreshold.id))) == 0


def test_thresholds_of_an_unknown_category_are_refused(app):
    with pytest.raises(NotFound, match="no alert check 'nope'"):
        alerting.set_thresholds("nope", 1, 2)


def test_a_banded_plugin_check_alerts_outside_its_bands_like_the_built_in_ones(make_app, plugins, sent):
    gauge = Gauge(category="fleet_use", direction="outside", unit="%", warning=(50.0, 90.0), critical=(40.0, 95.0))
    plugins.add("gauge", gauge)
    app = make_app(MOTORPOOL_NOTIFIERS="")
    with app.app_context():
        gauge.values = {"technician:1": 45.0, "technician:2": 97.0, "technician:3": 70.0}
        check(T0)
        assert [(a.subject, a.severity) for a in alerts()] == [("technician:1", "warning"), ("technician:2", "critical")]
        assert [n.kind for n in sent] == ["alert.firing", "alert.firing"]
        alerting.set_thresholds("fleet_use", ("30", "99"), ("20", "100"))
        check(T0 + timedelta(minutes=5))
        assert [a.state for a in alerts()] == ["resolved", "resolved"]


def test_settings_are_validated_and_refusals_change_nothing(app):
    with pytest.raises(ValidationError) as refused:
        alerting.save_settings(quiet_hours_start="25:00", quiet_hours_end="06:00", suppression_minutes="-1",
                               escalation_minutes="x")
    messages = [e.message for e in refused.value.errors]
    assert any("HH:MM" in m for m in messages) and any("from 0 to 1440" in m for m in messages)
    assert any("whole number of minutes from 1 to 10080" in m for m in messages)
    with pytest.raises(ValidationError, match="both the start and the end"):
        alerting.save_settings(quiet_hours_start="22:00", quiet_hours_end="", suppression_minutes=30,
                               escalation_minutes=30)
    with pytest.raises(ValidationError, match="end at another time"):
        alerting.save_settings(quiet_hours_start="22:00", quiet_hours_end="22:00", suppression_minutes=30,
                               escalation_minutes=30)
    assert db.session.scalar(select(func.count(AlertSetting.id))) == 0
    saved = alerting.save_settings(quiet_hours_start="22:00", quiet_hours_end="06:00", suppression_minutes=10,
                                   escalation_minutes=15)
    assert (saved.quiet_hours, saved.suppression_minutes, saved.escalation_minutes) == (("22:00", "06:00"), 10, 15)
    assert saved.updated_by == system_user().name


def test_the_configured_settings_are_checked_at_start_up(make_app):
    with pytest.raises(ValueError, match="MOTORPOOL_ALERT_QUIET_HOURS must be two different times"):
        make_app(MOTORPOOL_ALERT_QUIET_HOURS="22-6")
    with pytest.raises(ValueError, match="MOTORPOOL_ALERT_SUPPRESSION_MINUTES must be a whole number"):
        make_app(MOTORPOOL_ALERT_SUPPRESSION_MINUTES=-5)
    with pytest.raises(ValueError, match="MOTORPOOL_METRIC_WINDOW_HOURS"):
        make_app(MOTORPOOL_METRIC_WINDOW_HOURS=0)
    app = make_app(MOTORPOOL_ALERT_QUIET_HOURS="23:00-05:00", MOTORPOOL_METRIC_WINDOW_HOURS=6)
    with app.app_context():
        assert alerting.current_settings().quiet_hours == ("23:00", "05:00")
        assert alerting.metric_window(T0).start == T0 - timedelta(hours=6)


# --- Immediate alerts, counts, history -----------------------------------------------------------


def test_raise_alert_follows_the_same_suppression_rules(app, sent):
    with clock(T0):
        first = alerting.raise_alert("fallback_routing", "warning", "first", value=1)
    with clock(T0 + timedelta(minutes=10)):
        again = alerting.raise_alert("fallback_routing", "warning", "second", value=2)
    assert again.id == first.id and again.occurrences == 2 and sent.kinds() == ["alert.firing"]
    with clock(T0 + timedelta(minutes=12)):
        alerting.raise_alert("fallback_routing", "critical", "third", value=9)
    assert [n.severity for n in sent] == ["warning", "critical"]
    with pytest.raises(ValidationError, match="Severity must be one of info, warning, critical"):
        alerting.raise_alert("fallback_routing", "loud", "x")
    # Not seen again for the suppression window: the check resolves it.
    check(T0 + timedelta(minutes=41))
    assert [a.state for a in alerts()] == ["firing"]
    check(T0 + timedelta(minutes=43))
    assert [a.state for a in alerts()] == ["resolved"] and sent.kinds()[-1] == "alert.resolved"


def test_open_counts_and_history(app, gauge):
    gauge.values = {"asset:1": 4.0, "asset:2": 6.0}
    check(T0)
    alerting.acknowledge(alerts()[1].id, AdminFactory())
    counts = alerting.open_alert_counts()
    assert (counts["warning"], counts["critical"], counts["firing"], counts["acknowledged"], counts["total"]) == (
        1, 1, 1, 1, 2)
    assert alerting.firing_count() == 1
    history = alerting.alert_history(T0 - timedelta(minutes=1))
    assert [h["priority"] for h in history] == ["WARNING", "CRITICAL"]
    assert set(history[0]) >= {"priority", "category", "message", "metric_value", "timestamp"}
    assert history[0]["category"] == "Tyre pressure" and history[0]["timestamp"] == T0.isoformat()
    assert alerting.alert_history(T0 + timedelta(minutes=1)) == []


# --- The fallback alert ----------------------------------------------------------------------------


@pytest.fixture
def team(app):
    chosen = ms.technician("Chosen", at=ms.km_east(1), skills={"diesel": 5})
    runner_up = ms.technician("Runner Up", at=ms.km_east(5), skills={"diesel": 4})
    dispatch = ms.dispatch()
    matching.auto_assign(dispatch)
    return chosen, runner_up, dispatch


def test_a_reroute_raises_the_fallback_alert_in_its_transaction(app, team, sent):
    chosen, runner_up, dispatch = team
    matching.decline(dispatch, chosen, "sick")
    [alert] = alerts()
    assert (alert.category, alert.severity, alert.value) == ("fallback_routing", "warning", 1.0)
    assert alert.details["dispatch_number"] == dispatch.dispatch_number
    assert alert.details["technician"] == "Runner Up"
    assert f"Fallback routing used for {dispatch.dispatch_number} (declined by Chosen (sick))" in alert.message
    assert "alert.firing" in sent.kinds()


def test_a_rolled_back_reroute_leaves_no_alert(app, team, monkeypatch):
    chosen, runner_up, dispatch = team
    real = alerting.raise_fallback_alert

    def then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("the reroute fails after the alert was raised")

    monkeypatch.setattr(alerting, "raise_fallback_alert", then_fail)
    with pytest.raises(RuntimeError):
        matching.decline(dispatch, chosen)
    assert alerts() == []
    db.session.refresh(dispatch)
    assert dispatch.assigned_user_id == chosen.id
    assert db.session.scalar(select(func.count(DispatchMetric.id)).where(DispatchMetric.fallback_used.is_(True))) == 0


def test_the_fallback_alert_turns_critical_past_its_threshold(app, team):
    chosen, runner_up, dispatch = team
    alerting.set_thresholds("fallback_routing", "0", "0.5")
    matching.decline(dispatch, chosen)
    assert alerts()[0].severity == "critical"


def test_alerts_test_sends_one_sample_per_category_and_severity(app, sent):
    notifications = alerting.send_test_alerts()
    assert len(notifications) == len(alerting.known_checks()) * 3
    assert {(n.category, n.severity) for n in sent} == {
        (c, s) for c in alerting.known_checks() for s in ("info", "warning", "critical")}
    assert set(sent.kinds()) == {"alert.test"} and alerts() == []


def test_values_read_as_people_read_them_durations_in_the_dashboards_units(app):
    assert alerting.format_value("s", 95) == "95 s"
    assert alerting.format_value("s", 720) == "12 min"
    assert alerting.format_value("s", 5412) == "90 min"
    assert alerting.format_value("s", 9000) == "2.5 h"
    assert alerting.format_value("%", 95) == "95.0%"
    assert alerting.format_value("count", 12) == "12"
    assert alerting.format_value("s", None) == "no data"
    assert alerting.format_threshold("s", (300, 900)) == "5 min–15 min"
