"""Daily and weekly summaries: local day boundaries, figures, pages for each role, the command line, sending."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from app.services.delivery_worker import deliver_due
from app.extensions import db
from app.models import Dispatch
from app.models.base import clock_at
from app.plugins import hookimpl
from app.plugins.contracts import MetricWindow, Notification
from app.services import dispatches as dispatch_service
from app.services import metrics, reports
from app.services.actors import acting_as
from app.services.errors import ValidationError
from tests import matching_support as ms
from tests.dispatch_pages_support import html, login
from tests.factories import (
    AdminFactory,
    DispatchFactory,
    DispatchMetricFactory,
    ManagerFactory,
    TechnicianFactory,
)
from tests.plugin_support import Plugins
from tests.support.query_counter import counting_queries

ZONE = "America/New_York"  # UTC-4 in June: 10 June local is 04:00 UTC 10 June to 04:00 UTC 11 June
DAY = date(2026, 6, 10)
LOCAL_START = datetime(2026, 6, 10, 4, tzinfo=UTC)
LOCAL_END = datetime(2026, 6, 11, 4, tzinfo=UTC)
LATER = datetime(2026, 6, 20, 12, tzinfo=UTC)  # "now" for reports on the finished day


@pytest.fixture
def app(make_app):
    app = make_app(MOTORPOOL_TIMEZONE=ZONE)
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def actor(app):
    manager = ManagerFactory(name="Morgan Manager")
    with acting_as(manager):
        yield manager


def done(when_created, when_assigned, when_completed, technician, **fields) -> Dispatch:
    with clock_at(when_created):
        dispatch = DispatchFactory(**fields)
    with clock_at(when_assigned):
        dispatch_service.assign(dispatch, technician)
    with clock_at(when_completed):
        dispatch_service.change_status(dispatch, "In Progress")
        dispatch_service.change_status(dispatch, "Completed")
    return dispatch


# --- Which days ------------------------------------------------------------------------------


def test_a_daily_summary_runs_from_local_midnight_to_local_midnight(app):
    with clock_at(LATER):
        window, complete, first, last = reports.period_window("daily", DAY)
    assert (window, complete, first, last) == (MetricWindow(LOCAL_START, LOCAL_END), True, DAY, DAY)


def test_a_weekly_summary_is_the_iso_week_containing_the_day(app):
    with clock_at(LATER):
        window, complete, first, last = reports.period_window("weekly", DAY)  # a Wednesday
    assert (first, last) == (date(2026, 6, 8), date(2026, 6, 14))
    assert window == MetricWindow(datetime(2026, 6, 8, 4, tzinfo=UTC), datetime(2026, 6, 15, 4, tzinfo=UTC))
    with clock_at(LATER):
        assert reports.period_window("weekly", date(2026, 6, 14))[2:] == (first, last)  # its Sunday
        assert reports.period_window("weekly", date(2026, 6, 15))[2] == date(2026, 6, 15)  # the next Monday


def test_the_day_the_clocks_change_lasts_23_hours(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="Europe/Berlin")
    with app.app_context(), clock_at(LATER):
        window, *_ = reports.period_window("daily", date(2026, 3, 29))
    assert window.end - window.start == timedelta(hours=23)


def test_a_period_still_running_ends_now_and_says_so_far(app):
    now = datetime(2026, 6, 10, 15, tzinfo=UTC)
    with clock_at(now):
        report = reports.summary("daily", DAY)
    assert (report.window.end, report.complete) == (now, False)
    assert report.title == "Daily summary, Wednesday 10 June 2026 (so far)"


def test_a_day_not_begun_and_a_date_that_is_no_date_are_refused(app):
    with clock_at(datetime(2026, 6, 10, 3, 59, tzinfo=UTC)):  # 23:59 on 9 June in New York
        with pytest.raises(ValidationError, match="2026-06-10 has not begun yet in America/New_York; choose today "
                                                  r"\(2026-06-09\)"):
            reports.summary("daily", DAY)
    for text in ("2026-13-01", "2026-02-30", "tomorrow", "", "2026-6-1", " 2026-06-10", "2026-06-10\n",
                 "٢٠٢٦-٠٦-١٠", "20260610", "2026-06-10T00:00"):
        with pytest.raises(ValidationError, match="is not a date: write it as YYYY-MM-DD"):
            reports.parse_day(text)
    with pytest.raises(ValidationError, match="has not begun yet"):
        reports.summary("weekly", date(9999, 12, 31))
    with pytest.raises(ValidationError, match="choose daily or weekly"):
        reports.summary("monthly", DAY)


# --- The figures --------------------------------------------------------------------------


@pytest.fixture
def day_of_work(app, actor):
    """Work on and around 10 June in New York, hand-counted below."""
    ada = ms.technician("Ada", max_concurrent=10, shift_days="3", shift_start=time(8), shift_end=time(18))
    # Before the local day (23:30 on 9 June local): not created in it, but completed in it.
    early = done(LOCAL_START - timedelta(minutes=30), LOCAL_START + timedelta(hours=5),
                 LOCAL_START + timedelta(hours=6), ada, due_date=LOCAL_START + timedelta(hours=10),
                 estimated_duration_hours=3.0)
    # In the day, completed after its due time.
    late = done(LOCAL_START + timedelta(minutes=30), LOCAL_START + timedelta(hours=6),
                LOCAL_START + timedelta(hours=9), ada, due_date=LOCAL_START + timedelta(hours=7),
                estimated_duration_hours=2.0)
    with clock_at(LOCAL_END - timedelta(minutes=1)):  # 23:59 local: in the day, waiting
        DispatchFactory()
    with clock_at(LOCAL_END):  # midnight local: the next day
        DispatchFactory()
    with clock_at(LOCAL_START + timedelta(hours=1)):
        gone = DispatchFactory()
    with clock_at(LOCAL_START + timedelta(hours=2)):
        dispatch_service.change_status(gone, "Cancelled", "duplicate")
    for hours, seconds, cost in ((5, 40.0, 300.0), (6, 100.0, 500.0)):
        DispatchMetricFactory(created_at=LOCAL_START + timedelta(hours=hours), technician=ada,
                              routing_speed_seconds=seconds, operational_cost=cost, burnout_alert=True,
                              burnout_risk=0.9)
    DispatchMetricFactory(created_at=LOCAL_START - timedelta(minutes=1), operational_cost=9999.0)
    return ada, early, late


def test_the_daily_summary_of_a_hand_counted_day(app, day_of_work):
    ada, early, late = day_of_work
    with clock_at(LATER):
        report = reports.summary("daily", DAY)
    assert report.counts == metrics.DispatchCounts(created=3, completed=2, cancelled=1)
    assert (report.sla.completed, report.sla.within_sla, report.sla.rate) == (2, 1, 50.0)
    assert (report.routing.p50_seconds, report.routing.p95_seconds) == (40.0, 100.0)
    assert (report.cost.total, report.cost.average) == (800.0, 400.0)
    assert report.first_time_fix.rate == 100.0
    assert [t.name for t in report.burnout.technicians] == ["Ada"]
    # Ada's Wednesday shift, 08:00–18:00 New York: 10 h, 5 h booked (3 + 2).
    assert (report.utilisation.booked_hours, report.utilisation.shift_hours, report.utilisation.rate) == (5.0, 10.0, 50.0)
    assert report.title == "Daily summary, Wednesday 10 June 2026"


def test_the_summary_text_states_every_figure(app, day_of_work):
    with clock_at(LATER):
        text = reports.text(reports.summary("daily", DAY))
    assert text.splitlines() == [
        "Daily summary, Wednesday 10 June 2026",
        "Times in America/New_York; from 2026-06-10 00:00 EDT to 2026-06-11 00:00 EDT.",
        "",
        "Dispatches: 3 created, 2 completed, 1 cancelled",
        "SLA compliance: 50.0 % (1 of 2 completed within SLA); 0 still open past SLA",
        "Routing speed: p50 40 s, p95 100 s over 2 assignments",
        "Operational cost: total $800.00, average $400.00 per dispatch over 2 assignments",
        "First-time-fix rate: 100.0 % (2 of 2)",
        "Utilisation: 50.0 % (5.0 of 10.0 shift hours booked)",
        "At high burnout risk (1 of 1 assessed):",
        "  - Ada (90 %)",
        "Open alerts now: none",
    ]


def test_the_summary_counts_the_alerts_open_now(app, day_of_work):
    from app.services import alerting

    with clock_at(LATER):
        alerting.raise_alert("pending_queue", "critical", "25 dispatches wait for a technician", value=25)
        warning = alerting.raise_alert("sla_compliance", "warning", "SLA compliance 80.0 %", value=80)
        alerting.raise_alert("utilisation", "warning", "Utilisation 30.0 %", value=30)
        alerting.acknowledge(warning.id, day_of_work[0])
        report = reports.summary("daily", DAY)
    assert report.open_alerts["total"] == 3
    assert "Open alerts now: 3 (1 critical, 2 warning; 1 acknowledged)" in reports.text(report)
    assert reports.figures(report)["open_alerts"]["critical"] == 1


def test_an_empty_day_reads_no_data_never_zero_percent(app):
    with clock_at(LATER):
        report = reports.summary("daily", DAY)
        text = reports.text(report)
    assert "SLA compliance: no data; 0 still open past SLA" in text
    assert "Routing speed: p50 no data, p95 no data" in text
    assert "Operational cost: total no data, average no data per dispatch" in text
    assert "First-time-fix rate: no data" in text and "Utilisation: no data" in text
    assert "0.0 %" not in text


def test_the_summary_reads_its_figures_in_a_fixed_number_of_queries(app, day_of_work):
    with clock_at(LATER), counting_queries() as statements:
        reports.summary("weekly", DAY)
    # The figures (SLA compliance: three; routing speed and cost: a count, then the values at
    # their ranks) and the open alerts.
    assert len(statements) == 14


# --- Sending --------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


class RecorderPlugin:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    @hookimpl
    def motorpool_notifiers(self):
        return {"recorder": self.recorder}


def test_send_summary_sends_text_html_and_figures_to_managers_and_admins(make_app, monkeypatch):
    recorder = Recorder()
    Plugins(monkeypatch).add("recorder", RecorderPlugin(recorder))
    app = make_app(MOTORPOOL_TIMEZONE=ZONE, MOTORPOOL_NOTIFIERS="recorder")
    with app.app_context(), clock_at(LATER):
        reports.send_summary("weekly", DAY)
        assert recorder.sent == []  # queued; the delivery worker sends it
        deliver_due()
    [sent] = recorder.sent
    assert (sent.kind, sent.roles, sent.severity) == ("report.weekly", ("manager", "admin"), "info")
    assert sent.subject == "Weekly summary, week 24 of 2026 (8–14 June 2026)"
    assert sent.body.startswith(sent.subject + "\n")
    assert "<h1>Weekly summary, week 24 of 2026" in sent.html and "no data" in sent.html
    data = json.loads(json.dumps(sent.data))  # JSON, as the delivery stores it
    assert data["kind"] == "weekly" and data["first_day"] == "2026-06-08" and data["sla_compliance"]["rate"] is None


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "expected"), [("technician", 403), ("manager", 200), ("admin", 200)])
def test_report_pages_are_for_managers_and_admins(app, role, expected):
    user = {"technician": TechnicianFactory, "manager": ManagerFactory, "admin": AdminFactory}[role]()
    client = app.test_client()
    login(client, user)
    for url in ("/reports/daily/2026-06-10", "/reports/weekly/2026-06-10"):
        assert client.get(url).status_code == expected


def test_anonymous_visitors_are_sent_to_sign_in(app):
    response = app.test_client().get("/reports/daily/2026-06-10")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_the_daily_page_shows_the_figures(app, day_of_work):
    client = app.test_client()
    login(client, AdminFactory())
    with clock_at(LATER):
        page = html(client.get("/reports/daily/2026-06-10"))
    assert "<h1>Daily summary, Wednesday 10 June 2026</h1>" in page
    assert "<strong>3</strong> created" in page and "<strong>1</strong> cancelled" in page
    assert "<td>50.0 %</td>" in page and "$800.00" in page and "Ada" in page
    assert 'href="/reports/daily/2026-06-09">Previous day' in page and "/reports/daily/2026-06-11" in page
    assert 'href="/reports/weekly/2026-06-10">Weekly summary' in page


def test_an_empty_page_says_no_data(app):
    client = app.test_client()
    login(client, ManagerFactory())
    with clock_at(LATER):
        page = html(client.get("/reports/weekly/2026-06-10"))
    assert page.count('<span class="empty">no data</span>') >= 5
    assert "nobody was assessed" in page and "0 of 0 assessed" not in page


@pytest.mark.parametrize(("url", "says"), [
    ("/reports/daily/2026-02-30", "&#39;2026-02-30&#39; is not a date: write it as YYYY-MM-DD"),
    ("/reports/weekly/last-week", "&#39;last-week&#39; is not a date"),
    ("/reports/daily/2999-01-01", "2999-01-01 has not begun yet in America/New_York"),
])
def test_a_bad_date_is_a_clear_400_not_a_server_error(app, url, says):
    client = app.test_client()
    login(client, ManagerFactory())
    response = client.get(url)
    assert response.status_code == 400 and says in html(response)


def test_reports_in_the_navigation_lead_to_todays_daily_summary(app):
    client = app.test_client()
    login(client, ManagerFactory())
    with clock_at(datetime(2026, 6, 10, 2, tzinfo=UTC)):  # still 9 June in New York
        home = html(client.get("/"))
        response = client.get("/reports/")
    assert 'href="/reports/"' in home
    assert response.status_code == 302 and response.headers["Location"].endswith("/reports/daily/2026-06-09")


def test_technicians_have_no_reports_link(app):
    client = app.test_client()
    login(client, TechnicianFactory())
    assert 'href="/reports/"' not in html(client.get("/"))


# --- The command line -----------------------------------------------------------------------


def test_flask_reports_daily_prints_the_summary(app, day_of_work):
    with clock_at(LATER):
        result = app.test_cli_runner().invoke(args=["reports", "daily", "--date", "2026-06-10"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Daily summary, Wednesday 10 June 2026\n")
    assert "SLA compliance: 50.0 % (1 of 2 completed within SLA)" in result.output


def test_flask_reports_weekly_defaults_to_this_week_and_sends_when_asked(make_app, monkeypatch):
    recorder = Recorder()
    Plugins(monkeypatch).add("recorder", RecorderPlugin(recorder))
    app = make_app(MOTORPOOL_TIMEZONE=ZONE, MOTORPOOL_NOTIFIERS="recorder")
    with app.app_context(), clock_at(datetime(2026, 6, 10, 15, tzinfo=UTC)):
        result = app.test_cli_runner().invoke(args=["reports", "weekly", "--send"])
        deliver_due()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Weekly summary, week 24 of 2026 (8–14 June 2026) (so far)\n")
    assert "Sent to managers and admins" in result.output
    assert [n.kind for n in recorder.sent] == ["report.weekly"]


@pytest.mark.parametrize(("value", "says"), [
    ("01/06/2026", "'01/06/2026' is not a date: write it as YYYY-MM-DD, such as 2026-12-01."),
    ("2999-01-01", "2999-01-01 has not begun yet in America/New_York"),
])
def test_flask_reports_refuses_a_bad_date_with_a_message_and_an_error_status(make_app, monkeypatch, value, says):
    recorder = Recorder()
    Plugins(monkeypatch).add("recorder", RecorderPlugin(recorder))
    app = make_app(MOTORPOOL_TIMEZONE=ZONE, MOTORPOOL_NOTIFIERS="recorder")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["reports", "daily", "--date", value, "--send"])
    assert result.exit_code == 1
    assert says in result.output
    assert recorder.sent == []


@pytest.mark.parametrize(("day", "period"), [
    (date(2026, 6, 10), "week 24 of 2026 (8–14 June 2026)"),
    (date(2026, 12, 1), "week 49 of 2026 (30 November – 6 December 2026)"),
    (date(2027, 1, 1), "week 53 of 2026 (28 December 2026 – 3 January 2027)"),
])
def test_a_week_is_named_by_its_iso_number_and_its_days(app, day, period):
    with clock_at(datetime(2027, 2, 1, tzinfo=UTC)):
        assert reports.summary("weekly", day).period == period


def test_the_first_day_of_the_calendar_is_refused_east_of_utc(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="Europe/Berlin")
    with app.app_context(), pytest.raises(ValidationError, match="0001-01-01 is too far in the past"):
        reports.summary("daily", date(1, 1, 1))
