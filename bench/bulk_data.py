"""A large, valid SQLite database for the benchmarks, built in about a minute and kept on disk.

    python -m bench.bulk_data --out FILE [--dispatches 100000] [--metrics 1000000]
                              [--technicians 1000] [--days 90] [--rebuild]

    from bench.bulk_data import bulk_database
    path = bulk_database()          # the cached file, built when missing or stale

The schema comes from the migrations and the demo fleet (40 assets, five locations, the
demo's admin, manager and technicians, password ``motorpool-demo``) from
``app.services.demo.seed_fleet``; everything else is written with sqlite3 ``executemany``
(no ORM, no services: through the services 100,000 dispatches take minutes). The rows follow
the rules the services keep:

- **Statuses** move only along the status machine: older work is mostly Completed (with
  ``assigned``, ``started``, ``completed`` dates in that order), some Cancelled (from Created or
  Assigned, with a reason) and some still waiting (Created, no technician, many past their
  SLA); the last twelve hours' work is held by technicians (Assigned, En Route, In Progress),
  never more than a technician's ``max_concurrent_dispatches``.
- **History**: every dispatch has its "Dispatch created" row and one row per status change,
  at the dispatch's own dates; a reassignment is an Assigned → Assigned row.
- **Metrics**: one ``dispatch_metrics`` record per assignment (reassignments included), at the
  moment of the assignment, for the technician assigned then; routing speed is the seconds
  from creation to that assignment. To reach 1,000,000 records on 100,000 dispatches, 55 %
  of the assigned work is assigned once and the rest is reassigned many times (a heavy tail:
  these are the records the window figures read, about 11,000 a day).
- **Technicians**: 1,000 with profiles (shifts placed around the build time in the
  organisation's zone, so about half are on shift then; a few marked unavailable), 1–3
  skills each, and counters (open, completed, on time, first-time fix) equal to their work.
- SLA due times are the creation rules' (``due_date`` or creation + ``MOTORPOOL_SLA_HOURS``);
  dispatch numbers are ``D-<year>-<n>`` with the yearly sequence advanced past them.

Not written: events and checklist rows (no page timed here reads them for a list).

The file is cached in the temporary folder under a key made of the migrations, this file and
the sizes: a change to either builds a new one. The data is placed around the build time, so
a file older than ``max_age_hours`` (24) is rebuilt as well. Build time on the machine in
docs/performance.md: about 130 s for the default sizes (855 MB), a second when cached.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps a naive UTC DateTime in SQLite
SLA_HOURS = {"Critical": 4, "High": 8, "Normal": 24, "Low": 72}
PRIORITIES = ["Low", "Normal", "Normal", "Normal", "High", "Critical"]
TITLES = ["Tyre change", "Brake inspection", "Oil service", "Depot transfer", "Battery check", "Lights fault",
          "Windscreen chip", "Delivery run", "Coolant leak", "Annual service", "Tachograph check", "Door seal"]
FIRST_NAMES = ["Alex", "Sam", "Jordan", "Priya", "Tomasz", "Aisha", "Liam", "Mei", "Noah", "Zara",
               "Oskar", "Ines", "Kofi", "Hana", "Ravi", "Lena", "Mateo", "Yusuf", "Freya", "Dmitri"]
LAST_NAMES = ["Patel", "Smith", "Nowak", "Okafor", "Garcia", "Khan", "Murphy", "Chen", "Silva", "Jones",
              "Ahmed", "Fischer", "Rossi", "Kaur", "Walsh", "Novak", "Sato", "Mensah", "Berg", "Dubois"]
MANAGER = "manager@motorpool.example"
PASSWORD = "motorpool-demo"  # app.services.demo.DEMO_PASSWORD
BULK_EMAIL = "crew{:05d}@motorpool.example"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime(STORED)


def _clock(hour: int, minute: int = 0) -> str:
    return f"{hour % 24:02d}:{minute:02d}:00.000000"


def cache_key(**sizes) -> str:
    """The migrations, this builder and the sizes: any change gives a new file."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")) + [Path(__file__)]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(sizes, sort_keys=True).encode())
    return digest.hexdigest()[:12]


