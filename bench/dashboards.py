"""Benchmark: the technician dashboard over HTTP on the bulk data set.

    python -m bench.dashboards [--requests 30] [--rebuild] [--profile PAGE]

Uses ``bench.bulk_data`` (100,000 dispatches, 1,000,000 ``dispatch_metrics`` records, 1,000
technicians; cached on disk), signs in as the demo manager with the Flask test client and
times, after three warm-up requests each: the dashboard page, its htmx table fragment (a
filter change), the live tiles and the trends table the page loads after itself. Prints p50 / p95 / max in milliseconds, the SQL
statements per request and the response size, with the machine.

``--profile NAME`` runs cProfile over ``--requests`` requests of one of them (``page``,
``fragment``, ``tiles``) and prints the 25 most expensive functions; ``--explain`` prints
each statement of one page request with its SQLite query plan.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text  # noqa: E402

from bench.bulk_data import MANAGER, PASSWORD, bulk_database, make_app  # noqa: E402
from bench.machine import machine  # noqa: E402

FRAGMENT = {"HX-Request": "true", "HX-Target": "technician-table"}
PAGES = {
    "page": ("technician dashboard", "/dashboard/technicians", {}),
    "fragment": ("… table fragment, state=available", "/dashboard/technicians?state=available", FRAGMENT),
    "page10": ("… page 10", "/dashboard/technicians?page=10", {}),
    "tiles": ("live tiles", "/dashboard/technicians/tiles", {}),
    "trends": ("trends, last 30 days (loaded after)", "/dashboard/technicians/trends", {"HX-Request": "true"}),
}


class Statements:
    def __init__(self) -> None:
        self.seen: list[tuple[str, object]] = []

    def __call__(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        self.seen.append((statement, parameters))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, -(-len(ordered) * p // 100) - 1))]


def signed_in(app):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": MANAGER, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"signing in as {MANAGER} failed (HTTP {response.status_code})")
    return client


def time_one(client, url: str, headers: dict, requests: int, statements: Statements) -> dict:
    for _ in range(3):
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    timings, counts = [], []
    for _ in range(requests):
        statements.seen.clear()
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        counts.append(len(statements.seen))
    return {"p50": statistics.median(timings), "p95": percentile(timings, 95), "max": max(timings),
            "queries": sorted(set(counts)), "size": len(response.data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--profile", choices=sorted(PAGES))
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="--profile order: cumulative, tottime, ...")
    parser.add_argument("--database", help="time this database file (migrated to head) instead of the bulk data")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    path = args.database or bulk_database(rebuild=args.rebuild)
    app = make_app(f"sqlite:///{path}")
    from flask_migrate import upgrade

    from app.extensions import db

    with app.app_context():
        upgrade(revision="heads")

    with app.app_context():
        engine = db.engine
    client = signed_in(app)
    statements = Statements()
    event.listen(engine, "before_cursor_execute", statements)
    if args.profile:
        _, url, headers = PAGES[args.profile]
        client.get(url, headers=headers)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            client.get(url, headers=headers)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(25)
        return
    if args.explain:
        statements.seen.clear()
        client.get("/dashboard/technicians")
        seen = list(statements.seen)
        with engine.connect() as connection:
            for statement, parameters in seen:
                started = time.perf_counter()
                connection.exec_driver_sql(statement, parameters).fetchall()
                took = (time.perf_counter() - started) * 1000
                plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
                print(f"\n--- {took:.1f} ms\n{statement[:600]}")
                for row in plan:
                    print("   ", row[-1])
        return
    print(f"{args.requests} requests each after 3 warm-up requests, Flask test client, signed in as the manager:")
    for name, url, headers in PAGES.values():
        figures = time_one(client, url, headers, args.requests, statements)
        queries = "–".join(map(str, (figures["queries"][0], figures["queries"][-1]))) \
            if len(figures["queries"]) > 1 else str(figures["queries"][0])
        print(f"  {name:<36} p50 {figures['p50']:7.1f}  p95 {figures['p95']:7.1f}  max {figures['max']:7.1f} ms"
              f"  {queries:>3} queries  {figures['size'] / 1024:6.1f} KiB", flush=True)
    with engine.connect() as connection:
        counts = {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                  for table in ("dispatches", "dispatch_metrics", "technician_profiles")}
    print("data: " + ", ".join(f"{count:,} {table}" for table, count in counts.items()))


if __name__ == "__main__":
    main()
