"""metrics.daily_trends against hand-computed days, in a zone whose days are not UTC's.

The end is Wednesday 10 June 2026 12:00 UTC, 08:00 in New York (EDT, UTC−4): the last three
local days are 8, 9 and 10 June, and 9 June runs from 04:00 UTC on the 9th to 04:00 UTC on
the 10th.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

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
