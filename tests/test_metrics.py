"""The eight business metrics against hand-computed fixtures, on SQLite and PostgreSQL.

Rows are written through the real services (create, assign, complete) at chosen moments
(``clock_at``), or as ``dispatch_metrics`` records with chosen figures. The window is
10 June 2026 00:00–24:00 UTC unless a test says otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from app.extensions import db
from app.models.base import clock_at
from app.plugins.builtin import alert_checks
from app.plugins.contracts import MetricWindow
from app.services import dispatches as dispatch_service
from app.services import metrics
from app.services.actors import acting_as
from tests import matching_support as ms
from tests.factories import DispatchMetricFactory, ManagerFactory
from tests.metric_support import assign, new_dispatch
from tests.support.query_counter import counting_queries

START = datetime(2026, 6, 10, 0, 0, tzinfo=UTC)  # a Wednesday
END = START + timedelta(days=1)
WINDOW = MetricWindow(START, END)


def at(hours: float) -> datetime:
    """``hours`` after the window's start (negative: before it)."""
    return START + timedelta(hours=hours)


@pytest.fixture
def actor(app):
    manager = ManagerFactory(name="Morgan Manager")
    with acting_as(manager):
        yield manager


def complete(dispatch, when: datetime):
    with clock_at(when):
        dispatch_service.change_status(dispatch, "In Progress")
        dispatch_service.change_status(dispatch, "Completed")


def record(when: datetime, **figures):
    """A ``dispatch_metrics`` record made at ``when`` with the given figures."""
    return DispatchMetricFactory(created_at=when, **figures)


# --- The window and the settings -----------------------------------------------------------


def test_window_ending_defaults_to_the_configured_hours_before_now(make_app):
    app = make_app(MOTORPOOL_METRIC_WINDOW_HOURS=6)
    with app.app_context(), clock_at(END):
        window = metrics.window_ending()
    assert window == MetricWindow(END - timedelta(hours=6), END)
    with app.app_context():
        assert metrics.window_ending(END, 48).start == END - timedelta(hours=48)
        with pytest.raises(ValueError, match="more than 0 hours"):
            metrics.window_ending(END, 0)


@pytest.mark.parametrize(("name", "value", "says"), [
    ("MOTORPOOL_METRIC_WINDOW_HOURS", 0, "above 0"),
    ("MOTORPOOL_METRIC_WINDOW_HOURS", "24", "above 0"),
    ("MOTORPOOL_FTF_MIN_SAMPLE", 0, "at least 1"),
    ("MOTORPOOL_FTF_MIN_SAMPLE", 2.5, "whole number"),
])
def test_start_up_refuses_metric_settings_that_cannot_work(make_app, name, value, says):
    with pytest.raises(ValueError, match=f"{name}.*{says}"):
        make_app(**{name: value})


def test_metric_settings_are_read_from_the_environment(monkeypatch):
    from app.config import from_environment

    assert from_environment({"MOTORPOOL_METRIC_WINDOW_HOURS": "12.5", "MOTORPOOL_FTF_MIN_SAMPLE": "8"}) == {
        "MOTORPOOL_METRIC_WINDOW_HOURS": 12.5, "MOTORPOOL_FTF_MIN_SAMPLE": 8}
    with pytest.raises(ValueError, match="MOTORPOOL_METRIC_WINDOW_HOURS must be a number"):
        from_environment({"MOTORPOOL_METRIC_WINDOW_HOURS": "a day"})


# --- Empty data: no data, never 0 % ---------------------------------------------------------


def test_every_metric_over_an_empty_database_is_no_data(app):
    sla = metrics.sla_compliance(WINDOW)
    assert (sla.completed, sla.within_sla, sla.rate, sla.open_past_sla, sla.past_sla) == (0, 0, None, 0, ())
    routing = metrics.routing_speed(WINDOW)
    assert (routing.assignments, routing.p50_seconds, routing.p95_seconds, routing.worst_seconds) == (0, None, None, None)
    assert (routing.waiting_over, routing.waiting, routing.waiting_threshold_seconds) == (0, (), 120.0)
    for figure in (metrics.completion_estimates(WINDOW), metrics.operational_cost(WINDOW)):
        assert (figure.assignments, figure.total, figure.average, figure.worst, figure.above) == (0, None, None, None, 0)
    queue = metrics.pending_queue(WINDOW)
    assert (queue.waiting, queue.by_priority, queue.oldest_created, queue.items) == (0, {}, None, ())
    ftf = metrics.first_time_fix(WINDOW)
    assert (ftf.completed, ftf.rate, ftf.technicians) == (0, None, ())
    assert metrics.burnout(WINDOW) == metrics.Burnout(assessed=0, at_risk=0, technicians=())
    use = metrics.utilisation(WINDOW)
    assert (use.booked_hours, use.shift_hours, use.rate, use.technicians) == (0, 0, None, ())
    assert metrics.dispatch_counts(WINDOW) == metrics.DispatchCounts(0, 0, 0)


