"""Benchmark: one full alert check (the eight built-in measures) on a large SQLite database.

    python bench/alerts.py [--metrics 1000000] [--dispatches 100000] [--technicians 1000]
                           [--days 90] [--repeat 5] [--reuse] [--without-index]

Builds a SQLite database with the migrations, then bulk-inserts (sqlite3 ``executemany``,
no ORM) ``--technicians`` technicians with profiles, ``--dispatches`` dispatches spread over
the last ``--days`` days (mostly Completed, some Cancelled, the newest open or waiting) with
their status history, and ``--metrics`` ``dispatch_metrics`` assignment records spread the
same way, with realistic JSON (score breakdown, three fallback technicians). The file is kept
in the temporary folder; ``--reuse`` uses it again when it is complete.

Then runs every registered alert check's ``measure`` over the default window (the last
``MOTORPOOL_METRIC_WINDOW_HOURS``) as the alert check does: a cold run, then ``--repeat``
warm runs, printing the time of each measure, the total and the number of SQL statements.
``--without-index`` drops, for comparison, the index on ``dispatch_metrics.created_at`` that
the window filters use (migration ``0011``; docs/performance.md says why it is needed).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app import create_app  # noqa: E402
from bench.machine import machine  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services import alert_checks, metrics  # noqa: E402
from app.services.actors import system_user  # noqa: E402

STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a naive UTC DateTime in SQLite
INDEX = "CREATE INDEX IF NOT EXISTS ix_dispatch_metrics_created_at ON dispatch_metrics (created_at)"
BATCH = 50_000


def make_app(url: str) -> Flask:
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "MOTORPOOL_AUTO_ASSIGN": False,
                       "MOTORPOOL_NOTIFIERS": ""})


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(STORED)


# --- the database ------------------------------------------------------------------------------


def build(app: Flask, path: Path, *, metrics_rows: int, dispatches: int, technicians: int, days: int,
          now: datetime) -> None:
    with app.app_context():
        upgrade(revision="heads")
        system_id = system_user().id
        db.session.commit()
        db.engine.dispose()
    rng = random.Random(2026)
    span = timedelta(days=days)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA journal_mode=WAL")
    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO users (email, name, role, password_hash, is_active, is_system, created_at, updated_at) "
            "VALUES (?, ?, 'technician', NULL, 1, 0, ?, ?)",
            [(f"crew{n:05d}@motorpool.example", f"Crew {n:05d}", stamp(now - span), stamp(now - span))
             for n in range(technicians)])
        tech_ids = [row[0] for row in connection.execute("SELECT id FROM users WHERE role = 'technician' ORDER BY id")]
        connection.executemany(
            "INSERT INTO technician_profiles (user_id, home_latitude, home_longitude, hourly_rate, "
            "overtime_multiplier, shift_days, shift_start, shift_end, max_concurrent_dispatches, max_hours_per_week, "
            "availability, active_dispatch_count, completed_count, on_time_count, first_time_fix_count, "
            "created_at, updated_at) VALUES (?, 53.8, -1.55, ?, 1.5, ?, ?, ?, 3, 40, 'Available', 0, 0, 0, 0, ?, ?)",
            [(user_id, round(rng.uniform(32, 60), 2), rng.choice(["12345", "34567", "1234567"]),
              rng.choice(["07:00:00.000000", "08:00:00.000000", "22:00:00.000000"]),
              rng.choice(["17:00:00.000000", "16:00:00.000000", "06:00:00.000000"]),
              stamp(now - span), stamp(now - span)) for user_id in tech_ids])
    print(f"  {technicians:,} technicians: {time.perf_counter() - started:.1f} s", flush=True)

    started = time.perf_counter()
    year = now.year
    rows, history = [], []
    for n in range(1, dispatches + 1):
        created = now - span * (1 - n / dispatches) - timedelta(minutes=rng.randint(0, 30))
        age = now - created
        hours = rng.choice([1.0, 2.0, 2.0, 3.0, 4.0, 6.0])
        priority = rng.choice(["Low", "Normal", "Normal", "High", "Critical"])
        due = created + timedelta(hours={"Critical": 4, "High": 8, "Normal": 24, "Low": 72}[priority])
        roll = rng.random()
        tech = assigned = started_at = completed = None
        status = "Created"
        if age > timedelta(hours=12) and roll < 0.9:
            status = "Cancelled" if roll > 0.85 else "Completed"
        elif age > timedelta(hours=1) and roll < 0.97:
            status = rng.choice(["Assigned", "In Progress"])
        if status != "Created" and not (status == "Cancelled" and roll > 0.88):
            tech = rng.choice(tech_ids)
            assigned = created + timedelta(seconds=rng.randint(5, 900))
            history.append((n, "Created", "Assigned", assigned))
        if status in ("In Progress", "Completed"):
            started_at = assigned + timedelta(minutes=rng.randint(10, 120))
        if status == "Completed":
            completed = started_at + timedelta(hours=hours * rng.uniform(0.5, 1.8))
        if status == "Cancelled":
            history.append((n, "Assigned" if tech else "Created", "Cancelled", created + timedelta(hours=3)))
        if tech is not None and rng.random() < 0.08:  # reassigned once: not a first-time fix
            history.append((n, "Assigned", "Assigned", assigned + timedelta(minutes=1)))
        rows.append((f"D-{year}-{n:07d}", f"Work order {n}", priority, status, "operation", stamp(created),
                     stamp(assigned) if assigned else None, stamp(started_at) if started_at else None,
                     stamp(completed) if completed else None, stamp(due), hours, stamp(due), tech,
                     stamp(created), stamp(created)))
    with connection:
        connection.executemany(
            "INSERT INTO dispatches (id, dispatch_number, title, priority, status, work_type, created_date, "
            "assigned_date, started_date, completed_date, due_date, estimated_duration_hours, sla_due_at, "
            "assigned_user_id, version_id, created_at, updated_at) "
            "VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)", rows)
        connection.executemany(
            "INSERT INTO dispatch_status_history (dispatch_id, status_from, status_to, changed_by_id, changed_date, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(d, f, t, system_id, stamp(at), stamp(at), stamp(at)) for d, f, t, at in history])
    print(f"  {dispatches:,} dispatches, {len(history):,} history rows: {time.perf_counter() - started:.1f} s",
          flush=True)

    started = time.perf_counter()
    breakdown = json.dumps({"skill": 0.8, "distance": 0.62, "availability": 1.0, "priority_balance": 0.5,
                            "skill_diversity": 0.25, "history": 0.7})
    made = 0
    while made < metrics_rows:
        batch = []
        for i in range(made, min(made + BATCH, metrics_rows)):
            at = now - span * (1 - i / metrics_rows)
            fallbacks = json.dumps([{"technician_id": rng.choice(tech_ids), "score": round(rng.random(), 6)}
                                    for _ in range(3)])
            risk = rng.random()
            batch.append((rng.randint(1, dispatches), rng.choice(tech_ids), rng.random(), breakdown,
                          rng.expovariate(1 / 60), round(rng.uniform(0.5, 9.0), 4), round(rng.uniform(40, 620), 2),
                          int(rng.random() < 0.9), risk, int(risk > 0.97), fallbacks, stamp(at), stamp(at)))
        with connection:
            connection.executemany(
                "INSERT INTO dispatch_metrics (dispatch_id, technician_id, mode, matcher, score, score_breakdown, "
                "routing_speed_seconds, estimated_completion_hours, operational_cost, sla_met, burnout_risk, "
                "burnout_alert, fallback_technicians, fallback_used, created_at, updated_at) "
                "VALUES (?, ?, 'auto', 'weighted', ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)", batch)
        made += len(batch)
    print(f"  {metrics_rows:,} dispatch_metrics rows: {time.perf_counter() - started:.1f} s", flush=True)
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()


def complete(path: Path, metrics_rows: int, dispatches: int) -> bool:
    if not path.exists():
        return False
    connection = sqlite3.connect(path)
    try:
        counts = [connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("dispatch_metrics", "dispatches")]
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return counts == [metrics_rows, dispatches]


# --- the check --------------------------------------------------------------------------------


def one_check(window) -> tuple[dict[str, float], int, int]:
    """Every registered check measured once: seconds per check, statements, readings."""
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    timings, readings = {}, 0
    try:
        for category, check in alert_checks.registered_checks().items():
            started = time.perf_counter()
            readings += len(check.measure(window))
            timings[category] = time.perf_counter() - started
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    db.session.rollback()
    return timings, len(statements), readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metrics", type=int, default=1_000_000)
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--technicians", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--without-index", action="store_true",
                        help="drop the index on dispatch_metrics.created_at first, for comparison")
    args = parser.parse_args()

    print(f"Machine: {machine()}")
    path = Path(tempfile.gettempdir()) / f"motorpool-bench-alerts-{args.metrics}-{args.dispatches}.db"
    now = datetime.now(UTC).replace(microsecond=0)
    if not (args.reuse and complete(path, args.metrics, args.dispatches)):
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
        print(f"Building {path} …", flush=True)
        build(make_app(f"sqlite:///{path}"), path, metrics_rows=args.metrics, dispatches=args.dispatches,
              technicians=args.technicians, days=args.days, now=now)
    connection = sqlite3.connect(path)
    with connection:
        if args.without_index:
            connection.execute("DROP INDEX IF EXISTS ix_dispatch_metrics_created_at")
        else:
            connection.execute(INDEX)  # a database built before the index was dropped by --without-index
        connection.execute("ANALYZE")
    connection.close()
    print(f"Database: {path.stat().st_size / 1e6:,.0f} MB; index on dispatch_metrics.created_at: "
          f"{'no' if args.without_index else 'yes'}")

    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        window = metrics.window_ending()
        runs = [one_check(window) for _ in range(args.repeat + 1)]
    cold, warm = runs[0], runs[1:]
    hours = (window.end - window.start).total_seconds() / 3600
    print(f"\nOne full check over the last {hours:g} h: {len(cold[0])} measures, "
          f"{cold[1]} SQL statements, {cold[2]} readings")
    print(f"  {'measure':<20}{'cold ms':>10}{'warm p50 ms':>14}{'warm max ms':>14}")
    for category in cold[0]:
        values = [run[0][category] * 1000 for run in warm]
        print(f"  {category:<20}{cold[0][category] * 1000:>10.1f}{statistics.median(values):>14.1f}"
              f"{max(values):>14.1f}")
    totals = [sum(run[0].values()) * 1000 for run in warm]
    print(f"  {'total':<20}{sum(cold[0].values()) * 1000:>10.1f}{statistics.median(totals):>14.1f}"
          f"{max(totals):>14.1f}")
    statements = {run[1] for run in runs}
    print(f"  statements per check: {', '.join(map(str, sorted(statements)))}")


if __name__ == "__main__":
    main()
