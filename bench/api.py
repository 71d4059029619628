"""Benchmark: the dispatch API over real HTTP on the bulk data set.

    python -m bench.api [--requests 50] [--technicians 1000] [--rebuild]

Uses ``bench.bulk_data`` (100,000 dispatches, 1,000,000 ``dispatch_metrics`` records, 1,000
technicians, or ``--technicians 10000`` as the create budget names; cached on disk, one file
per size) copied to a scratch file, because the create requests write.
Serves the application with werkzeug on 127.0.0.1, calls it with httpx and a manager's token
and times, after three warm-up requests each: GET /api/v1/dispatches (the first page),
GET one dispatch, and POST /api/v1/dispatches with automatic assignment (the engine ranks the
technicians and records the assignment inside the request). Prints p50 / p95 / max in ms, the
process's CPU time per request (server and client) and the load average before and after.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from bench.bulk_data import MANAGER, bulk_database, make_app  # noqa: E402
from bench.machine import machine  # noqa: E402

BUDGETS = {"list": 50.0, "one": 20.0, "create": 50.0}


def _load() -> str:
    """The 1-minute load average, where the system tells it (the figures depend on it)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "unknown"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(call, requests: int) -> tuple[list[float], float]:
    """Wall times (ms) of each request after three warm-ups, and the process's CPU ms per request.

    Server and client share this process, so the CPU figure covers both; on a machine shared
    with other work it moves far less than the wall times, which include waiting for a core.
    """
    for _ in range(3):
        call()
    times = []
    cpu_started = time.process_time()
    for _ in range(requests):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times, (time.process_time() - cpu_started) * 1000 / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--technicians", type=int, default=1_000,
                        help="technicians in the bulk data set (the create budget names 10,000)")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    source = bulk_database(technicians=args.technicians, rebuild=args.rebuild)
    scratch = Path(tempfile.mkdtemp(prefix="motorpool-bench-api-")) / "api.db"
    shutil.copyfile(source, scratch)
    try:
        run(scratch, args.requests)
    finally:
        shutil.rmtree(scratch.parent, ignore_errors=True)


def run(path: Path, requests: int) -> None:
    from app.extensions import db
    from app.models import Asset, Dispatch, User
    from app.services import api_tokens

    app = make_app(f"sqlite:///{path}")
    app.config["RATELIMIT_ENABLED"] = False
    with app.app_context():
        manager = db.session.scalar(select(User).where(User.email == MANAGER))
        secret = api_tokens.create_token(manager, "bench").secret
        db.session.commit()
        number = db.session.scalar(select(Dispatch.dispatch_number).order_by(Dispatch.id.desc()).limit(1))
        asset_id = db.session.scalar(select(Asset.id).order_by(Asset.id).limit(1))
        db.session.remove()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request among the figures
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/api/v1"
    results = {}
    load = _load()
    assigned = 0
    try:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as client:
            def get(url: str):
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code, response.text[:300])

            def create():
                nonlocal assigned
                response = client.post("/dispatches", json={"title": "Bench job", "asset_id": asset_id,
                                                            "priority": "High", "auto_assign": True})
                assert response.status_code == 201, (response.status_code, response.text[:300])
                assigned += response.json()["status"] == "Assigned"

            results["list"] = ("GET /api/v1/dispatches", timed(lambda: get("/dispatches"), requests))
            results["one"] = (f"GET /api/v1/dispatches/{number}", timed(lambda: get(f"/dispatches/{number}"),
                                                                       requests))
            results["create"] = ("POST /api/v1/dispatches, auto_assign", timed(create, requests))
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    print(f"load average before: {load}; after: {_load()}")
    print(f"{'request':44} {'p50':>8} {'p95':>8} {'max':>8} {'cpu':>8} {'budget':>8}")
    over = []
    for key, (label, (times, cpu)) in results.items():
        p95 = percentile(times, 95)
        print(f"{label:44} {statistics.median(times):8.1f} {p95:8.1f} {max(times):8.1f} {cpu:8.1f} "
              f"{BUDGETS[key]:8.0f}")
        if p95 > BUDGETS[key]:
            over.append(label)
    print(f"created dispatches assigned by the engine: {assigned} of {requests + 3}")
    if over:
        print("over budget: " + "; ".join(over))
        sys.exit(1)


if __name__ == "__main__":
    main()