# --- 1. SLA compliance ----------------------------------------------------------------------


def test_sla_compliance_counts_completions_in_the_window_against_their_due_time(app, actor):
    tech = ms.technician("Sam", max_concurrent=10)
    on_time = new_dispatch(at(-10), due_date=at(12))
    late = new_dispatch(at(-10), due_date=at(2))
    at_the_due_minute = new_dispatch(at(-10), due_date=at(5))
    before_window = new_dispatch(at(-10), due_date=at(-1))
    for dispatch in (on_time, late, at_the_due_minute, before_window):
        assign(dispatch, tech, at(-9))
    complete(on_time, at(3))
    complete(late, at(4))
    complete(at_the_due_minute, at(5))  # exactly due: within SLA
    complete(before_window, at(-2))  # before the window: not counted
    overdue_most = new_dispatch(at(-20), due_date=at(1))
    overdue = new_dispatch(at(-20), due_date=at(20))
    new_dispatch(at(-20), due_date=at(30))  # open, not yet due at the window's end
    cancelled = new_dispatch(at(-20), due_date=at(1))
    with clock_at(at(2)):
        dispatch_service.change_status(cancelled, "Cancelled", "duplicate")

    sla = metrics.sla_compliance(WINDOW)

    assert (sla.completed, sla.within_sla) == (3, 2)
    assert sla.rate == pytest.approx(200 / 3)
    assert sla.open_past_sla == 2
    assert sla.past_sla == (metrics.DispatchFigure(overdue_most.dispatch_number, 23.0),
                            metrics.DispatchFigure(overdue.dispatch_number, 4.0))


def test_sla_window_includes_its_start_and_excludes_its_end(app, actor):
    tech = ms.technician("Sam", max_concurrent=10)
    first, last = new_dispatch(at(-5), due_date=at(30)), new_dispatch(at(-5), due_date=at(30))
    assign(first, tech, at(-4))
    assign(last, tech, at(-4))
    complete(first, START)
    complete(last, END)
    assert metrics.sla_compliance(WINDOW).completed == 1
    assert metrics.sla_compliance(MetricWindow(END, END + timedelta(hours=1))).completed == 1


def test_open_past_sla_list_is_capped_but_the_count_is_exact(app, actor):
    for _ in range(4):
        new_dispatch(at(-20), due_date=at(1))
    sla = metrics.sla_compliance(WINDOW, limit=2)
    assert (sla.open_past_sla, len(sla.past_sla)) == (4, 2)


# --- 2. Routing speed -----------------------------------------------------------------------


def test_routing_speed_percentiles_are_nearest_rank_over_the_window(app):
    for seconds in range(1, 21):  # 1..20 s, in shuffled order of creation
        record(at((seconds * 7) % 20 + 1), routing_speed_seconds=float(seconds))
    record(at(-1), routing_speed_seconds=999.0)  # before the window
    record(END, routing_speed_seconds=999.0)  # at its end: excluded
    record(at(2), routing_speed_seconds=None)  # no speed recorded: left out

    routing = metrics.routing_speed(WINDOW)

    assert routing.assignments == 20
    assert (routing.p50_seconds, routing.p95_seconds, routing.worst_seconds) == (10.0, 19.0, 20.0)


def test_routing_speed_of_one_assignment_is_that_assignment(app):
    record(at(1), routing_speed_seconds=42.0)
    routing = metrics.routing_speed(WINDOW)
    assert (routing.p50_seconds, routing.p95_seconds, routing.worst_seconds) == (42.0, 42.0, 42.0)


def test_routing_speed_names_work_waiting_longer_than_the_p95(app, actor):
    for seconds in (30.0, 60.0, 90.0):
        record(at(1), routing_speed_seconds=seconds)  # p95 = 90 s
    long_wait = new_dispatch(END - timedelta(seconds=600))
    short_wait = new_dispatch(END - timedelta(seconds=91))
    new_dispatch(END - timedelta(seconds=60))  # within the p95
    taken = new_dispatch(END - timedelta(seconds=900))
    assign(taken, ms.technician("Sam"), END - timedelta(seconds=800))

    routing = metrics.routing_speed(WINDOW)

    assert routing.waiting_threshold_seconds == 90.0
    assert routing.waiting_over == 2
    assert routing.waiting == (metrics.DispatchFigure(long_wait.dispatch_number, 600.0),
                               metrics.DispatchFigure(short_wait.dispatch_number, 91.0))


