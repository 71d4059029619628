"""Benchmark: ``flask analyze`` over a year on the bulk data set.

    python -m bench.analyze [--runs 3] [--rebuild]

Uses ``bench.bulk_data`` (100,000 dispatches, 1,000,000 ``dispatch_metrics`` records, 1,000
technicians spread over its 90 days; cached on disk) and runs the command, through Flask's CLI
runner in this process, for the 365 local days ending today in each format, then once narrowed
to one location. Prints the best and worst wall time of ``--runs`` runs each (budget: 5 s), the
SQL statements of one run and the output size, with the machine and its load. Before them, on a
private copy of the cached file: every kept day (``daily_rollups``, ``daily_trends``) is deleted
and one run timed on its own (the first read of a range sums and keeps its days); then the kept
days are deleted again, ``flask rollups warm --days 400`` is timed, twice, and the first run
after it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event  # noqa: E402

from bench.bulk_data import bulk_database, make_app  # noqa: E402
from bench.machine import machine  # noqa: E402

BUDGET_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} "
          "(1, 5, 15 min)")
    # A copy: its kept days are dropped twice below, which other readers of the cache must not see.
    private = Path(tempfile.mkdtemp(prefix="motorpool-bench-analyze-")) / "bulk.db"
    shutil.copyfile(bulk_database(rebuild=args.rebuild), private)
    app = make_app(f"sqlite:///{private}")
    from flask_migrate import upgrade

    from app.extensions import db
    from app.services import reports

    with app.app_context():
        upgrade(revision="heads")
        engine = db.engine
        until = reports.today()
        location = db.session.execute(db.text("SELECT name FROM major_locations ORDER BY id")).scalar()
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    year = ["--since", (until - timedelta(days=364)).isoformat(), "--until", until.isoformat()]
    runner = app.test_cli_runner()
    cases = [(f"{fmt}, 365 days", [*year, "--format", fmt]) for fmt in ("text", "json", "csv")]
    cases.append((f"json, 365 days, location {location}", [*year, "--format", "json", "--location", location]))

    def forget_kept_days() -> None:
        with app.app_context():
            db.session.execute(db.text("DELETE FROM daily_cost_groups"))
            db.session.execute(db.text("DELETE FROM daily_rollups"))
            db.session.execute(db.text("DELETE FROM daily_trends"))
            db.session.commit()

    def timed(label: str, command: list[str]) -> None:
        started = time.perf_counter()
        result = runner.invoke(args=command)
        if result.exit_code != 0:
            raise SystemExit(f"{label}: exit {result.exit_code}: {result.stderr} {result.exception!r}")
        print(f"{label}: {time.perf_counter() - started:.2f} s", flush=True)

    forget_kept_days()
    timed("first run, no day kept (json, 365 days; sums and keeps them)", ["analyze", *year, "--format", "json"])
    forget_kept_days()
    timed("flask rollups warm --days 400, no day kept", ["rollups", "warm", "--days", "400"])
    timed("flask rollups warm --days 400 again (all kept)", ["rollups", "warm", "--days", "400"])
    timed("first run after warming (json, 365 days)", ["analyze", *year, "--format", "json"])
    print(f"flask analyze, {args.runs} runs each (CLI runner, one process):")
    worst_of_all = 0.0
    for name, options in cases:
        timings = []
        for _ in range(args.runs):
            statements.clear()
            started = time.perf_counter()
            result = runner.invoke(args=["analyze", *options])
            timings.append(time.perf_counter() - started)
            if result.exit_code != 0:
                raise SystemExit(f"{name}: exit {result.exit_code}: {result.stderr} {result.exception!r}")
        worst_of_all = max(worst_of_all, max(timings))
        print(f"  {name:<40} best {min(timings):5.2f} s  worst {max(timings):5.2f} s  {len(statements):>3} queries"
              f"  {len(result.stdout) / 1024:6.1f} KiB", flush=True)
    verdict = "within" if worst_of_all <= BUDGET_SECONDS else "OVER"
    print(f"worst run {worst_of_all:.2f} s: {verdict} the {BUDGET_SECONDS:.0f} s budget")
    shutil.rmtree(private.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
