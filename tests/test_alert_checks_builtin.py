"""The eight built-in alert checks: registered like a plugin's, defaults as documented, readable messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from app.extensions import db
from app.models.base import clock_at
from app.plugins.contracts import MetricWindow
from app.services import alert_checks
from app.services import dispatches as dispatch_service
from app.services.actors import acting_as
from tests import matching_support as ms
from tests.factories import DispatchFactory, DispatchMetricFactory, ManagerFactory
from tests.support.query_counter import counting_queries

START = datetime(2026, 6, 10, tzinfo=UTC)
END = START + timedelta(days=1)
WINDOW = MetricWindow(START, END)

DEFAULTS = {
    "sla_compliance": ("%", "below", 85.0, 70.0),
    "routing_speed": ("s", "above", 120.0, 300.0),
    "completion_time": ("h", "above", 6.0, 8.0),
    "operational_cost": ("money", "above", 350.0, 500.0),
    "pending_queue": ("count", "above", 10.0, 20.0),
    "first_time_fix": ("%", "below", 75.0, 60.0),
    "burnout_risk": ("count", "above", 2.0, 4.0),
    "utilisation": ("%", "outside", (50.0, 90.0), (40.0, 95.0)),
}


def at(hours: float) -> datetime:
    return START + timedelta(hours=hours)


@pytest.fixture
def actor(app):
    manager = ManagerFactory()
    with acting_as(manager):
        yield manager


def readings(category: str):
    return alert_checks.registered_checks()[category].measure(WINDOW)


def test_the_eight_checks_are_registered_with_their_default_thresholds(app):
    checks = alert_checks.registered_checks()
    assert {c: (checks[c].unit, checks[c].direction, checks[c].warning, checks[c].critical) for c in DEFAULTS} \
        == DEFAULTS
    for check in checks.values():
        assert alert_checks.refusal(check, {}) is None


def test_over_no_data_every_check_reads_no_data_or_zero_and_never_a_zero_rate(app):
    values = {category: [r.value for r in readings(category)] for category in DEFAULTS}
    assert values == {
        "sla_compliance": [None], "routing_speed": [None], "completion_time": [None], "operational_cost": [None],
        "pending_queue": [0.0], "first_time_fix": [None], "burnout_risk": [0.0], "utilisation": [None],
    }
    assert readings("sla_compliance")[0].message == (
        "SLA compliance: no data (nothing completed in the last 24 h); no open work past its SLA")
    for category in DEFAULTS:  # details are JSON, as deliveries store them
        json.dumps([dict(r.details) for r in readings(category)])


def test_sla_message_states_the_figures_and_names_the_overdue_dispatches(app, actor):
    tech = ms.technician("Sam", max_concurrent=10)
    for due in (at(12), at(2)):
        with clock_at(at(-5)):
            work = DispatchFactory(due_date=due)
        with clock_at(at(-4)):
            dispatch_service.assign(work, tech)
        with clock_at(at(4)):
            dispatch_service.change_status(work, "In Progress")
            dispatch_service.change_status(work, "Completed")
    with clock_at(at(-5)):
        overdue = DispatchFactory(due_date=at(1))
    [reading] = readings("sla_compliance")
    assert reading.value == 50.0
    assert reading.message == (f"SLA compliance 50.0 % (1 of 2 completed in the last 24 h within SLA); "
                               f"1 open past SLA: {overdue.dispatch_number}")
    assert reading.details["open_past_sla"] == 1


def test_cost_message_uses_the_organisations_currency(make_app):
    app = make_app(MOTORPOOL_CURRENCY="EUR")
    with app.app_context():
        expensive = DispatchMetricFactory(created_at=at(1), operational_cost=1234.5)
        DispatchMetricFactory(created_at=at(2), operational_cost=100.0)
        [reading] = alert_checks.registered_checks()["operational_cost"].measure(WINDOW)
        assert reading.value == 1234.5
        assert reading.message == (
            "Highest operational cost €1,234.50 per dispatch over 2 assignments in the last 24 h (average €667.25, "
            f"total €1,334.50); 1 above €350.00: {expensive.dispatch.dispatch_number} (€1,234.50)")


def test_routing_completion_queue_and_burnout_messages(app, actor):
    ada = ms.technician("Ada")
    DispatchMetricFactory(created_at=at(1), technician=ada, routing_speed_seconds=30.0,
                          estimated_completion_hours=9.5, burnout_alert=True, burnout_risk=0.91)
    with clock_at(END - timedelta(hours=3)):
        waiting = DispatchFactory(priority="High")
    assert readings("routing_speed")[0].message == (
        f"Routing speed p95 30 s (p50 30 s, worst 30 s, over 1 assignment in the last 24 h); 1 waiting unassigned "
        f"longer than 30 s: {waiting.dispatch_number} (3.0 h)")
    [completion] = readings("completion_time")
    assert completion.value == 9.5 and "1 above 6.0 h" in completion.message
    [queue] = readings("pending_queue")
    assert queue.message == (f"1 dispatch waiting for a technician (High 1); oldest waiting 3.0 h: "
                             f"{waiting.dispatch_number}")
    [burn] = readings("burnout_risk")
    assert (burn.value, burn.message) == (1.0, "1 technician at high burnout risk: Ada (91 %) "
                                               "(of 1 assessed in the last 24 h)")


def test_first_time_fix_and_utilisation_read_per_technician(app, actor):
    ada = ms.technician("Ada", max_concurrent=10, shift_days="3", shift_start=time(8), shift_end=time(16))
    for _ in range(5):
        with clock_at(at(-2)):
            work = DispatchFactory(estimated_duration_hours=1.0)
        with clock_at(at(9)):
            dispatch_service.assign(work, ada)
            dispatch_service.change_status(work, "In Progress")
            dispatch_service.change_status(work, "Completed")
    fleet, person = readings("first_time_fix")
    assert (fleet.subject, fleet.value) == (None, 100.0)
    assert (person.subject, person.subject_label, person.value) == (f"technician:{ada.id}", "Ada", 100.0)
    assert person.message == "First-time-fix rate of Ada 100.0 % (5 of 5 completed in the last 24 h fixed the first time)"
    fleet, person = readings("utilisation")
    assert (fleet.value, person.value, person.subject) == (62.5, 62.5, f"technician:{ada.id}")
    assert person.message == "Utilisation of Ada 62.5 % (5.0 of 8.0 shift hours booked in the last 24 h)"


def test_a_technician_below_the_minimum_sample_reads_no_data(app, actor):
    bo = ms.technician("Bo")
    with clock_at(at(-2)):
        work = DispatchFactory()
    with clock_at(at(3)):
        dispatch_service.assign(work, bo)
        dispatch_service.change_status(work, "In Progress")
        dispatch_service.change_status(work, "Completed")
    fleet, person = readings("first_time_fix")
    assert (fleet.value, person.value) == (100.0, None)
    assert person.message == "First-time-fix rate of Bo: no data (1 completion in the last 24 h, fewer than the 5 needed)"


def test_one_full_check_uses_the_same_number_of_queries_for_little_and_much_data(app, actor):
    counts = []
    for size in (1, 5):
        for i in range(size):
            tech = ms.technician(max_concurrent=10)
            DispatchMetricFactory(created_at=at(2), technician=tech, routing_speed_seconds=10.0 * i,
                                  operational_cost=400.0, burnout_alert=True)
            with clock_at(at(-1)):
                DispatchFactory(due_date=at(1))
        db.session.expire_all()
        with counting_queries() as statements:
            for check in alert_checks.registered_checks().values():
                check.measure(WINDOW)
        counts.append(len(statements))
    assert counts[0] == counts[1]