def test_without_assignments_waiting_work_is_measured_against_the_limit(app, actor):
    new_dispatch(END - timedelta(seconds=121))
    new_dispatch(END - timedelta(seconds=100))
    routing = metrics.routing_speed(WINDOW, limit_seconds=120)
    assert (routing.p95_seconds, routing.waiting_threshold_seconds, routing.waiting_over) == (None, 120.0, 1)


# --- 3 and 4. Estimated completion and operational cost ---------------------------------------


def test_completion_estimates_give_the_distribution_and_the_dispatches_above_the_limit(app):
    rows = [record(at(h), estimated_completion_hours=hours) for h, hours in ((1, 2.0), (2, 9.5), (3, 6.0), (4, 7.25))]
    record(at(-3), estimated_completion_hours=20.0)  # before the window
    record(at(5), estimated_completion_hours=None)

    figure = metrics.completion_estimates(WINDOW, limit_hours=6.0)

    assert (figure.assignments, figure.total, figure.worst, figure.limit) == (4, 24.75, 9.5, 6.0)
    assert figure.average == pytest.approx(24.75 / 4)
    assert figure.above == 2  # 6.0 is not above 6
    assert figure.offenders == (metrics.DispatchFigure(rows[1].dispatch.dispatch_number, 9.5),
                                metrics.DispatchFigure(rows[3].dispatch.dispatch_number, 7.25))


def test_operational_cost_gives_total_average_and_the_dispatches_above_the_limit(app):
    rows = [record(at(h), operational_cost=cost) for h, cost in ((1, 100.0), (2, 360.0), (3, 540.0))]
    figure = metrics.operational_cost(WINDOW)  # default limit 350
    assert (figure.assignments, figure.total, figure.average, figure.worst) == (3, 1000.0, pytest.approx(1000 / 3), 540.0)
    assert (figure.limit, figure.above) == (350.0, 2)
    assert [o.number for o in figure.offenders] == [rows[2].dispatch.dispatch_number, rows[1].dispatch.dispatch_number]


# --- 5. Pending queue -----------------------------------------------------------------------


def test_pending_queue_counts_unassigned_created_work_by_priority(app, actor):
    oldest = new_dispatch(at(-30), priority="High")
    new_dispatch(at(2), priority="High")
    new_dispatch(at(3), priority="Low")
    new_dispatch(END + timedelta(hours=1))  # created after the window: not in its queue
    assigned = new_dispatch(at(1))
    assign(assigned, ms.technician("Sam"), at(2))
    back = new_dispatch(at(1))  # assigned, then taken back: waiting again
    assign(back, ms.technician("Kim"), at(2))
    with clock_at(at(3)):
        dispatch_service.unassign(back, "wrong trade")
    cancelled = new_dispatch(at(1))
    with clock_at(at(2)):
        dispatch_service.change_status(cancelled, "Cancelled", "duplicate")

    queue = metrics.pending_queue(WINDOW)

    assert queue.waiting == 4
    assert queue.by_priority == {"High": 2, "Low": 1, "Normal": 1}
    assert queue.oldest_created == at(-30)
    assert queue.items[0] == metrics.DispatchFigure(oldest.dispatch_number, 54 * 3600.0)
    assert len(queue.items) == 4


# --- 6. First-time fix ----------------------------------------------------------------------


def test_first_time_fix_fleet_wide_and_per_technician_with_a_minimum_sample(app, actor):
    ada, bo = ms.technician("Ada", max_concurrent=10), ms.technician("Bo", max_concurrent=10)
    for _ in range(4):  # Ada fixes four the first time
        work = new_dispatch(at(-5))
        assign(work, ada, at(-4))
        complete(work, at(2))
    second_go = new_dispatch(at(-5))  # Bo had it first; Ada completes it: not a first-time fix
    assign(second_go, bo, at(-4))
    assign(second_go, ada, at(-3))
    complete(second_go, at(3))
    for _ in range(2):  # Bo: two first-time fixes, below the sample of five
        work = new_dispatch(at(-5))
        assign(work, bo, at(-4))
        complete(work, at(4))
    earlier = new_dispatch(at(-50))
    assign(earlier, bo, at(-49))
    complete(earlier, at(-30))  # before the window

    ftf = metrics.first_time_fix(WINDOW)

    assert (ftf.completed, ftf.fixed_first_time, ftf.min_sample) == (7, 6, 5)
    assert ftf.rate == pytest.approx(600 / 7)
    assert ftf.technicians == (
        metrics.TechnicianRate(ada.id, "Ada", 5, 4, 80.0),
        metrics.TechnicianRate(bo.id, "Bo", 2, 2, None),
    )


