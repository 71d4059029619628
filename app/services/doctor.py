"""``flask doctor``: is this installation ready to run on its own? Each problem says how to fix it.

Checks, in order: the database answers (and how fast), its migrations are at every head
(core and plugin branches), each active notification channel is reachable (its
notifier's optional ``probe()``), every enabled job's function can be imported, one alert
check runs as a dry run, and what is scheduled next.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import text

from app.extensions import db, migrate


@dataclass(frozen=True)
class Finding:
    """One line of the report: ``ok`` (True), a problem (False) or a note (None), and the fix."""

    check: str
    ok: bool | None
    message: str
    fix: str = ""

    def line(self) -> str:
        mark = {True: "ok     ", False: "PROBLEM", None: "note   "}[self.ok]
        return f"{mark} {self.check}: {self.message}" + (f" — fix: {self.fix}" if self.fix else "")


def check_database() -> Iterator[Finding]:
    started = time.perf_counter()
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        yield Finding("database", False, f"cannot connect to {db.engine.url.render_as_string(hide_password=True)}: "
                      f"{reason}", "start the database server, or set DATABASE_URL to one that answers")
        return
    latency = (time.perf_counter() - started) * 1000
    yield Finding("database", True, f"{db.engine.dialect.name} answered in {latency:.0f} ms")


def check_migrations() -> Iterator[Finding]:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = migrate.get_config(directory=current_app.extensions["migrate"].directory)
    script = ScriptDirectory.from_config(config)
    heads = set(script.get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        yield Finding("migrations", True, f"at head ({', '.join(sorted(heads))})")
        return
    unknown = []
    for revision in sorted(current):
        try:
            if script.get_revision(revision) is None:
                unknown.append(revision)
        except CommandError:
            unknown.append(revision)
    if unknown:
        yield Finding("migrations", False, f"the database is at {', '.join(unknown)}, which this code does not know",
                      "run the code the database was migrated with, or restore a backup made for this version")
        return
    yield Finding("migrations", False,
                  f"the database is at {', '.join(sorted(current)) or 'no revision (empty)'}; "
                  f"the code's heads are {', '.join(sorted(heads))}", "run `flask db upgrade`")


def check_channels() -> Iterator[Finding]:
    from app.services import notifications

    channels = notifications.active_channels()
    if not channels:
        yield Finding("channels", None, "no notification channel is active (MOTORPOOL_NOTIFIERS)")
    for name in notifications.missing_channels():
        yield Finding(f"channel {name}", False, "switched on, but no enabled plugin provides it: its notifications wait",
                      f"install or enable the plugin that provides {name}, or switch {name} off on /admin/channels")
    for name, notifier in channels.items():
        probe = getattr(notifier, "probe", None)
        if probe is None:
            yield Finding(f"channel {name}", True, "active (it has no reachability probe)")
            continue
        try:
            probe()
        except Exception as error:
            yield Finding(f"channel {name}", False, f"unreachable: {error}",
                          f"check the {name} channel's settings, or remove {name} from MOTORPOOL_NOTIFIERS")
        else:
            yield Finding(f"channel {name}", True, "reachable")


def check_jobs() -> Iterator[Finding]:
    from app.services import scheduler

    for entry in scheduler.effective_schedules():
        try:
            scheduler.resolve(entry.job.target)
        except LookupError as error:
            if entry.enabled:
                yield Finding(f"job {entry.name}", False, str(error),
                              f"install the feature that provides it, or disable {entry.name} on /admin/scheduler")
            else:
                yield Finding(f"job {entry.name}", None, f"disabled; {error}")
        else:
            state = "" if entry.enabled else " (disabled)"
            yield Finding(f"job {entry.name}", True, f"{entry.job.target} importable{state}")


def check_alerts() -> Iterator[Finding]:
    try:
        alerting = importlib.import_module("app.services.alerting")
    except ModuleNotFoundError as error:
        if error.name != "app.services.alerting":
            raise
        yield Finding("alert check", None, "not available: app.services.alerting is not installed")
        return
    try:
        report = alerting.run_check(dry_run=True)
    except Exception as error:
        db.session.rollback()
        yield Finding("alert check", False, f"the dry run failed: {type(error).__name__}: {error}",
                      "run `flask alerts check --dry-run` to see the whole error")
        return
    db.session.rollback()
    yield Finding("alert check", True, f"dry run: {report}")


def check_schedule() -> Iterator[Finding]:
    from app.services import scheduler

    for line in scheduler.schedule_lines():
        yield Finding("scheduled", None, line)


def diagnose() -> list[Finding]:
    """Every finding; the later checks need the database, so they stop when it does not answer."""
    findings = list(check_database())
    if any(f.ok is False for f in findings):
        return findings
    for check in (check_migrations, check_channels, check_jobs, check_alerts, check_schedule):
        try:
            findings.extend(check())
        except Exception as error:
            db.session.rollback()
            findings.append(Finding(check.__name__.removeprefix("check_"), False,
                                    f"could not be checked: {type(error).__name__}: {error}",
                                    "run `flask db upgrade` if tables are missing"))
    return findings
