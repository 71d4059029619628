"""``flask scheduler run|jobs|run-job`` and ``flask doctor``."""

from __future__ import annotations

import logging
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.services.errors import DomainError

scheduler_cli = AppGroup("scheduler", help="Run the scheduled jobs; list them; run one now.")


@scheduler_cli.command("run")
@click.option("--no-catch-up", is_flag=True, help="Do not run the latest missed slot of each job at start.")
def run(no_catch_up: bool) -> None:
    """Run the jobs at their times until stopped (Ctrl+C or SIGTERM finish the running jobs first).

    Several schedulers may run against one database: each slot runs once.
    """
    from app.services import scheduler

    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                            stream=sys.stderr)
    logging.getLogger("app").setLevel(logging.INFO)
    # Its own lines repeat ours ("Running job …") for every run; problems still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    process = scheduler.Scheduler(current_app._get_current_object(), catch_up=not no_catch_up)
    for line in scheduler.schedule_lines():
        click.echo(line)
    db.session.remove()
    process.run_forever(started=lambda: click.echo("Scheduler started (Ctrl+C stops it)."))
    click.echo("Scheduler stopped.")


@scheduler_cli.command("jobs")
def list_jobs() -> None:
    """Each job, its schedule in local time, its next run and how its last run went."""
    from app.services import scheduler

    for line in scheduler.schedule_lines():
        click.echo(line)


@scheduler_cli.command("run-job")
@click.argument("name")
def run_job(name: str) -> None:
    """Run job NAME now, claimed like any slot; exit code 1 when it fails."""
    from app.services import scheduler

    try:
        result = scheduler.run_now(name)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    if result.outcome == "failed":
        click.echo(f"{name} failed: {result.run.error}", err=True)
        sys.exit(1)
    detail = f": {result.message}" if result.message else ""
    duration = f" in {result.run.duration_ms} ms" if result.run and result.run.duration_ms is not None else ""
    click.echo(f"{name} {result.outcome}{duration}{detail}")


@click.command("doctor")
def doctor() -> None:
    """Check the database, migrations, channels, jobs and one alert check; show what runs next.

    Each problem is one line with how to fix it; the exit code is 1 when there is one.
    """
    from app.services.doctor import diagnose

    findings = diagnose()
    for finding in findings:
        click.echo(finding.line())
    problems = sum(1 for f in findings if f.ok is False)
    if problems:
        click.echo(f"{problems} problem{'s' if problems != 1 else ''} found.")
        sys.exit(1)
    click.echo("No problems found.")
