"""The demo is a fleet in the middle of its day whenever it is loaded.

Each test loads the demo at a chosen moment (``now``) and acts at that moment too
(``clock_at``), so the time of day is the test's, not the machine's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AllDispatchDetail,
    Asset,
    Dispatch,
    DispatchStatusHistory,
    TechnicianProfile,
    User,
    clock_at,
)
from app.services import alerting, demo, matching
from app.services import dispatches as dispatch_service
from app.services.actors import acting_as, system_user

OPEN = ("Created", "Assigned", "En Route", "In Progress")

MOMENTS = {
    "wednesday 00:30": datetime(2026, 12, 2, 0, 30, tzinfo=UTC),
    "wednesday 06:00": datetime(2026, 12, 2, 6, 0, tzinfo=UTC),
    "wednesday 12:00": datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
    "wednesday 18:30": datetime(2026, 12, 2, 18, 30, tzinfo=UTC),
    "wednesday 23:45": datetime(2026, 12, 2, 23, 45, tzinfo=UTC),
    "saturday 14:10": datetime(2026, 12, 5, 14, 10, tzinfo=UTC),
    "sunday 03:20": datetime(2026, 12, 6, 3, 20, tzinfo=UTC),
}


@pytest.fixture
def demo_app(make_app):
    app = make_app(MOTORPOOL_AUTO_ASSIGN=True)
    with app.app_context():
        yield app
        db.session.rollback()


def load_demo(now: datetime, count: int = 80) -> demo.SeedReport:
    with acting_as(system_user()):
        demo.seed_fleet(now=now)
        return demo.seed_dispatches(count, now=now)


def open_counts(now: datetime) -> tuple[int, int]:
    open_rows = db.session.scalars(select(Dispatch).where(Dispatch.status.in_(OPEN))).all()
    overdue = [d for d in open_rows if d.sla_due_at is not None and d.sla_due_at < now]
    return len(open_rows), len(overdue)


@pytest.mark.parametrize("now", MOMENTS.values(), ids=MOMENTS.keys())
def test_a_work_order_created_right_after_loading_the_demo_is_assigned(demo_app, now):
    report = load_demo(now)

    later = now + timedelta(minutes=2)
    with clock_at(later):
        pool = matching.load_pool().pool
        # Most technicians are on shift, and none is full.
        assert int(pool.on_shift.sum()) >= 6, f"{int(pool.on_shift.sum())} of {len(pool)} on shift"
        assert (pool.active_count < pool.max_concurrent).all()
        assert int((pool.max_concurrent - pool.active_count).sum()) >= 10
        truck = db.session.scalar(select(Asset).where(Asset.asset_tag == "TRK-0001"))
        with acting_as(system_user()):
            created = dispatch_service.create_dispatch(title="Brake check", asset_id=truck.id, priority="High")
    db.session.expire_all()
    fresh = db.session.get(Dispatch, created.id)
    assert fresh.status == "Assigned" and fresh.assigned_user is not None

    # Most open work is within its SLA: one or two orders overdue, a few waiting.
    total_open, overdue = open_counts(later)
    assert 1 <= overdue <= 2 < total_open
    waiting = db.session.scalar(select(func.count()).select_from(Dispatch).where(Dispatch.status == "Created"))
    assert waiting <= 6
    assert report.by_status["Completed"] >= 55 and report.by_status.get("Cancelled", 0) >= 1


def test_the_demo_has_history_and_a_few_things_worth_an_alert(demo_app):
    now = MOMENTS["wednesday 12:00"]
    report = load_demo(now, count=200)
    assert report.created == 200 == db.session.scalar(select(func.count()).select_from(Dispatch))

    completed = db.session.scalars(select(Dispatch).where(Dispatch.status == "Completed")).all()
    assert len(completed) >= 150
    for dispatch in completed:
        # Each step at its own past time, in order, through the status machine.
        steps = [(row.status_to, row.changed_date) for row in dispatch.status_history]
        assert [s for s, _ in steps] == ["Created", "Assigned", "In Progress", "Completed"], dispatch.dispatch_number
        times = [t for _, t in steps]
        assert times == sorted(times) and times[-1] <= now - timedelta(minutes=59)
        assert dispatch.completed_date == times[-1] and dispatch.created_date == times[0]
    signed = db.session.scalar(select(func.count()).select_from(AllDispatchDetail)
                               .where(AllDispatchDetail.signed_off_at.is_not(None)))
    assert signed >= len(completed)
    days = {d.completed_date.date() for d in completed}
    assert len(days) >= 10  # spread over the past two weeks

    # One technician near capacity; everyone else with room to spare.
    loads = {name: (active, limit) for name, active, limit in db.session.execute(
        select(User.name, TechnicianProfile.active_dispatch_count, TechnicianProfile.max_concurrent_dispatches)
        .join(User, User.id == TechnicianProfile.user_id))}
    assert loads["Elif Yilmaz"] == (3, 4)
    assert all(active <= limit // 2 for name, (active, limit) in loads.items() if name != "Elif Yilmaz")
    # A queue for one skill, and one or two overdue orders.
    queue = dict(db.session.execute(select(Dispatch.required_skill, func.count()).where(Dispatch.status == "Created")
                                    .group_by(Dispatch.required_skill)).all())
    assert queue.get("Refrigeration") == 4
    assert open_counts(now)[1] == 2
    # Nobody is near burnout or over their weekly hours.
    pool = matching.load_pool(now).pool
    assert (pool.hours_last_7_days < 30).all() and (pool.consecutive_work_days <= 4).all()


def test_a_manager_creates_a_work_order_on_the_page_right_after_loading(demo_app):
    now = MOMENTS["wednesday 18:30"]
    load_demo(now, count=40)
    client = demo_app.test_client()
    truck = db.session.scalar(select(Asset).where(Asset.asset_tag == "TRK-0002"))
    with clock_at(now + timedelta(minutes=1)):
        signed_in = client.post("/auth/login", data={"email": "manager@motorpool.example",
                                                      "password": demo.DEMO_PASSWORD})
        assert signed_in.status_code == 302
        response = client.post("/dispatches/new", data={
            "asset_id": str(truck.id), "title": "Tachograph download", "priority": "Normal", "work_type": "operation",
            "description": "", "due_date": "", "required_skill": "", "estimated_duration_hours": ""})
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    created = db.session.scalar(select(Dispatch).where(Dispatch.title == "Tachograph download"))
    assert created.status == "Assigned"
    assert "No technician is eligible" not in page and created.assigned_user.name in page


def test_seed_demo_prints_a_short_summary_and_the_logins_last(demo_app):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--dispatches", "200"])
    assert result.exit_code == 0, result.output + repr(result.exception)

    lines = [line for line in result.output.splitlines() if line.strip()]
    assert not [line for line in lines if "assigned to you" in line], "no notification per demo assignment"
    assert len(lines) <= 20
    logins = next(i for i, line in enumerate(lines) if line.startswith("Demo logins"))
    assert lines[logins + 1:] and all(re.match(r"\s+(admin|manager|technician)\s+\S+@motorpool\.example$", line)
                                      for line in lines[logins + 1:])
    summary = next(line for line in lines if line.startswith("Created 200 demo work orders"))
    assert "completed" in summary and "in progress" in summary
    assert re.search(r"Demo data loaded in \d+\.\d s\.", result.output)
    assert lines.index(summary) < logins
    # Nothing was held back from real use: a later assignment notifies as before.
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(DispatchStatusHistory)) > 200


@pytest.mark.parametrize("now", MOMENTS.values(), ids=MOMENTS.keys())
def test_right_after_loading_the_alert_check_tells_the_demo_story(demo_app, now):
    """The dry-run check names what the demo stages (two overdue orders, one technician near
    capacity, a refrigeration queue) and nothing else: no alert from the demo's own dating."""
    load_demo(now)
    report = alerting.run_check(now, dry_run=True)
    fired = {(r.category, r.subject_label, r.severity) for r in report.readings if r.severity}
    assert fired == {("utilisation", "Elif Yilmaz", "warning")}, sorted(fired, key=str)

    readings = {(r.category, r.subject_label): r for r in report.readings}
    assert "2 open past SLA" in readings[("sla_compliance", None)].message
    assert readings[("pending_queue", None)].value == 5
    # Every technician with a shift in the window is booked 55-85 %, Elif past 90 % (below 95).
    for (category, name), reading in readings.items():
        if category == "utilisation" and name and reading.value is not None:
            low, high = (90, 95) if name == "Elif Yilmaz" else (55, 85)
            assert low < reading.value < high, reading.message
    # The history's assignments went through the matching engine: routing speed, cost and
    # burnout have data.
    assert readings[("routing_speed", None)].value is not None
    assert readings[("operational_cost", None)].value is not None
    assert "0 technicians assessed" not in readings[("burnout_risk", None)].message

    # The scheduler's first assign-pending a few minutes later takes the queue: routing speed
    # is then at most a warning, never critical.
    later = now + timedelta(minutes=2)
    with clock_at(later), acting_as(system_user()):
        assert matching.assign_pending().assigned == 5
        after = alerting.run_check(later, dry_run=True)
    routing = next(r for r in after.readings if r.category == "routing_speed")
    assert routing.severity != "critical", routing.message
