"""The admin health details over the API: the health service's figures, admins only."""

from __future__ import annotations

from app.services import health
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import AdminFactory, ManagerFactory


def test_admins_read_the_health_details(app):
    response = app.test_client().get("/api/v1/health", headers=bearer(token_for(AdminFactory())))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    report = health.details()
    assert body["database"]["ok"] is True and body["database"]["dialect"] == report.database.dialect
    assert body["migrations"]["at_head"] == report.migrations.at_head
    assert body["problems"] == report.problems and body["status"] == ("attention" if report.problems else "ok")
    assert [job["name"] for job in body["jobs"]] == [job.name for job in report.jobs]
    assert "url" not in body["database"]


def test_others_are_refused(app):
    client = app.test_client()
    assert_problem(client.get("/api/v1/health", headers=bearer(token_for(ManagerFactory()))), 403)
    assert_problem(client.get("/api/v1/health"), 401)
    assert client.get("/healthz").status_code == 200