def test_the_minimum_sample_is_configurable(make_app, database_url):
    app = make_app(MOTORPOOL_FTF_MIN_SAMPLE=2)
    with app.app_context():
        manager = ManagerFactory()
        with acting_as(manager):
            bo = ms.technician("Bo", max_concurrent=10)
            for _ in range(2):
                work = new_dispatch(at(-5))
                assign(work, bo, at(-4))
                complete(work, at(4))
            assert metrics.first_time_fix(WINDOW).technicians[0].rate == 100.0


# --- 7. Burnout -----------------------------------------------------------------------------


def test_burnout_counts_technicians_whose_latest_record_in_the_window_raised_the_alert(app, actor):
    ada, bo, cy, di = (ms.technician(name) for name in ("Ada", "Bo", "Cy", "Di"))
    record(at(1), technician=ada, burnout_alert=True, burnout_risk=0.9)
    latest_ada = record(at(5), technician=ada, burnout_alert=True, burnout_risk=0.85)
    record(at(1), technician=bo, burnout_alert=True, burnout_risk=0.95)
    record(at(6), technician=bo, burnout_alert=False, burnout_risk=0.4)  # recovered
    record(at(-2), technician=cy, burnout_alert=True, burnout_risk=0.99)  # before the window
    latest_di = record(at(3), technician=di, burnout_alert=True, burnout_risk=0.97)

    figure = metrics.burnout(WINDOW)

    assert (figure.assessed, figure.at_risk) == (3, 2)
    assert figure.technicians == (
        metrics.TechnicianRisk(di.id, "Di", 0.97, latest_di.dispatch.dispatch_number),
        metrics.TechnicianRisk(ada.id, "Ada", 0.85, latest_ada.dispatch.dispatch_number),
    )


# --- 8. Utilisation -------------------------------------------------------------------------


def test_utilisation_is_booked_hours_over_shift_hours(app, actor):
    ada = ms.technician("Ada", max_concurrent=10, shift_days="3", shift_start=time(7), shift_end=time(17))
    bo = ms.technician("Bo", max_concurrent=10, shift_days="23", shift_start=time(22), shift_end=time(6))
    off = ms.technician("Off", shift_days="1", shift_start=time(7), shift_end=time(17))  # Mondays only
    for hours, when in ((4.0, at(8)), (3.0, at(9)), (5.0, at(-2))):  # the last before the window
        work = new_dispatch(at(-3), estimated_duration_hours=hours)
        assign(work, ada, when)
    cancelled = new_dispatch(at(-3), estimated_duration_hours=2.0)
    assign(cancelled, ada, at(10))
    with clock_at(at(11)):
        dispatch_service.change_status(cancelled, "Cancelled", "customer withdrew")
    overnight = new_dispatch(at(-3), estimated_duration_hours=1.0)
    assign(overnight, bo, at(23))

    use = metrics.utilisation(WINDOW)

    # Ada: Wednesday 07–17 = 10 h, 7 h booked. Bo: Tuesday's night shift ends 06:00 inside
    # the window (6 h) and Wednesday's starts 22:00 (2 h): 8 h, 1 h booked. Off: no shift.
    assert use.technicians == (
        metrics.TechnicianUtilisation(ada.id, "Ada", 7.0, 10.0),
        metrics.TechnicianUtilisation(bo.id, "Bo", 1.0, 8.0),
        metrics.TechnicianUtilisation(off.id, "Off", 0.0, 0.0),
    )
    assert [t.rate for t in use.technicians] == [70.0, 12.5, None]
    assert (use.booked_hours, use.shift_hours) == (8.0, 18.0)
    assert use.rate == pytest.approx(800 / 18)