def bulk_database(*, dispatches: int = 100_000, metrics: int = 1_000_000, technicians: int = 1_000,
                  days: int = 90, directory: str | Path | None = None, rebuild: bool = False,
                  max_age_hours: float = 24, quiet: bool = False) -> Path:
    """The path of a complete database with these sizes, built unless a fresh cached one exists."""
    sizes = {"dispatches": dispatches, "metrics": metrics, "technicians": technicians, "days": days}
    folder = Path(directory or os.path.join(tempfile.gettempdir(), "motorpool-bench-bulk"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"bulk-{cache_key(**sizes)}.db"
    done = path.with_name(path.name + ".json")  # written once the build has finished
    if not rebuild and path.exists() and done.exists():
        built = json.loads(done.read_text())
        age = (datetime.now(UTC) - datetime.fromisoformat(built["now"])).total_seconds() / 3600
        if age < max_age_hours:
            if not quiet:
                print(f"bulk data: reusing {path} (built {age:.1f} h ago in {built['seconds']:.0f} s)", flush=True)
            return path
    done.unlink(missing_ok=True)
    for leftover in folder.glob(path.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    build(path, now=now, quiet=quiet, **sizes)
    seconds = time.perf_counter() - started
    done.write_text(json.dumps({"now": now.isoformat(), "seconds": seconds, **sizes}))
    if not quiet:
        print(f"bulk data: built {path} in {seconds:.1f} s ({path.stat().st_size / 1e6:,.0f} MB)", flush=True)
    return path


def make_app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                       "MOTORPOOL_AUTO_ASSIGN": False, "MOTORPOOL_NOTIFIERS": ""})


def build(path: Path, *, dispatches: int, metrics: int, technicians: int, days: int, now: datetime,
          quiet: bool = False) -> None:
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import demo, local_time
    from app.services.actors import acting_as, system_user

    def say(text: str) -> None:
        if not quiet:
            print(f"  {text}", flush=True)

    started = time.perf_counter()
    app = make_app(f"sqlite:///{path}")
    with app.app_context():
        upgrade(revision="heads")
        system = system_user()
        db.session.commit()
        with acting_as(system):
            demo.seed_fleet(now)
        system_id = system.id
        zone = local_time.organisation_zone()
        db.engine.dispose()
    say(f"schema and demo fleet: {time.perf_counter() - started:.1f} s")
    local_hour = now.astimezone(zone).hour

    rng = random.Random(2026)
    span = timedelta(days=days)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA journal_mode=WAL")
    q = connection.execute

    # --- technicians ------------------------------------------------------------------------
    started = time.perf_counter()
    password_hash = q("SELECT password_hash FROM users WHERE email = ?", (MANAGER,)).fetchone()[0]
    existing = q("SELECT count(*) FROM technician_profiles").fetchone()[0]
    missing = max(0, technicians - existing)
    joined = stamp(now - span - timedelta(days=30))
    with connection:
        connection.executemany(
            "INSERT INTO users (email, name, role, password_hash, is_active, is_system, created_at, updated_at, "
            "created_by_id) VALUES (?, ?, 'technician', ?, 1, 0, ?, ?, ?)",
            [(BULK_EMAIL.format(n), f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {n:04d}", password_hash,
              joined, joined, system_id) for n in range(1, missing + 1)])
        bulk_ids = [row[0] for row in q("SELECT id FROM users WHERE email LIKE 'crew%@motorpool.example' ORDER BY id")]
        profiles = []
        for user_id in bulk_ids:
            kind = rng.random()
            if kind < 0.5:  # on shift now: started 1–7 h ago, 8–10 h long, every day
                start = local_hour - rng.randint(1, 7)
                shift = ("1234567", _clock(start), _clock(start + rng.randint(8, 10)))
            elif kind < 0.8:  # starts later today
                start = local_hour + rng.randint(1, 10)
                shift = ("1234567", _clock(start), _clock(start + 8))
            else:  # weekdays, office hours
                shift = ("12345", _clock(7), _clock(16))
            unavailable = rng.random() < 0.04
            profiles.append((user_id, 53.8 + rng.uniform(-0.15, 0.15), -1.55 + rng.uniform(-0.25, 0.25),
                             round(rng.uniform(32, 60), 2), *shift, rng.choice([3, 3, 4, 5]),
                             rng.choice([38.0, 40.0, 45.0]),
                             "Unavailable" if unavailable else "Available",
                             rng.choice(["Training", "Leave", "Ill"]) if unavailable else None,
                             stamp(now + timedelta(days=rng.randint(1, 5))) if unavailable else None,
                             joined, joined, system_id))
        connection.executemany(
            "INSERT INTO technician_profiles (user_id, home_latitude, home_longitude, hourly_rate, overtime_multiplier, "
            "shift_days, shift_start, shift_end, max_concurrent_dispatches, max_hours_per_week, availability, "
            "unavailable_reason, unavailable_until, active_dispatch_count, completed_count, on_time_count, "
            "first_time_fix_count, created_at, updated_at, created_by_id) "
            "VALUES (?, ?, ?, ?, 1.5, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?, ?, ?)", profiles)
        skill_ids = [row[0] for row in q("SELECT id FROM skills ORDER BY id")]
        profile_ids = [row[0] for row in q(
            "SELECT p.id FROM technician_profiles p JOIN users u ON u.id = p.user_id "
            "WHERE u.email LIKE 'crew%@motorpool.example'")]
        connection.executemany(
            "INSERT INTO technician_skills (technician_profile_id, skill_id, level, created_at, updated_at, "
            "created_by_id) VALUES (?, ?, ?, ?, ?, ?)",
            [(profile_id, skill_id, rng.randint(1, 5), joined, joined, system_id)
             for profile_id in profile_ids for skill_id in rng.sample(skill_ids, min(len(skill_ids), rng.randint(1, 3)))])
    crew = q("SELECT p.user_id, p.max_concurrent_dispatches, p.availability FROM technician_profiles p "
             "JOIN users u ON u.id = p.user_id WHERE u.is_active = 1 ORDER BY p.user_id").fetchall()
    tech_ids = [row[0] for row in crew]
    say(f"{len(tech_ids):,} technicians with profiles and skills: {time.perf_counter() - started:.1f} s")

    # --- dispatches and their history -------------------------------------------------------
    started = time.perf_counter()
    assets = q("SELECT a.id, a.major_location_id, t.default_skill FROM assets a "
               "JOIN asset_types t ON t.id = a.asset_type_id WHERE a.is_active = 1").fetchall()
    fresh = now - timedelta(hours=12)
    plans = []  # (created, priority, due, status) before technicians are handed out
    for n in range(dispatches):
        created = now - span * (1 - (n + 1) / dispatches) - timedelta(minutes=rng.randint(1, 30))
        priority = rng.choice(PRIORITIES)
        due = created + timedelta(hours=rng.choice([6, 24, 48])) if rng.random() < 0.2 else None
        if created < fresh:
            roll = rng.random()
            status = "Completed" if roll < 0.80 else "Cancelled" if roll < 0.85 else "Created"
        else:
            status = "Created"
        plans.append([created, priority, due, status])
    # Open work: the newest waiting dispatches go to technicians, within each one's capacity.
    newest = (i for i in range(dispatches - 1, -1, -1) if plans[i][3] == "Created" and plans[i][0] >= fresh)
    held_by: dict[int, int] = {}
    for user_id, capacity, availability in crew:
        for _ in range(min(capacity, rng.choice([0, 0, 1, 1, 2, 3]))):
            i = next(newest, None)
            if i is None:
                break
            plans[i][3] = rng.choice(["Assigned", "Assigned", "En Route", "In Progress"])
            held_by[i] = user_id

    # How many assignment records each assigned dispatch gets: once for 55 %, the rest share
    # what is left of ``metrics`` so that the total is exact.
    assigned = [i for i, plan in enumerate(plans)
                if plan[3] in ("Assigned", "En Route", "In Progress", "Completed")
                or (plan[3] == "Cancelled" and rng.random() < 0.5)]
    times = dict.fromkeys(assigned, 1)
    again = [i for i in assigned if rng.random() >= 0.55] or assigned
    for _ in range(max(0, metrics - len(assigned))):
        times[again[int(rng.random() * len(again))]] += 1

    year_numbers: dict[int, int] = {}
    rows, history, records = [], [], []
    counters = {user_id: [0, 0, 0, 0] for user_id in tech_ids}  # open, completed, on time, first-time fix
    breakdown = json.dumps({"skill": 0.8, "distance": 0.62, "availability": 1.0, "priority_balance": 0.5,
                            "skill_diversity": 0.25, "history": 0.7})
    for i, (created, priority, due, status) in enumerate(plans):
        dispatch_id = i + 1
        year = created.year
        year_numbers[year] = year_numbers.get(year, 0) + 1
        sla_due = due or created + timedelta(hours=SLA_HOURS[priority])
        asset_id, location_id, skill = assets[i % len(assets)]
        hours = rng.choice([1.0, 1.5, 2.0, 2.0, 3.0, 4.0, 6.0])
        history.append((dispatch_id, None, "Created", "Dispatch created", created))
        technician = assigned_at = started_at = completed_at = None
        if i in times:
            at = created + timedelta(seconds=rng.randint(5, 900))
            previous = "Created"
            for k in range(times[i]):
                final = k == times[i] - 1
                technician = held_by.get(i) if final and i in held_by else rng.choice(tech_ids)
                history.append((dispatch_id, previous, "Assigned", None if k == 0 else "Reassigned", at))
                risk = rng.random()
                fallbacks = [{"technician_id": rng.choice(tech_ids), "score": round(rng.random(), 4)} for _ in range(3)]
                records.append((dispatch_id, technician, "auto" if k == 0 else "manual", rng.random(),
                                (at - created).total_seconds(), round(hours + rng.uniform(0.2, 2.5), 4),
                                round(rng.uniform(40, 620), 2), int(rng.random() < 0.9), risk, int(risk > 0.97),
                                json.dumps(fallbacks), stamp(at)))
                assigned_at, previous = at, "Assigned"
                if not final:  # the next reassignment, leaving room for the rest before now
                    room = (now - at).total_seconds() / (times[i] - k + 1)
                    at += timedelta(seconds=min(rng.randint(30, 600), room))
        if status in ("En Route", "In Progress", "Completed"):
            en_route = assigned_at + timedelta(minutes=rng.randint(1, 20))
            history.append((dispatch_id, "Assigned", "En Route", None, min(en_route, now)))
            if status != "En Route":
                started_at = min(en_route + timedelta(minutes=rng.randint(5, 60)), now)
                history.append((dispatch_id, "En Route", "In Progress", None, started_at))
        if status == "Completed":
            completed_at = min(started_at + timedelta(hours=hours * rng.uniform(0.5, 1.6)), now)
            history.append((dispatch_id, "In Progress", "Completed", None, completed_at))
            mine = counters[technician]
            mine[1] += 1
            mine[2] += int(completed_at <= sla_due)
            mine[3] += int(times[i] == 1)
        elif status == "Cancelled":
            history.append((dispatch_id, "Assigned" if technician else "Created", "Cancelled",
                            "No longer needed", (assigned_at or created) + timedelta(minutes=30)))
        elif status != "Created":
            counters[technician][0] += 1
        title = f"{TITLES[i % len(TITLES)]} {dispatch_id}"
        rows.append((f"D-{year}-{year_numbers[year]:06d}", title, priority, status, stamp(created),
                     stamp(assigned_at) if assigned_at else None, stamp(started_at) if started_at else None,
                     stamp(completed_at) if completed_at else None, stamp(due) if due else None, asset_id,
                     technician, location_id, skill, hours, stamp(sla_due), system_id, stamp(created),
                     stamp(completed_at or started_at or assigned_at or created)))
    with connection:
        connection.executemany(
            "INSERT INTO dispatches (dispatch_number, title, priority, status, work_type, created_date, assigned_date, "
            "started_date, completed_date, due_date, asset_id, assigned_user_id, major_location_id, required_skill, "
            "estimated_duration_hours, sla_due_at, version_id, created_by_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'operation', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)", rows)
        connection.executemany(
            "INSERT INTO dispatch_status_history (dispatch_id, status_from, status_to, change_reason, changed_by_id, "
            "changed_date, created_at, updated_at, created_by_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(d, f, t, r, system_id, s, s, s, system_id) for d, f, t, r, s in
             ((d, f, t, r, stamp(at)) for d, f, t, r, at in history)])
        for year, last in year_numbers.items():
            connection.execute(
                "INSERT INTO dispatch_number_sequences (year, last_number) VALUES (?, ?) "
                "ON CONFLICT (year) DO UPDATE SET last_number = max(last_number, excluded.last_number)", (year, last))
        connection.executemany(
            "UPDATE technician_profiles SET active_dispatch_count = ?, completed_count = ?, on_time_count = ?, "
            "first_time_fix_count = ? WHERE user_id = ?",
            [(*counts, user_id) for user_id, counts in counters.items()])
    del rows, history
    say(f"{dispatches:,} dispatches with their status history: {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    with connection:
        connection.executemany(
            "INSERT INTO dispatch_metrics (dispatch_id, technician_id, mode, matcher, score, score_breakdown, "
            "routing_speed_seconds, estimated_completion_hours, operational_cost, sla_met, burnout_risk, "
            "burnout_alert, fallback_technicians, fallback_used, created_at, updated_at, created_by_id) "
            f"VALUES (?, ?, ?, 'weighted', ?, '{breakdown}', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, {system_id})",
            ((*record, record[-1]) for record in records))
    say(f"{len(records):,} dispatch_metrics records: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    say(f"ANALYZE and checkpoint: {time.perf_counter() - started:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="copy the database to this file (default: only the cache)")
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--metrics", type=int, default=1_000_000)
    parser.add_argument("--technicians", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--rebuild", action="store_true", help="build again even when a fresh cached file exists")
    args = parser.parse_args()
    from bench.machine import machine

    print(f"machine: {machine()}")
    path = bulk_database(dispatches=args.dispatches, metrics=args.metrics, technicians=args.technicians,
                         days=args.days, rebuild=args.rebuild)
    if args.out:
        shutil.copyfile(path, args.out)
        print(f"copied to {args.out}")


if __name__ == "__main__":
    main()
