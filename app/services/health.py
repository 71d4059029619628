"""Is Motorpool up, and is it well? ``liveness()`` for ``GET /healthz``, ``details()`` for admins.

Both reuse the checks of ``flask doctor`` (``app.services.doctor``), so the command line, the
probe and the admin page can never disagree about the same fact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from app.extensions import db
from app.models import utcnow
from app.services import doctor

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Liveness:
    database: doctor.DatabaseProbe

    @property
    def ok(self) -> bool:
        return self.database.ok

    def as_json(self) -> dict:
        """What ``/healthz`` answers: no host names, no driver errors (anyone may ask)."""
        body = {"status": "ok" if self.ok else "error",
                "database": {"ok": self.database.ok,
                             "latency_ms": None if self.database.latency_ms is None
                             else round(self.database.latency_ms, 1)}}
        if not self.ok:
            body["message"] = "The database does not answer; the operators have been told in the log."
        return body


def liveness() -> Liveness:
    """One ``SELECT 1`` with its latency; a database that is down is reported, never raised."""
    probe = doctor.probe_database()
    if not probe.ok:
        # Once per failing probe, with the detail the public answer leaves out.
        logger.warning("health check: the database does not answer (%s): %s", probe.url, probe.error)
    return Liveness(probe)


@dataclass(frozen=True)
class JobHealth:
    name: str
    enabled: bool
    last_started: datetime | None
    last_outcome: str | None
    last_summary: str | None
    next_run: datetime | None


@dataclass
class HealthDetails:
    checked_at: datetime
    database: doctor.DatabaseProbe
    migrations: doctor.MigrationState | None = None
    jobs: list[JobHealth] = field(default_factory=list)
    deliveries: doctor.DeliveryBacklog | None = None
    plugin_errors: list[tuple[str, str]] = field(default_factory=list)
    #: Parts that could not be read, by name, with why (the database answered, the part did not).
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        """Short lines for what needs an admin's attention (empty when all is well)."""
        found = []
        if not self.database.ok:
            found.append(f"The database does not answer: {self.database.error}")
        if self.migrations is not None and not self.migrations.at_head:
            found.append("The database is not migrated to this version: run `flask db upgrade`.")
        if self.deliveries is not None and self.deliveries.dead:
            found.append(f"{self.deliveries.dead} notification deliveries were given up on.")
        found += [f"Plugin {name}: {error}" for name, error in self.plugin_errors]
        found += [f"{part.capitalize()} could not be read: {why}" for part, why in self.unreadable.items()]
        return found


def details() -> HealthDetails:
    """Everything the admin health page shows; the parts after the database need it to answer."""
    from app.services import scheduler

    report = HealthDetails(checked_at=utcnow(), database=doctor.probe_database())
    report.plugin_errors = doctor.plugin_errors()
    if not report.database.ok:
        return report

    def part(name, read):
        try:
            return read()
        except Exception as error:  # one unreadable part (a missing table) leaves the others shown
            db.session.rollback()
            report.unreadable[name] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            return None

    report.migrations = part("migrations", doctor.migration_state)
    report.deliveries = part("deliveries", doctor.delivery_backlog)
    statuses = part("scheduler", scheduler.statuses) or []
    report.jobs = [
        JobHealth(status.entry.name, status.entry.enabled,
                  status.last_run.started_at if status.last_run else None,
                  status.last_run.outcome if status.last_run else None,
                  status.last_run.summary if status.last_run else None, status.next_run)
        for status in statuses
    ]
    return report


# --- Wiring ---------------------------------------------------------------------------------

HEALTHZ_ENDPOINT = "main.healthz"


class _QuietHealthChecks(logging.Filter):
    """Drops the development server's line for each successful ``GET /healthz``: a monitor
    asking every few seconds would bury every other request. A failing one (503) stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not ('"GET /healthz' in text and '" 200 ' in text)


_QUIET = _QuietHealthChecks()


def register(app) -> None:
    """Exempt ``/healthz`` from the rate limiter and keep its successes out of the request log."""
    from app.services.sign_in_throttle import EXTENSION_KEY

    view = app.view_functions.get(HEALTHZ_ENDPOINT)
    limiter = app.extensions.get(EXTENSION_KEY)
    if view is not None and limiter is not None:
        limiter.exempt(view)
    werkzeug = logging.getLogger("werkzeug")
    if _QUIET not in werkzeug.filters:
        werkzeug.addFilter(_QUIET)