def test_a_technician_with_too_little_shift_in_the_window_has_no_rate_yet(app, actor):
    # The window ends Wednesday 24:00 (WINDOW); Late's shift began at 22:30: 1.5 h, nothing booked yet.
    late = ms.technician("Late", shift_days="3", shift_start=time(22, 30), shift_end=time(6))
    ada = ms.technician("Ada", shift_days="3", shift_start=time(7), shift_end=time(17))

    use = metrics.utilisation(WINDOW)
    by_name = {t.name: t for t in use.technicians}
    assert by_name["Late"].shift_hours == 1.5 and by_name["Late"].rate is None
    assert by_name["Ada"].rate == 0.0  # ten shift hours and nothing booked is a real 0 %
    assert use.shift_hours == 11.5  # the fleet still counts every shift hour

    readings = {r.subject: r for r in alert_checks.measure_utilisation(WINDOW)}
    assert readings[f"technician:{late.id}"].value is None
    assert "1.5 shift hours" in readings[f"technician:{late.id}"].message
    assert "fewer than the 4 needed" in readings[f"technician:{late.id}"].message
    assert readings[f"technician:{ada.id}"].value == 0.0


def test_the_minimum_shift_is_the_operators_setting(app, make_app, actor):
    app.config["MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS"] = 1
    ms.technician("Late", shift_days="3", shift_start=time(22, 30), shift_end=time(6))
    (late,) = metrics.utilisation(WINDOW).technicians
    assert late.rate == 0.0
    with pytest.raises(ValueError, match="MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS must be a number of hours"):
        make_app(MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS=-1)


def test_shift_hours_follow_the_technicians_wall_clock_across_a_clock_change(app):
    # Europe/Berlin springs forward at 02:00 on Sunday 29 March 2026: 00:00–06:00 lasts 5 h.
    window = MetricWindow(datetime(2026, 3, 28, 12, tzinfo=UTC), datetime(2026, 3, 29, 12, tzinfo=UTC))
    assert metrics.shift_hours_in(window.start, window.end, "7", time(0), time(6), "Europe/Berlin") == 5.0
    assert metrics.shift_hours_in(window.start, window.end, "7", time(0), time(6), "UTC") == 6.0
    # A 24-hour shift (start = end) on that Sunday lasts 23 h; the window holds 13 h of it.
    days = (datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    assert metrics.shift_hours_in(*days, "7", time(0), time(0), "Europe/Berlin") == 23.0
    assert metrics.shift_hours_in(window.start, window.end, "7", time(0), time(0), "Europe/Berlin") == 13.0


# --- Counts for the summaries --------------------------------------------------------------


def test_dispatch_counts_created_completed_and_cancelled_in_the_window(app, actor):
    tech = ms.technician("Sam", max_concurrent=10)
    new_dispatch(at(1))
    done = new_dispatch(at(2))
    assign(done, tech, at(3))
    complete(done, at(4))
    gone = new_dispatch(at(-5))
    with clock_at(at(1)):
        dispatch_service.change_status(gone, "Cancelled", "duplicate")
    new_dispatch(at(-1))
    assert metrics.dispatch_counts(WINDOW) == metrics.DispatchCounts(created=2, completed=1, cancelled=1)


# --- A constant number of queries ----------------------------------------------------------


def _all_metrics() -> None:
    metrics.sla_compliance(WINDOW)
    metrics.routing_speed(WINDOW)
    metrics.completion_estimates(WINDOW)
    metrics.operational_cost(WINDOW)
    metrics.pending_queue(WINDOW)
    metrics.first_time_fix(WINDOW)
    metrics.burnout(WINDOW)
    metrics.utilisation(WINDOW)
    metrics.dispatch_counts(WINDOW)


def _some_data(technicians: int) -> None:
    for i in range(technicians):
        tech = ms.technician(f"Crew {i}", max_concurrent=10)
        for j in range(2):
            work = new_dispatch(at(-5), due_date=at(2 + 20 * j))
            assign(work, tech, at(1))
            complete(work, at(3 + j))
        record(at(2), technician=tech, routing_speed_seconds=30.0 * i, estimated_completion_hours=7.0,
               operational_cost=400.0, burnout_alert=True, burnout_risk=0.8)
        new_dispatch(at(-10), due_date=at(1))


def test_the_metrics_use_the_same_number_of_queries_for_little_and_much_data(app, actor):
    counts = []
    for size in (1, 6):
        _some_data(size)
        db.session.expire_all()
        with counting_queries() as statements:
            _all_metrics()
        counts.append(len(statements))
    # sla_compliance: the count, then the list picked on the index; the percentiles: the count,
    # then the values at their ranks; each distribution: its aggregates, then its highest records.
    assert counts[0] == counts[1] == 17


@pytest.mark.parametrize(("seconds", "text"), [(None, "no data"), (42.4, "42 s"), (119, "119 s"), (600, "10 min"),
                                               (7199, "120 min"), (7200, "2.0 h"), (12_600, "3.5 h")])
def test_durations_are_written_as_people_read_them(seconds, text):
    assert metrics.duration_text(seconds) == text
