"""Benchmark: page response times on a large fleet (100,000 dispatches, 1,000 technicians).

    python bench/pages.py [--dispatches 100000] [--technicians 1000] [--requests 30] [--reuse]

Builds a SQLite database with the migrations and the demo data (``app.services.demo``:
fleet, people, dispatches through the creation rules), adds technicians with profiles and
skills up to ``--technicians``, and hands a realistic share of the dispatches to them with
one bulk UPDATE: most older work Completed, some Cancelled, two open dispatches per
technician (one In Progress), the rest waiting. The database file is kept in the temporary
folder; ``--reuse`` uses it again when it is there and complete.

Then times pages with the Flask test client, signed in as the role that uses each page:
after a warm-up, ``--requests`` requests each, printing the first (cold) request, p50, p95
and max in milliseconds and the number of SQL statements per request. A page the
application does not have yet (404) is reported as not available.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import bindparam, event, func, insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from bench.machine import machine  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Dispatch, Skill, TechnicianProfile, TechnicianSkill, User, utcnow  # noqa: E402
from app.services import demo, users  # noqa: E402
from app.services.actors import acting_as, system_user  # noqa: E402

FIRST_NAMES = ["Alex", "Sam", "Jordan", "Priya", "Tomasz", "Aisha", "Liam", "Mei", "Noah", "Zara",
               "Oskar", "Ines", "Kofi", "Hana", "Ravi", "Lena", "Mateo", "Yusuf", "Freya", "Dmitri"]
LAST_NAMES = ["Patel", "Smith", "Nowak", "Okafor", "Garcia", "Khan", "Murphy", "Chen", "Silva", "Jones",
              "Ahmed", "Fischer", "Rossi", "Kaur", "Walsh", "Novak", "Sato", "Mensah", "Berg", "Dubois"]
BULK_EMAIL = "crew{:04d}@motorpool.example"


def make_app(url: str) -> Flask:
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench",
        "WTF_CSRF_ENABLED": False,  # the test client signs in with a plain POST
        "MOTORPOOL_AUTO_ASSIGN": False,
        "MOTORPOOL_NOTIFIERS": "",  # thousands of demo assignments would print a message each
    })


# --- the database ------------------------------------------------------------------------------


def build(app: Flask, dispatches: int, technicians: int) -> None:
    with app.app_context():
        upgrade(revision="heads")
        user = system_user()
        db.session.commit()
        with acting_as(user):
            started = time.perf_counter()
            demo.seed_fleet()
            added = add_technicians(technicians, user.id)
            print(f"  fleet, people and {added} more technicians: {time.perf_counter() - started:.1f} s", flush=True)
            started = time.perf_counter()
            step = max(1, dispatches // 10)
            done = [0]

            def progress(size: int) -> None:
                done[0] += size
                if done[0] % step < size or done[0] == dispatches:
                    print(f"  dispatches: {done[0]:,} / {dispatches:,} ({time.perf_counter() - started:.0f} s)",
                          flush=True)

            demo.seed_dispatches(dispatches, progress=progress)
            started = time.perf_counter()
            counts = hand_out_work(user.id)
            print(f"  work handed out in {time.perf_counter() - started:.1f} s: "
                  + ", ".join(f"{status} {count:,}" for status, count in counts.items()), flush=True)
        db.engine.dispose()


def add_technicians(total: int, actor_id: int) -> int:
    """Technician users with profiles and 1–3 skills each, up to ``total`` technicians."""
    existing = db.session.scalar(select(func.count()).select_from(User).where(User.role == "technician")) or 0
    missing = max(0, total - existing)
    if not missing:
        return 0
    rng = random.Random(1000)
    password_hash = users.hash_password(demo.DEMO_PASSWORD)  # hashed once, shared
    db.session.execute(insert(User), [
        {"email": BULK_EMAIL.format(n), "name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
         "role": "technician", "password_hash": password_hash, "created_by_id": actor_id}
        for n in range(1, missing + 1)
    ])
    user_ids = db.session.scalars(select(User.id).where(User.email.like("crew%@motorpool.example"))).all()
    db.session.execute(insert(TechnicianProfile), [
        {"user_id": user_id, "home_latitude": 53.80 + rng.uniform(-0.15, 0.15),
         "home_longitude": -1.55 + rng.uniform(-0.25, 0.25), "hourly_rate": round(rng.uniform(32, 60), 2),
         "shift_days": rng.choice(["12345", "12345", "34567", "1234567"]),
         "max_concurrent_dispatches": 3, "max_hours_per_week": 40.0, "created_by_id": actor_id}
        for user_id in user_ids
    ])
    skill_ids = db.session.scalars(select(Skill.id)).all()
    profiles = db.session.scalars(
        select(TechnicianProfile.id).join(User, User.id == TechnicianProfile.user_id)
        .where(User.email.like("crew%@motorpool.example"))
    ).all()
    db.session.execute(insert(TechnicianSkill), [
        {"technician_profile_id": profile_id, "skill_id": skill_id, "level": rng.randint(1, 5),
         "created_by_id": actor_id}
        for profile_id in profiles
        for skill_id in rng.sample(skill_ids, rng.randint(1, 3))
    ])
    db.session.commit()
    return len(user_ids)


def hand_out_work(actor_id: int) -> dict[str, int]:
    """One bulk UPDATE over the dispatches still waiting: older work mostly Completed (70 %) or
    Cancelled (5 %), and two open dispatches per technician with a free slot (one In Progress).

    Status history is not written for these rows (the demo's own status changes have it);
    the technicians' open and completed counters are brought in line afterwards.
    """
    rng = random.Random(2026)
    waiting = db.session.execute(
        select(Dispatch.id, Dispatch.created_date, Dispatch.estimated_duration_hours)
        .where(Dispatch.status == "Created").order_by(Dispatch.created_date.desc())
    ).all()
    profiles = db.session.execute(
        select(TechnicianProfile.user_id, TechnicianProfile.max_concurrent_dispatches,
               TechnicianProfile.active_dispatch_count)
    ).all()
    technician_ids = [row.user_id for row in profiles]
    now = utcnow()
    changes: list[dict] = []
    fresh = [row for row in waiting if now - _aware(row.created_date, now) < timedelta(days=2)]
    older = [row for row in waiting if now - _aware(row.created_date, now) >= timedelta(days=2)]
    for row in older:
        roll = rng.random()
        if roll < 0.70:
            assigned = row.created_date + timedelta(minutes=rng.randint(5, 240))
            started = assigned + timedelta(minutes=rng.randint(10, 600))
            changes.append(_change(row.id, "Completed", rng.choice(technician_ids), assigned, started,
                                   started + timedelta(hours=row.estimated_duration_hours * rng.uniform(0.6, 1.6))))
        elif roll < 0.75:
            changes.append(_change(row.id, "Cancelled", None, None, None, None))
    still_waiting = fresh + older  # open work goes to the newest dispatches not handed out above
    taken = {change["b_id"] for change in changes}
    open_rows = iter(row for row in still_waiting if row.id not in taken)
    for profile in profiles:
        for slot in range(min(2, profile.max_concurrent_dispatches - profile.active_dispatch_count)):
            row = next(open_rows, None)
            if row is None:
                break
            assigned = max(_aware(row.created_date, now), now - timedelta(hours=6))
            started = assigned + timedelta(minutes=30) if slot == 0 else None
            changes.append(_change(row.id, "In Progress" if slot == 0 else "Assigned", profile.user_id,
                                   assigned, started, None))
    table = Dispatch.__table__
    db.session.execute(
        table.update().where(table.c.id == bindparam("b_id")).values(
            status=bindparam("b_status"), assigned_user_id=bindparam("b_user"),
            assigned_date=bindparam("b_assigned"), started_date=bindparam("b_started"),
            completed_date=bindparam("b_completed"), version_id=table.c.version_id + 1,
            updated_by_id=actor_id,
        ),
        changes,
    )
    db.session.execute(text(
        "UPDATE technician_profiles SET "
        "active_dispatch_count = (SELECT count(*) FROM dispatches d WHERE d.assigned_user_id = "
        "technician_profiles.user_id AND d.status IN ('Assigned', 'In Progress')), "
        "completed_count = (SELECT count(*) FROM dispatches d WHERE d.assigned_user_id = "
        "technician_profiles.user_id AND d.status = 'Completed')"
    ))
    db.session.commit()
    return dict(db.session.execute(select(Dispatch.status, func.count()).group_by(Dispatch.status)).all())


def _aware(value: datetime, like: datetime) -> datetime:
    return value.replace(tzinfo=like.tzinfo) if value.tzinfo is None and like.tzinfo is not None else value


def _change(dispatch_id: int, status: str, user_id: int | None, assigned: datetime | None,
            started: datetime | None, completed: datetime | None) -> dict:
    return {"b_id": dispatch_id, "b_status": status, "b_user": user_id, "b_assigned": assigned,
            "b_started": started, "b_completed": completed}


# --- timing --------------------------------------------------------------------------------------


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args) -> None:
        self.count += 1


def signed_in_client(app: Flask, email: str):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": demo.DEMO_PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"signing in as {email} failed (HTTP {response.status_code})")
    return client


def measure(client, url: str, counter: QueryCounter, requests: int, warmup: int = 3) -> str:
    first = None
    for _ in range(warmup):
        started = time.perf_counter()
        response = client.get(url)
        first = first if first is not None else (time.perf_counter() - started) * 1000
        if response.status_code == 404:
            return "not available (404)"
        if response.status_code != 200:
            return f"HTTP {response.status_code}, not timed"
    timings, queries = [], []
    size = 0
    for _ in range(requests):
        counter.count = 0
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        queries.append(counter.count)
        size = len(response.data)
    timings.sort()
    p95 = timings[min(len(timings) - 1, max(0, round(0.95 * len(timings)) - 1))]
    spread = f"{min(queries)}" if min(queries) == max(queries) else f"{min(queries)}–{max(queries)}"
    return (f"first {first:7.1f}  p50 {statistics.median(timings):7.1f}  p95 {p95:7.1f}  max {timings[-1]:7.1f} ms  "
            f"{spread:>5} queries  {size / 1024:6.1f} KiB")


def run(app: Flask, requests: int) -> None:
    with app.app_context():
        engine = db.engine
        technician, technician_id = db.session.execute(
            select(User.email, User.id).join(TechnicianProfile, TechnicianProfile.user_id == User.id)
            .where(User.email.like("tech%@motorpool.example"))
            .order_by(TechnicianProfile.active_dispatch_count.desc(), User.id).limit(1)
        ).one()
        one = db.session.scalar(select(Dispatch.id).where(Dispatch.status == "Completed").order_by(Dispatch.id))
        # A waiting dispatch: its page ranks every technician for the assignment panel.
        waiting = db.session.scalar(select(Dispatch.id).where(Dispatch.status == "Created").order_by(Dispatch.id.desc()))
        totals = dict(db.session.execute(select(Dispatch.status, func.count()).group_by(Dispatch.status)).all())
        technicians = db.session.scalar(select(func.count()).select_from(TechnicianProfile))
        db.session.remove()
    print(f"data: {sum(totals.values()):,} dispatches ({', '.join(f'{k} {v:,}' for k, v in sorted(totals.items()))}), "
          f"{technicians:,} technicians with profiles")
    manager, admin = "manager@motorpool.example", "admin@motorpool.example"
    pages = [
        ("dispatch list", manager, "/dispatches/"),
        ("dispatch list, status=Assigned", manager, "/dispatches/?status=Assigned"),
        ("dispatch list, q=tyre", manager, "/dispatches/?q=tyre"),
        ("dispatch list, status+q", manager, "/dispatches/?status=Completed&q=depot"),
        ("dispatch list, page 1000", manager, "/dispatches/?page=1000"),
        ("dispatch list, technician", manager, f"/dispatches/?technician={technician_id}"),
        (f"dispatch page /dispatches/{one} (Completed)", manager, f"/dispatches/{one}"),
        (f"dispatch page /dispatches/{waiting} (Created)", manager, f"/dispatches/{waiting}"),
        (f"print view /dispatches/{one}/print (Completed)", manager, f"/dispatches/{one}/print"),
        (f"my work ({technician})", technician, "/dispatches/mine"),
        ("home, manager", manager, "/"),
        ("home, technician", technician, "/"),
        ("admin index", admin, "/admin/"),
        ("technician dashboard", manager, "/dashboard/technicians"),
        ("technician dashboard, state=available", manager, "/dashboard/technicians?state=available"),
        ("technician dashboard, page 10", manager, "/dashboard/technicians?page=10"),
        ("technician dashboard, live tiles", manager, "/dashboard/technicians/tiles"),
    ]
    # No application context is held here: each request opens and closes its own, as in production.
    clients = {email: signed_in_client(app, email) for email in {email for _, email, _ in pages}}
    counter = QueryCounter()
    event.listen(engine, "before_cursor_execute", counter)
    print(f"{requests} requests each after 3 warm-up requests, Flask test client, one thread:")
    width = max(len(name) for name, _, _ in pages)
    try:
        for name, email, url in pages:
            print(f"  {name:<{width}}  {measure(clients[email], url, counter, requests)}", flush=True)
    finally:
        event.remove(engine, "before_cursor_execute", counter)
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--technicians", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="use the database from an earlier run when complete")
    parser.add_argument("--directory", default=os.path.join(tempfile.gettempdir(), "motorpool-bench-pages"))
    args = parser.parse_args()

    folder = Path(args.directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"pages-{args.dispatches}-{args.technicians}.db"
    url = f"sqlite:///{path}"
    print(f"machine: {machine()}")
    print(f"database: {path}")
    complete = path.with_name(path.name + ".complete")  # written once the build has finished
    if args.reuse and path.exists() and complete.exists():
        print("  reusing it (--reuse)")
    else:
        complete.unlink(missing_ok=True)
        for leftover in folder.glob(path.name + "*"):  # the file and its -wal/-shm companions
            leftover.unlink()
        started = time.perf_counter()
        build(make_app(url), args.dispatches, args.technicians)
        complete.write_text(f"built in {time.perf_counter() - started:.0f} s\n")
        print(f"  built in {time.perf_counter() - started:.0f} s")
    run(make_app(url), args.requests)


if __name__ == "__main__":
    main()
