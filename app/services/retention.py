"""Retention: what Motorpool deletes once it is old enough, in bounded batches.

- ``user_sessions`` that ended (revoked, or expired by idleness or age) more than
  ``MOTORPOOL_RETAIN_SESSIONS_DAYS`` ago;
- ``auth_events`` older than ``MOTORPOOL_RETAIN_AUTH_EVENTS_DAYS``;
- ``job_runs`` that started more than ``MOTORPOOL_RETAIN_JOB_RUNS_DAYS`` ago (never one
  still running);
- ``idempotency_keys`` (the API's kept answers) older than a day, their lifetime.

Each batch selects at most ``batch`` ids and deletes them in its own transaction, so memory
stays constant and no lock is held for long, however much there is to delete. The
scheduler's ``retention`` job runs ``prune`` daily (03:30 by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from app.extensions import db
from app.models import AuthEvent, IdempotencyKey, JobOutcome, JobRun, UserSession, utcnow
from app.services.transaction import require_own_transactions, transaction

BATCH = 1000


@dataclass(frozen=True)
class PruneReport:
    sessions: int
    auth_events: int
    job_runs: int
    idempotency_keys: int = 0

    def __str__(self) -> str:
        text = (f"deleted {self.sessions} ended sessions, {self.auth_events} sign-in events, "
                f"{self.job_runs} job runs")
        return text + (f", {self.idempotency_keys} API idempotency keys" if self.idempotency_keys else "")


def _days(name: str) -> timedelta:
    return timedelta(days=current_app.config[name])


def _delete_in_batches(model: type, *conditions, batch: int) -> int:
    deleted = 0
    while True:
        ids = list(db.session.scalars(select(model.id).where(*conditions).order_by(model.id).limit(batch)))
        if not ids:
            return deleted
        with transaction():
            db.session.execute(delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False))
        deleted += len(ids)
        if len(ids) < batch:
            return deleted


def session_conditions(now: datetime):
    """Sessions that ended longer ago than the retention period: revoked then, or expired then."""
    config = current_app.config
    ended_before = now - _days("MOTORPOOL_RETAIN_SESSIONS_DAYS")
    idle = timedelta(minutes=config["MOTORPOOL_SESSION_IDLE_MINUTES"])
    max_age = timedelta(hours=config["MOTORPOOL_SESSION_MAX_HOURS"])
    return or_(
        UserSession.revoked_at < ended_before,
        UserSession.last_seen_at < ended_before - idle,
        UserSession.created_at < ended_before - max_age,
    )


def prune(now: datetime | None = None, *, batch: int = BATCH) -> PruneReport:
    """Delete what is past its retention period; returns how many rows of each went."""
    require_own_transactions("prune")
    now = now or utcnow()
    sessions = _delete_in_batches(UserSession, session_conditions(now), batch=batch)
    events = _delete_in_batches(
        AuthEvent, AuthEvent.created_at < now - _days("MOTORPOOL_RETAIN_AUTH_EVENTS_DAYS"), batch=batch
    )
    runs = _delete_in_batches(
        JobRun, JobRun.started_at < now - _days("MOTORPOOL_RETAIN_JOB_RUNS_DAYS"),
        JobRun.outcome != JobOutcome.RUNNING.value, batch=batch,
    )
    from app.api.idempotency import LIFETIME

    keys = _delete_in_batches(IdempotencyKey, IdempotencyKey.created_at < now - LIFETIME, batch=batch)
    return PruneReport(sessions, events, runs, keys)
