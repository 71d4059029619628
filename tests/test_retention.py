"""Retention: ended sessions, old sign-in events and old job runs go; everything newer stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import AuthEvent, JobRun, UserSession
from app.services import retention
from tests.factories import AuthEventFactory, UserFactory, UserSessionFactory

NOW = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def remaining(model, label) -> set:
    db.session.expire_all()
    return {label(row) for row in db.session.scalars(select(model))}


def test_sessions_that_ended_longer_ago_than_the_retention_period_are_deleted(app):
    user = UserFactory()

    def session(name, **values):
        return UserSessionFactory(user=user, user_agent=name, **values)

    # MOTORPOOL_RETAIN_SESSIONS_DAYS=30, idle limit 8 h, longest session 24 h.
    session("revoked 31 days ago", created_at=days_ago(32), last_seen_at=days_ago(31), revoked_at=days_ago(31))
    session("revoked 29 days ago", created_at=days_ago(29.5), last_seen_at=days_ago(29), revoked_at=days_ago(29))
    session("idle since 31 days", created_at=days_ago(31), last_seen_at=days_ago(31))
    session("idle since 29 days", created_at=days_ago(29.2), last_seen_at=days_ago(29))
    session("live", created_at=NOW - timedelta(hours=2), last_seen_at=NOW)

    report = retention.prune(now=NOW)

    assert report.sessions == 2
    assert remaining(UserSession, lambda s: s.user_agent) == {"revoked 29 days ago", "idle since 29 days", "live"}


def test_old_sign_in_events_and_job_runs_are_deleted_a_running_one_never(app):
    AuthEventFactory(created_at=days_ago(91), detail="91")
    AuthEventFactory(created_at=days_ago(89), detail="89")
    for days, outcome in ((31, "succeeded"), (29, "failed"), (40, "running")):
        db.session.add(JobRun(job=f"job-{days}", slot_start=days_ago(days), started_at=days_ago(days), outcome=outcome))
    db.session.commit()

    report = retention.prune(now=NOW)

    assert (report.auth_events, report.job_runs) == (1, 1)
    assert remaining(AuthEvent, lambda e: e.detail) == {"89"}
    assert remaining(JobRun, lambda r: r.job) == {"job-29", "job-40"}
    assert str(report) == "deleted 0 ended sessions, 1 sign-in events, 1 job runs"


def test_retention_periods_come_from_the_configuration(make_app):
    app = make_app(MOTORPOOL_RETAIN_AUTH_EVENTS_DAYS=7)
    with app.app_context():
        AuthEventFactory(created_at=days_ago(8))
        AuthEventFactory(created_at=days_ago(6))
        assert retention.prune(now=NOW).auth_events == 1
        db.session.remove()


def test_deletion_goes_in_bounded_batches_until_nothing_old_is_left(app):
    for _ in range(7):
        AuthEventFactory(created_at=days_ago(100))
    AuthEventFactory(created_at=days_ago(1))
    statements = []

    from sqlalchemy import event

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("DELETE FROM AUTH_EVENTS"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        report = retention.prune(now=NOW, batch=3)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert report.auth_events == 7
    assert len(statements) == 3  # 3 + 3 + 1
    assert len(remaining(AuthEvent, lambda e: e.id)) == 1


def test_a_bad_retention_setting_stops_start_up_with_what_to_set(make_app):
    import pytest

    with pytest.raises(ValueError, match="MOTORPOOL_RETAIN_SESSIONS_DAYS must be a whole number of at least 1, not 0"):
        make_app(MOTORPOOL_RETAIN_SESSIONS_DAYS=0)


def test_retention_runs_as_the_scheduled_retention_job(app):
    from app.services import scheduler

    AuthEventFactory(created_at=days_ago(365))
    result = scheduler.run_now("retention")
    assert result.outcome == "succeeded"
    assert result.run.summary == "deleted 0 ended sessions, 1 sign-in events, 0 job runs"
