"""``flask doctor``: is this installation ready to run on its own? Each problem says how to fix it.

Checks, in order: the database answers (and how fast), its migrations are at every head
(core and plugin branches), every plugin loaded, the delivery backlog and dead letters,
each active notification channel is reachable (its notifier's optional ``probe()``), every
enabled job's function can be imported, one alert check runs as a dry run, and what is
scheduled next.

The facts behind the first checks (``probe_database``, ``migration_state``,
``plugin_errors``, ``delivery_backlog``) are plain functions: ``app.services.health`` shows
the same ones on ``/healthz`` and the admin health page.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select, text

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


@dataclass(frozen=True)
class DatabaseProbe:
    """Whether the database answered one ``SELECT 1`` on a new connection, and how fast."""

    ok: bool
    latency_ms: float | None
    dialect: str
    url: str  # without the password
    error: str | None = None  # the driver's first line when it did not answer


def probe_database() -> DatabaseProbe:
    """One ``SELECT 1``; a database that is down or broken is reported, never raised."""
    engine = db.engine
    url = engine.url.render_as_string(hide_password=True)
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()
        return DatabaseProbe(False, None, engine.dialect.name, url, reason[0] if reason else type(error).__name__)
    return DatabaseProbe(True, (time.perf_counter() - started) * 1000, engine.dialect.name, url)


def check_database() -> Iterator[Finding]:
    probe = probe_database()
    if not probe.ok:
        yield Finding("database", False, f"cannot connect to {probe.url}: {probe.error}",
                      "start the database server, or set DATABASE_URL to one that answers")
        return
    yield Finding("database", True, f"{probe.dialect} answered in {probe.latency_ms:.0f} ms")


@dataclass(frozen=True)
class MigrationState:
    """The revisions the database is at against the code's heads (core and plugin branches)."""

    current: frozenset[str]
    heads: frozenset[str]
    unknown: tuple[str, ...] = ()  # revisions of the database this code does not know

    @property
    def at_head(self) -> bool:
        return self.current == self.heads


def migration_state() -> MigrationState:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = migrate.get_config(directory=current_app.extensions["migrate"].directory)
    script = ScriptDirectory.from_config(config)
    heads = frozenset(script.get_heads())
    with db.engine.connect() as connection:
        current = frozenset(MigrationContext.configure(connection).get_current_heads())
    unknown = []
    for revision in sorted(current - heads):
        try:
            if script.get_revision(revision) is None:
                unknown.append(revision)
        except CommandError:
            unknown.append(revision)
    return MigrationState(current, heads, tuple(unknown))


def check_migrations() -> Iterator[Finding]:
    state = migration_state()
    if state.at_head:
        yield Finding("migrations", True, f"at head ({', '.join(sorted(state.heads))})")
        return
    if state.unknown:
        yield Finding("migrations", False, f"the database is at {', '.join(state.unknown)}, which this code does not know",
                      "run the code the database was migrated with, or restore a backup made for this version")
        return
    yield Finding("migrations", False,
                  f"the database is at {', '.join(sorted(state.current)) or 'no revision (empty)'}; "
                  f"the code's heads are {', '.join(sorted(state.heads))}", "run `flask db upgrade`")


def plugin_errors() -> list[tuple[str, str]]:
    """(plugin, error) for every plugin that failed to load or was partly refused at start."""
    from app.plugins.manager import EXTENSION_KEY

    system = current_app.extensions.get(EXTENSION_KEY)
    records = system.records.values() if system is not None else ()
    return [(record.name, record.error) for record in sorted(records, key=lambda r: r.name) if record.error]


def check_plugins() -> Iterator[Finding]:
    errors = plugin_errors()
    for name, error in errors:
        yield Finding(f"plugin {name}", False, error,
                      f"fix or upgrade the plugin, or disable it (`flask plugins disable {name}`) and restart")
    if not errors:
        yield Finding("plugins", True, "every enabled plugin loaded")


@dataclass(frozen=True)
class DeliveryBacklog:
    """Notification deliveries not sent yet, and those given up on."""

    pending: int = 0
    sending: int = 0
    dead: int = 0
    oldest_due: datetime | None = None  # the earliest next try of a pending delivery
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def waiting(self) -> int:
        return self.pending + self.sending


def delivery_backlog() -> DeliveryBacklog:
    """One query on the (status, next_attempt_at) index, whatever the size of the log."""
    from app.models import DeliveryStatus, NotificationDelivery

    d = NotificationDelivery
    counts: dict[str, int] = {}
    oldest = None
    for status, count, due in db.session.execute(
        select(d.status, func.count(), func.min(d.next_attempt_at))
        .where(d.status != DeliveryStatus.DELIVERED.value).group_by(d.status)
    ):
        counts[status] = count
        if status == DeliveryStatus.PENDING.value:
            oldest = due
    return DeliveryBacklog(counts.get(DeliveryStatus.PENDING.value, 0), counts.get(DeliveryStatus.SENDING.value, 0),
                           counts.get(DeliveryStatus.DEAD.value, 0), oldest, counts)


def check_deliveries() -> Iterator[Finding]:
    backlog = delivery_backlog()
    yield Finding("deliveries", True, f"{backlog.waiting} waiting to be sent")
    if backlog.dead:
        yield Finding("dead letters", None, f"{backlog.dead} notification deliveries were given up on",
                      "see why on /admin/deliveries and retry them there once the channel works")


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
    for check in (check_migrations, check_plugins, check_deliveries, check_channels, check_jobs, check_alerts,
                  check_schedule):
        try:
            findings.extend(check())
        except Exception as error:
            db.session.rollback()
            findings.append(Finding(check.__name__.removeprefix("check_"), False,
                                    f"could not be checked: {type(error).__name__}: {error}",
                                    "run `flask db upgrade` if tables are missing"))
    return findings
