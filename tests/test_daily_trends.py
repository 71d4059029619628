"""metrics.daily_trends against hand-computed days, in a zone whose days are not UTC's.

The end is Wednesday 10 June 2026 12:00 UTC, 08:00 in New York (EDT, UTC−4): the last three
local days are 8, 9 and 10 June, and 9 June runs from 04:00 UTC on the 9th to 04:00 UTC on
the 10th.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select, update

from app.blueprints import charts
from app.extensions import db
from app.models import DailyTrend, DispatchMetric
from app.models.base import clock_at
from app.plugins.contracts import MetricWindow
from app.services import metrics
from tests.factories import DispatchMetricFactory, ManagerFactory, TechnicianFactory

END = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def new_york(app, monkeypatch):
    monkeypatch.setitem(app.config, "MOTORPOOL_TIMEZONE", "America/New_York")


def record(at: datetime, routing: float | None, hours: float | None) -> None:
    DispatchMetricFactory(created_at=at, routing_speed_seconds=routing, estimated_completion_hours=hours)


def three_days_of_records() -> None:
    record(utc(8, 3, 59), 999.0, 9.0)  # 7 June 23:59 in New York: before the three days
    record(utc(9, 5), 10.0, 4.0)  # 9 June 01:00
    record(utc(9, 18), 20.0, None)
    record(utc(9, 20), 30.0, None)
    record(utc(10, 3, 30), 100.0, 2.0)  # 9 June 23:30 in New York (10 June in UTC)
    record(utc(10, 4, 30), 50.0, 1.5)  # 10 June 00:30
    record(utc(10, 13), 70.0, 3.0)  # after the end


def test_each_local_day_has_its_percentiles_and_a_day_without_records_has_none(app, new_york):
    three_days_of_records()
    days = metrics.daily_trends(3, end=END)
    assert [d.day for d in days] == [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)]
    empty, ninth, tenth = days
    assert empty == metrics.DayTrend(date(2026, 6, 8), 0, None, None, 0, None, None)
    # 9 June: routing 10, 20, 30, 100 → p50 rank ⌈2⌉ = 20, p95 rank ⌈3.8⌉ = 100;
    # estimates 4.0 and 2.0 → p50 rank 1 = 2.0, p95 rank 2 = 4.0. The 23:30 record is here.
    assert ninth == metrics.DayTrend(date(2026, 6, 9), 4, 20.0, 100.0, 2, 2.0, 4.0)
    assert tenth == metrics.DayTrend(date(2026, 6, 10), 1, 50.0, 50.0, 1, 1.5, 1.5)


def test_the_days_follow_the_organisations_zone(app):
    three_days_of_records()  # the same records read in UTC days
    days = {d.day: d for d in metrics.daily_trends(3, end=END)}
    assert days[date(2026, 6, 8)].assignments == 1  # 03:59 UTC on the 8th is the 8th in UTC
    assert (days[date(2026, 6, 9)].assignments, days[date(2026, 6, 9)].routing_p95_seconds) == (3, 30.0)
    assert (days[date(2026, 6, 10)].assignments, days[date(2026, 6, 10)].routing_p50_seconds) == (2, 50.0)


def test_a_day_matches_routing_speed_and_completion_estimates_over_that_day(app, new_york):
    three_days_of_records()
    ninth = metrics.daily_trends(3, end=END)[1]
    window = MetricWindow(start=utc(9, 4), end=utc(10, 4))
    speed = metrics.routing_speed(window)
    assert (speed.assignments, speed.p50_seconds, speed.p95_seconds) == (
        ninth.assignments, ninth.routing_p50_seconds, ninth.routing_p95_seconds)
    assert metrics.completion_estimates(window).assignments == ninth.estimates


def test_without_any_record_every_day_is_there_with_no_data(app, new_york):
    days = metrics.daily_trends(end=END)
    assert len(days) == 30
    assert days[-1].day == date(2026, 6, 10) and days[0].day == date(2026, 5, 12)
    assert all(d.assignments == 0 and d.routing_p50_seconds is None and d.completion_p95_hours is None
               for d in days)


def test_a_nonsense_number_of_days_is_refused(app):
    with pytest.raises(ValueError, match="at least one day"):
        metrics.daily_trends(0, end=END)


def test_the_dashboard_loads_the_trends_table_and_technicians_may_not(app, client, new_york):
    three_days_of_records()
    manager = ManagerFactory()
    client.post("/auth/login", data={"email": manager.email, "password": PASSWORD})
    with clock_at(END):
        page = client.get("/dashboard/technicians").get_data(as_text=True)
        part = client.get("/dashboard/technicians/trends", headers={"HX-Request": "true"})
        full = client.get("/dashboard/technicians/trends").get_data(as_text=True)
    assert 'hx-get="/dashboard/technicians/trends" hx-trigger="load"' in page
    assert "Trends, last 30 days" in page
    text = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in text and "Trends, last 30 days" in text
    ninth = re.search(r'<time datetime="2026-06-09">.*?</tr>', text, re.S).group(0)
    assert re.findall(r"<td>(.*?)</td>", ninth) == ["4", "20 s", "100 s", "2.0 h", "4.0 h"]
    eighth = re.search(r'<time datetime="2026-06-08">.*?</tr>', text, re.S).group(0)
    assert eighth.count("no data") == 4
    assert "<html" in full and "Trends, last 30 days" in full
    client.post("/auth/logout")
    technician = TechnicianFactory()
    client.post("/auth/login", data={"email": technician.email, "password": PASSWORD})
    assert client.get("/dashboard/technicians/trends").status_code == 403


# --- The kept days (daily_trends rows) --------------------------------------------------------


def kept_days() -> dict[date, DailyTrend]:
    db.session.expire_all()
    return {row.day: row for row in db.session.scalars(select(DailyTrend))}


def test_finished_days_are_kept_with_the_figures_computed_from_their_records(app, new_york):
    three_days_of_records()
    first = metrics.daily_trends(3, end=END)
    kept = kept_days()
    # 8 and 9 June have ended (New York days); 10 June is still going at the end, so it is not kept.
    assert sorted(kept) == [date(2026, 6, 8), date(2026, 6, 9)]
    ninth = kept[date(2026, 6, 9)]
    assert (ninth.zone, ninth.starts_at, ninth.ends_at) == ("America/New_York", utc(9, 4), utc(10, 4))
    assert (ninth.assignments, ninth.routing_p50_seconds, ninth.routing_p95_seconds, ninth.estimates,
            ninth.completion_p50_hours, ninth.completion_p95_hours) == (4, 20.0, 100.0, 2, 2.0, 4.0)
    # The second read takes the kept days and gives the same figures as the computation.
    assert metrics.daily_trends(3, end=END) == first
    assert first[1] == metrics.DayTrend(date(2026, 6, 9), 4, 20.0, 100.0, 2, 2.0, 4.0)


def test_a_kept_day_is_read_not_computed_again(app, new_york):
    three_days_of_records()
    metrics.daily_trends(3, end=END)
    # Written behind the hooks' back (a Core statement on the bare table): the kept row wins,
    # which shows the figures come from it.
    db.session.execute(update(DailyTrend).where(DailyTrend.day == date(2026, 6, 9)).values(assignments=99))
    db.session.commit()
    assert metrics.daily_trends(3, end=END)[1].assignments == 99


def test_a_record_arriving_late_for_a_finished_day_is_counted(app, new_york):
    three_days_of_records()
    metrics.daily_trends(3, end=END)
    record(utc(10, 3, 45), 500.0, 8.0)  # 9 June 23:45 in New York, written after the day was kept
    assert date(2026, 6, 9) not in kept_days() and date(2026, 6, 8) in kept_days()
    ninth = metrics.daily_trends(3, end=END)[1]
    # routing 10, 20, 30, 100, 500 → p50 rank 3 = 30, p95 rank 5 = 500; estimates 2, 4, 8 → 4 and 8.
    assert ninth == metrics.DayTrend(date(2026, 6, 9), 5, 30.0, 500.0, 3, 4.0, 8.0)
    assert kept_days()[date(2026, 6, 9)].assignments == 5


def test_a_changed_or_deleted_record_forgets_its_day(app, new_york):
    three_days_of_records()
    metrics.daily_trends(3, end=END)
    latest = db.session.scalars(select(DispatchMetric).where(DispatchMetric.routing_speed_seconds == 100.0)).one()
    latest.routing_speed_seconds = 40.0
    db.session.commit()
    assert date(2026, 6, 9) not in kept_days()
    assert metrics.daily_trends(3, end=END)[1].routing_p95_seconds == 40.0
    db.session.delete(db.session.get(DispatchMetric, latest.id))
    db.session.commit()
    assert date(2026, 6, 9) not in kept_days()
    assert metrics.daily_trends(3, end=END)[1] == metrics.DayTrend(date(2026, 6, 9), 3, 20.0, 30.0, 1, 4.0, 4.0)


def test_a_record_moved_to_another_day_forgets_both_days(app, new_york):
    three_days_of_records()
    metrics.daily_trends(3, end=END)
    moved = db.session.scalars(select(DispatchMetric).where(DispatchMetric.routing_speed_seconds == 10.0)).one()
    moved.created_at = utc(8, 12)  # from 9 June to 8 June
    db.session.commit()
    assert kept_days() == {}
    days = metrics.daily_trends(3, end=END)
    assert (days[0].assignments, days[1].assignments) == (1, 3)


def test_a_bulk_statement_on_the_records_forgets_every_kept_day(app, new_york):
    three_days_of_records()
    metrics.daily_trends(3, end=END)
    db.session.execute(update(DispatchMetric).values(routing_speed_seconds=1.0))
    db.session.commit()
    assert kept_days() == {}
    assert metrics.daily_trends(3, end=END)[1].routing_p95_seconds == 1.0


def test_each_zone_keeps_its_own_days(app, monkeypatch):
    three_days_of_records()
    monkeypatch.setitem(app.config, "MOTORPOOL_TIMEZONE", "America/New_York")
    metrics.daily_trends(3, end=END)
    monkeypatch.setitem(app.config, "MOTORPOOL_TIMEZONE", "UTC")
    days = {d.day: d for d in metrics.daily_trends(3, end=END)}  # the UTC days, as computed directly
    assert (days[date(2026, 6, 9)].assignments, days[date(2026, 6, 9)].routing_p95_seconds) == (3, 30.0)
    assert {(row.zone, row.day) for row in kept_days().values()} >= {("UTC", date(2026, 6, 9))}
    zones = {row.zone for row in db.session.scalars(select(DailyTrend))}
    assert zones == {"UTC", "America/New_York"}


def test_a_day_ending_after_now_is_not_kept(app, new_york):
    three_days_of_records()
    with clock_at(utc(10, 2)):  # 9 June 22:00 in New York: the 9th has not ended yet
        metrics.daily_trends(3, end=END)
    assert sorted(kept_days()) == [date(2026, 6, 8)]


# --- The chart, its table and the CSV --------------------------------------------------------


def signed_in_manager(client):
    manager = ManagerFactory()
    client.post("/auth/login", data={"email": manager.email, "password": PASSWORD})


def test_the_trends_fragment_draws_p50_and_p95_lines_for_both_figures(app, client, new_york):
    three_days_of_records()
    signed_in_manager(client)
    with clock_at(END):
        text = client.get("/dashboard/technicians/trends", headers={"HX-Request": "true"}).get_data(as_text=True)
    for chart in ("trend-routing-chart", "trend-completion-chart"):
        svg = re.search(rf'<svg class="chart-svg" id="{chart}".*?</svg>', text, re.S).group(0)
        assert [m for m in re.findall(r'data-series="(p\d\d)"', svg)] == ["p50", "p95"]
        assert svg.count("<circle") == 6  # 7, 9 and 10 June have figures, p50 and p95 each
    routing = re.search(r'id="trend-routing-chart".*?</svg>', text, re.S).group(0)
    assert "09 Jun · p95: 100.0" in routing and "10 Jun · p50: 50.0" in routing
    assert "No data yet" not in text
    assert 'href="/dashboard/technicians/trends.csv"' in text


def test_without_records_the_trends_say_no_data_yet_and_draw_nothing(app, client, new_york):
    signed_in_manager(client)
    with clock_at(END):
        text = client.get("/dashboard/technicians/trends", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No data yet: no assignment was made in these 30 days." in text
    assert "<svg" not in text


def test_the_trends_csv_has_one_row_per_day_oldest_first(app, client, new_york):
    three_days_of_records()
    signed_in_manager(client)
    with clock_at(END):
        response = client.get("/dashboard/technicians/trends.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="trends-2026-05-12-2026-06-10.csv"' in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "day,assignments,routing_p50_seconds,routing_p95_seconds,estimates,completion_p50_hours,completion_p95_hours"
    assert len(lines) == 31
    assert lines[-3:] == ["2026-06-08,0,,,0,,", "2026-06-09,4,20.0,100.0,2,2.0,4.0", "2026-06-10,1,50.0,50.0,1,1.5,1.5"]


def test_technicians_may_not_download_the_trends(app, client):
    technician = TechnicianFactory()
    client.post("/auth/login", data={"email": technician.email, "password": PASSWORD})
    assert client.get("/dashboard/technicians/trends.csv").status_code == 403


def test_day_lines_share_one_scale_and_break_at_days_without_a_value():
    chart = charts.day_lines(["a", "b", "c"], [("p50", [10.0, None, 20.0]), ("p95", [40.0, None, 30.0])])
    p50, p95 = chart.lines
    assert chart.series == ("p50", "p95") and (p50.series, p95.series) == (0, 1)
    assert len(p50.lines) == 2 and len(p95.lines) == 2  # the missing day breaks each line
    top = {point.value: point.y for line in chart.lines for point in line.points}
    assert top[40.0] == chart.top and top[10.0] > top[20.0] > top[30.0] > top[40.0]
    assert not chart.empty
    assert charts.day_lines(["a", "b"], [("p50", [None, None])]).empty


def test_a_record_made_now_costs_the_writer_no_statement_and_one_made_at_a_past_clock_does(app, new_york):
    three_days_of_records()
    metrics.daily_trends(3, end=END)
    seen: list[str] = []

    def listen(_conn, _cursor, statement, *_):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        DispatchMetricFactory(routing_speed_seconds=5.0)  # stamped now: no kept day can contain it
        assert not [s for s in seen if "daily_trends" in s]
        assert sorted(kept_days()) == [date(2026, 6, 8), date(2026, 6, 9)]
        with clock_at(utc(9, 12)):  # the demo's way of writing history: "now" is 9 June
            DispatchMetricFactory(routing_speed_seconds=5.0)
        assert [s for s in seen if s.startswith("DELETE FROM daily_trends")]
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert sorted(kept_days()) == [date(2026, 6, 8)]
    assert metrics.daily_trends(3, end=END)[1].assignments == 5
