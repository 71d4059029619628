"""Benchmark: the work-order CSV export of every dispatch of the bulk data, streamed.

    python -m bench.export [--database FILE]

Signs in as the demo manager, reads ``/dispatches/export.csv`` chunk by chunk through the
Flask test client (nothing kept), and prints the time, rows, bytes, the Python heap's peak
(tracemalloc) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bulk_data import MANAGER, PASSWORD, bulk_database, make_app  # noqa: E402
from bench.machine import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    path = args.database or bulk_database()
    app = make_app(f"sqlite:///{path}")
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")
    client = app.test_client()
    client.post("/auth/login", data={"email": MANAGER, "password": PASSWORD})
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    started = time.perf_counter()
    response = client.get("/dispatches/export.csv", buffered=False)
    size = lines = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"export: {lines - 1:,} rows, {size / 1e6:.1f} MB in {seconds:.1f} s; Python heap peak {peak / 1e6:.1f} MB; "
          f"peak RSS {rss_before:.0f} MB before, {rss:.0f} MB after")


if __name__ == "__main__":
    main()
