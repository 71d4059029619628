"""/admin/scheduler: schedules edited (refusals change nothing), "run now" through the claim, runs paginated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import JobRun, ScheduleSetting
from app.services.scheduler import Job, register_job
from tests.admin_support import HX, counting_queries, html, rows
from tests.conftest import AuthActions
from tests.factories import AdminFactory
from tests.test_web import csrf_token_from


def signed_in_admin(app):
    admin = AdminFactory(name="Ada Admin")
    client = app.test_client()
    AuthActions(client).login(admin)
    return client, admin


def settings():
    return rows(ScheduleSetting, ScheduleSetting.job, ScheduleSetting.enabled, ScheduleSetting.interval_minutes,
                ScheduleSetting.time_of_day, ScheduleSetting.weekday)


def add_runs(count: int, *, day: int = 1) -> None:
    start = datetime(2026, 12, day, tzinfo=UTC)
    for i in range(count):
        moment = start + timedelta(minutes=5 * i)
        db.session.add(JobRun(job="alert-check", slot_start=moment, started_at=moment, finished_at=moment,
                              outcome="failed" if i % 2 else "succeeded", duration_ms=12, error="boom" if i % 2 else None,
                              host="worker-1", pid=42))
    db.session.commit()


def test_the_page_shows_each_job_with_its_schedule_next_run_and_last_outcome(app):
    client, _ = signed_in_admin(app)
    add_runs(1)
    page = html(client.get("/admin/scheduler"))
    for name in ("alert-check", "assign-pending", "daily-summary", "weekly-summary", "retention", "warm-days"):
        assert f'data-job="{name}"' in page
    assert "every 5 min" in page and "daily at 08:00" in page and "Mondays at 09:00" in page
    assert "Times are in UTC" in page
    assert "succeeded, 2026-12-01 00:00 UTC" in page  # alert-check's last run
    assert "No job has run yet." not in page
    assert 'href="/admin/scheduler"' in html(client.get("/admin/"))


def test_the_runs_are_paginated_in_a_constant_number_of_queries(app):
    client, _ = signed_in_admin(app)
    add_runs(3)
    client.get("/admin/scheduler")
    with counting_queries() as few:
        assert client.get("/admin/scheduler").status_code == 200
    add_runs(60, day=2)
    with counting_queries() as many:
        page = html(client.get("/admin/scheduler?page=2"))
    assert len(many) == len(few)
    assert "Page 2 of 3 (63 runs)" in page
    fragment = client.get("/admin/scheduler?page=3", headers=HX)
    body = html(fragment)
    assert body.lstrip().startswith('<div id="job-runs">') and "Page 3 of 3" in body
    assert "HX-Request" in fragment.headers.get("Vary", "")
    assert "Page 3 of 3" in html(client.get("/admin/scheduler?page=99"))  # past the end: the last page
    assert "Page 1 of 3" in html(client.get("/admin/scheduler?page=nope"))


def test_an_accepted_schedule_is_stored_with_who_changed_it(app):
    client, admin = signed_in_admin(app)
    response = client.post("/admin/scheduler/weekly-summary", data={"enabled": "1", "at": "07:15", "weekday": "4"})
    assert response.status_code == 302
    assert settings() == [("weekly-summary", True, None, "07:15", 4)]
    setting = db.session.scalar(select(ScheduleSetting))
    assert setting.updated_by_id == admin.id
    page = html(client.get("/admin/scheduler"))
    assert "Fridays at 07:15" in page and "changed by Ada Admin" in page
    client.post("/admin/scheduler/alert-check", data={"interval": "15"})  # no "enabled": switched off
    assert ("alert-check", False, 15, None, None) in settings()
    assert "not scheduled (disabled)" in html(client.get("/admin/scheduler"))


def test_a_refused_schedule_says_why_keeps_what_was_typed_and_changes_nothing(app):
    client, _ = signed_in_admin(app)
    client.post("/admin/scheduler/alert-check", data={"enabled": "1", "interval": "7"})
    before = settings()
    for job, data, says in (
        ("alert-check", {"enabled": "1", "interval": "0"}, "whole number from 1 to 1440, not &#39;0&#39;"),
        ("daily-summary", {"enabled": "1", "at": "25:61"}, "HH:MM on the 24-hour clock"),
        ("weekly-summary", {"enabled": "1", "at": "09:00", "weekday": "8"}, "from Monday to Sunday"),
    ):
        response = client.post(f"/admin/scheduler/{job}", data=data)
        page = html(response)
        assert response.status_code == 422
        assert says in page
        assert 'aria-invalid="true"' in page
        assert settings() == before
    assert 'value="25:61"' in html(client.post("/admin/scheduler/daily-summary", data={"at": "25:61"}))
    assert client.post("/admin/scheduler/no-such-job", data={"interval": "5"}).status_code == 404
    assert settings() == before


def test_run_now_runs_the_job_through_the_claim_as_the_admin(app):
    client, admin = signed_in_admin(app)
    response = client.post("/admin/scheduler/retention/run")
    assert response.status_code == 302
    [run] = db.session.scalars(select(JobRun)).all()
    assert (run.job, run.outcome, run.trigger, run.created_by_id) == ("retention", "succeeded", "manual", admin.id)
    page = html(client.get("/admin/scheduler"))
    assert "retention succeeded in" in page and "(by hand)" in page
    app.config["TEST_MINUTES"] = 60
    register_job(Job("test-explode", "tests.test_scheduler:explode", "interval", "TEST_MINUTES", "fails"), app)
    failed = client.post("/admin/scheduler/test-explode/run", follow_redirects=True)
    assert "test-explode failed: RuntimeError: the depot feed answered 503" in html(failed)
    assert client.post("/admin/scheduler/nightly/run").status_code == 404


def test_run_now_needs_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        admin = AdminFactory()
        client = app.test_client()
        token = csrf_token_from(html(client.get("/auth/login")))
        client.post("/auth/login", data={"email": admin.email, "password": "correct horse battery", "csrf_token": token})
        assert client.post("/admin/scheduler/retention/run").status_code == 400
        assert client.post("/admin/scheduler/retention/run", data={"csrf_token": "forged"}).status_code == 400
        assert db.session.scalars(select(JobRun)).all() == []
        db.session.remove()
