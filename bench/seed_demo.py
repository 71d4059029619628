"""Benchmark: create N demo dispatches through the creation rules, on a fresh database.

    python bench/seed_demo.py [--dispatches 100000] [--database-url URL]

Without --database-url a temporary SQLite file is used. Prints the elapsed time, the rate
and the rows written; the figures go into docs/performance.md with the machine they ran on.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import AllDispatchDetail, Dispatch, DispatchStatusHistory, Event  # noqa: E402
from app.services import demo  # noqa: E402
from app.services.actors import acting_as, system_user  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dispatches", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="motorpool-bench-")
    url = args.database_url or "sqlite:///" + os.path.join(tmp, "bench.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        upgrade(revision="heads")
        user = system_user()
        db.session.commit()
        with acting_as(user):
            started = time.perf_counter()
            demo.seed_fleet()
            fleet_seconds = time.perf_counter() - started
            started = time.perf_counter()
            demo.seed_dispatches(args.dispatches)
            seconds = time.perf_counter() - started

        def count(model):
            return db.session.scalar(select(func.count()).select_from(model))

        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"{db.engine.dialect.name}")
        print(f"fleet and users: {fleet_seconds:.2f} s")
        print(f"dispatches: {args.dispatches} in {seconds:.1f} s = {args.dispatches / seconds:,.0f} per second")
        print(f"rows: dispatches={count(Dispatch)} all_dispatch_details={count(AllDispatchDetail)} "
              f"events={count(Event)} dispatch_status_history={count(DispatchStatusHistory)}")


if __name__ == "__main__":
    main()
