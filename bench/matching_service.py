"""Benchmark: the matching service against a real database of technicians.

    python bench/matching_service.py [--technicians 10000] [--zones 0] [--database-url URL]

Seeds N technicians with profiles and skills (bulk inserts) into a fresh database, then
``--zones K`` gives the technicians K time zones in turn (shift hours are read per zone),
times ``load_pool`` read cold (the kept part read again: nine queries whatever N) and warm
(six), ``rank`` for one dispatch, and a full ``auto_assign`` (load, rank, claim, record
metrics, commit) on its own and followed by ``unassign``, and prints p50/p95.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Dispatch, Skill, TechnicianProfile, TechnicianSkill, User  # noqa: E402
from app.services import candidate_pool, demo, matching  # noqa: E402
from app.services.actors import acting_as, system_user  # noqa: E402
from app.services.dispatches import create_dispatch, unassign  # noqa: E402
from bench.machine import machine  # noqa: E402


#: Zones ``--zones`` hands out in turn: both hemispheres, half-hour offsets, far from UTC.
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "Pacific/Auckland",
         "America/Los_Angeles", "Europe/London", "Asia/Tokyo")


def seed_technicians(count: int, rng: random.Random, zones: int = 0) -> None:
    skills = db.session.execute(select(Skill.id)).scalars().all()
    users = db.session.scalars(
        insert(User).returning(User.id, sort_by_parameter_order=True),
        [{"email": f"bench{i}@example.com", "name": f"Bench Tech {i}", "role": "technician",
          "time_zone": ZONES[i % zones] if zones else None} for i in range(count)],
    ).all()
    profiles = db.session.scalars(
        insert(TechnicianProfile).returning(TechnicianProfile.id, sort_by_parameter_order=True),
        [
            {"user_id": uid, "home_latitude": 53.8 + rng.uniform(-0.5, 0.5),
             "home_longitude": -1.55 + rng.uniform(-0.8, 0.8), "shift_days": "1234567",
             "shift_start": clock(0, 0), "shift_end": clock(23, 59), "max_concurrent_dispatches": rng.choice([2, 3, 4]),
             "hourly_rate": rng.uniform(30, 60)}
            for uid in users
        ],
    ).all()
    db.session.execute(insert(TechnicianSkill), [
        {"technician_profile_id": pid, "skill_id": sid, "level": rng.randint(1, 5)}
        for pid in profiles for sid in rng.sample(skills, 3)
    ])
    db.session.commit()


def timed(fn, runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--technicians", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--zones", type=int, default=0, choices=range(len(ZONES) + 1),
                        help="how many time zones the technicians are spread over (0: all the organisation's)")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="motorpool-bench-"), "bench.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "MOTORPOOL_NOTIFIERS": "",
                      "MOTORPOOL_AUTO_ASSIGN": False})
    with app.app_context():
        upgrade(revision="heads")
        user = system_user()
        db.session.commit()
        with acting_as(user):
            demo.seed_fleet()
            seed_technicians(args.technicians, random.Random(7), args.zones)
            asset_id = db.session.scalar(select(Dispatch.asset_id).limit(1)) or 1
            dispatch = create_dispatch(title="Benchmark job", asset_id=asset_id, priority="High")

            queries = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: queries.append(1))
            candidate_pool.forget()
            loaded = matching.load_pool()
            cold_queries = len(queries)
            queries.clear()
            matching.load_pool()
            warm_queries = len(queries)

            def cold_load():
                candidate_pool.forget()
                matching.load_pool()

            cold_p50, cold_p95 = timed(cold_load, args.runs)
            load_p50, load_p95 = timed(matching.load_pool, args.runs)
            rank_p50, rank_p95 = timed(lambda: matching.rank(dispatch, loaded=loaded), args.runs)

            assign_samples = []

            def assign_and_release():
                started = time.perf_counter()
                matching.auto_assign(dispatch)
                assign_samples.append((time.perf_counter() - started) * 1000)
                unassign(dispatch, "benchmark")

            pair_p50, pair_p95 = timed(assign_and_release, args.runs)
            assign_samples.sort()
            assign_p50 = statistics.median(assign_samples)
            assign_p95 = assign_samples[int(len(assign_samples) * 0.95) - 1]
        print(f"machine: {machine()}; {db.engine.dialect.name}; {len(loaded.technicians)} technicians with "
              f"profiles in {args.zones or 1} time zone(s)")
        print(f"load_pool, kept part read again: {cold_queries} queries; p50 {cold_p50:.1f} ms, p95 {cold_p95:.1f} ms")
        print(f"load_pool, kept part current: {warm_queries} queries; p50 {load_p50:.1f} ms, p95 {load_p95:.1f} ms")
        print(f"rank one dispatch (pool loaded): p50 {rank_p50:.1f} ms, p95 {rank_p95:.1f} ms")
        print(f"auto_assign (load, rank, claim, metrics, commit): p50 {assign_p50:.1f} ms, p95 {assign_p95:.1f} ms")
        print(f"auto_assign + unassign (2 commits): p50 {pair_p50:.1f} ms, p95 {pair_p95:.1f} ms")


if __name__ == "__main__":
    main()
