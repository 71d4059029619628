"""A technician's position over the API: the service's rules, each refusal named, nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import TechnicianPosition, utcnow
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import ManagerFactory, TechnicianFactory

URL = "/api/v1/technicians/me/position"


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Pia Position")


def _positions() -> int:
    return db.session.scalar(select(func.count(TechnicianPosition.id)))


def test_a_technician_reports_their_position(app, technician):
    when = (utcnow() - timedelta(minutes=1)).isoformat()
    response = app.test_client().put(URL, json={"latitude": 52.37, "longitude": 4.89, "accuracy": 25,
                                                "recorded_at": when}, headers=bearer(token_for(technician)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["latitude"], body["longitude"], body["accuracy"]) == (52.37, 4.89, 25)
    stored = db.session.scalar(select(TechnicianPosition))
    assert stored.technician_id == technician.id and stored.latitude == 52.37


@pytest.mark.parametrize("change, field, words", [
    ({"latitude": 91}, "latitude", "outside -90 to 90"),
    ({"longitude": -181}, "longitude", "outside -180 to 180"),
    ({"accuracy": 200_000}, "accuracy", "outside 0 to"),
    ({"recorded_at": "FUTURE"}, "recorded_at", "in the future"),
    ({"recorded_at": "OLD"}, "recorded_at", "more than a day old"),
    ({"recorded_at": "2026-06-10T17:00:00"}, "recorded_at", ""),
    ({"latitude": "north"}, "latitude", ""),
])
def test_refusals_name_the_field_and_write_nothing(app, technician, change, field, words):
    body = {"latitude": 52.0, "longitude": 4.0, "accuracy": 10, "recorded_at": utcnow().isoformat()}
    body.update(change)
    if body["recorded_at"] == "FUTURE":
        body["recorded_at"] = (utcnow() + timedelta(hours=1)).isoformat()
    if body["recorded_at"] == "OLD":
        body["recorded_at"] = (utcnow() - timedelta(days=2)).isoformat()
    response = app.test_client().put(URL, json=body, headers=bearer(token_for(technician)))
    problem = assert_problem(response, 422, words)
    assert field in problem["errors"], problem
    assert _positions() == 0


def test_several_refusals_are_named_at_once(app, technician):
    response = app.test_client().put(URL, json={"latitude": 100, "longitude": 200, "recorded_at": utcnow().isoformat()},
                                     headers=bearer(token_for(technician)))
    problem = assert_problem(response, 422)
    assert set(problem["errors"]) == {"latitude", "longitude"}
    assert _positions() == 0


def test_only_technicians_report_a_position(app):
    response = app.test_client().put(URL, json={"latitude": 1, "longitude": 1, "recorded_at": utcnow().isoformat()},
                                     headers=bearer(token_for(ManagerFactory())))
    assert_problem(response, 403, "technician")
    assert _positions() == 0
