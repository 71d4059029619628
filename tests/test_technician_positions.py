"""Positions a technician's device shares (``technicians.report_position``), how the matching
engine uses a fresh one instead of the home base, and My work's "Share my location"."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import TechnicianPosition, User, utcnow
from app.services import matching
from app.services import technicians as technician_service
from app.services.actors import acting_as
from app.services.errors import PermissionDenied, ValidationError
from tests import matching_support as ms
from tests.factories import ManagerFactory, TechnicianFactory, TechnicianPositionFactory


def positions() -> int:
    return db.session.scalar(select(func.count()).select_from(TechnicianPosition))


def report(user, latitude=53.8, longitude=-1.55, accuracy_m=20.0, reported_at=None):
    with acting_as(user):
        return technician_service.report_position(user, latitude, longitude, accuracy_m,
                                                  reported_at or utcnow() - timedelta(seconds=5))


def test_a_technician_reports_their_position_with_both_times(app):
    tech = TechnicianFactory()
    taken = utcnow() - timedelta(seconds=30)
    position = report(tech, 51.5, -0.12, 12.5, taken)
    stored = db.session.get(TechnicianPosition, position.id)
    assert (stored.technician_id, stored.latitude, stored.longitude, stored.accuracy_m) == (tech.id, 51.5, -0.12, 12.5)
    assert stored.reported_at == taken.replace(microsecond=stored.reported_at.microsecond)
    assert stored.received_at >= taken
    assert technician_service.last_position(tech).id == position.id


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"latitude": 90.5}, "latitude", "outside -90 to 90"),
    ({"longitude": -180.01}, "longitude", "outside -180 to 180"),
    ({"latitude": math.nan}, "latitude", "finite"),
    ({"longitude": math.inf}, "longitude", "finite"),
    ({"latitude": "53.8"}, "latitude", "must be a number"),
    ({"latitude": True}, "latitude", "must be a number"),
    ({"accuracy_m": -1.0}, "accuracy_m", "outside 0 to 100,000 m"),
    ({"accuracy_m": 250_000.0}, "accuracy_m", "better fix"),
    ({"accuracy_m": math.nan}, "accuracy_m", "finite"),
    ({"reported_at": "future"}, "reported_at", "in the future; check the device's clock"),
    ({"reported_at": "old"}, "reported_at", "more than a day old"),
    ({"reported_at": "naive"}, "reported_at", "with its time zone"),
])
def test_bad_positions_are_refused_saying_why_and_nothing_is_written(app, values, field, words):
    tech = TechnicianFactory()
    when = {"future": utcnow() + timedelta(minutes=5), "old": utcnow() - timedelta(hours=25),
            "naive": datetime.now(UTC).replace(tzinfo=None)}
    if "reported_at" in values:
        values = {"reported_at": when[values["reported_at"]]}
    with pytest.raises(ValidationError) as refused:
        report(tech, **values)
    assert refused.value.field == field
    assert words in refused.value.message
    db.session.rollback()
    assert positions() == 0


def test_several_bad_values_are_named_together(app):
    tech = TechnicianFactory()
    with pytest.raises(ValidationError) as refused:
        report(tech, latitude=95.0, longitude=math.nan)
    assert {error.field for error in refused.value.errors} == {"latitude", "longitude"}
    assert positions() == 0


def test_a_clock_a_little_ahead_is_believed(app):
    tech = TechnicianFactory()
    report(tech, reported_at=utcnow() + timedelta(seconds=90))
    assert positions() == 1


def test_only_technicians_report_and_only_their_own(app):
    manager, tech, colleague = ManagerFactory(), TechnicianFactory(), TechnicianFactory()
    with pytest.raises(PermissionDenied, match="only technicians share their location"):
        report(manager)
    with acting_as(colleague), pytest.raises(PermissionDenied, match=f"Only {tech.name} can share"):
        technician_service.report_position(tech, 53.8, -1.55, 10.0, utcnow())
    with pytest.raises(PermissionDenied):  # nobody acting (a command without a user): refused too
        technician_service.report_position(tech, 53.8, -1.55, 10.0, utcnow())
    assert positions() == 0


def test_reporting_prunes_that_technicians_rows_older_than_a_day(app):
    tech, other = TechnicianFactory(), TechnicianFactory()
    TechnicianPositionFactory(technician=tech, reported_at=utcnow() - timedelta(hours=30))
    kept = TechnicianPositionFactory(technician=tech, reported_at=utcnow() - timedelta(hours=2))
    others = TechnicianPositionFactory(technician=other, reported_at=utcnow() - timedelta(hours=30))
    new = report(tech)
    left = set(db.session.scalars(select(TechnicianPosition.id)))
    assert left == {kept.id, others.id, new.id}


# --- The matching engine -----------------------------------------------------------------------


def test_a_fresh_position_makes_the_nearer_technician_win(app, system_actor):
    home_near = ms.technician("Home Near", at=ms.km_east(2))
    out_far = ms.technician("Out Far", at=ms.km_east(60))
    dispatch = ms.dispatch()
    assert matching.rank(dispatch).outcome.ranked[0].technician_id == home_near.id
    # Out Far's phone says they are at the job's yard right now.
    TechnicianPositionFactory(technician=db.session.get(User, out_far.id), latitude=ms.LEEDS[0],
                              longitude=ms.LEEDS[1], reported_at=utcnow() - timedelta(minutes=3))
    ranking = matching.rank(dispatch)
    assert ranking.outcome.ranked[0].technician_id == out_far.id
    assert set(ranking.loaded.positions) == {out_far.id}
    view = matching.engine_view(ranking, out_far.id)
    assert view.km == pytest.approx(0.0, abs=0.01)


def test_a_stale_position_falls_back_to_the_home_base(app, system_actor):
    home_near = ms.technician("Home Near", at=ms.km_east(2))
    out_far = ms.technician("Out Far", at=ms.km_east(60))
    dispatch = ms.dispatch()
    TechnicianPositionFactory(technician=db.session.get(User, out_far.id), latitude=ms.LEEDS[0],
                              longitude=ms.LEEDS[1], reported_at=utcnow() - timedelta(minutes=31))
    ranking = matching.rank(dispatch)
    assert ranking.outcome.ranked[0].technician_id == home_near.id
    assert ranking.loaded.positions == {}
    assert matching.engine_view(ranking, out_far.id).km == pytest.approx(60.0, rel=0.01)


def test_the_latest_fresh_position_counts_and_the_age_is_configurable(app, system_actor):
    home_near = ms.technician("Home Near", at=ms.km_east(2))
    mover = ms.technician("Mover", at=ms.km_east(60))
    dispatch = ms.dispatch()
    user = db.session.get(User, mover.id)
    TechnicianPositionFactory(technician=user, latitude=ms.LEEDS[0], longitude=ms.LEEDS[1],
                              reported_at=utcnow() - timedelta(minutes=12))
    TechnicianPositionFactory(technician=user, latitude=ms.km_east(80)[0], longitude=ms.km_east(80)[1],
                              reported_at=utcnow() - timedelta(minutes=2))
    view = matching.engine_view(matching.rank(dispatch), mover.id)
    assert view.km == pytest.approx(80.0, rel=0.01)  # the later fix wins, wherever it is

    app.config["MOTORPOOL_POSITION_MAX_AGE_MINUTES"] = 1
    ranking = matching.rank(dispatch)
    assert ranking.loaded.positions == {}
    assert ranking.outcome.ranked[0].technician_id == home_near.id


# --- My work ---------------------------------------------------------------------------------


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Field")


def test_my_work_offers_the_button_and_says_nothing_was_shared(client, auth, technician):
    auth.login(technician)
    page = client.get("/dispatches/mine").get_data(as_text=True)
    assert "data-share-location-button" in page and "Share my location" in page
    assert 'action="/dispatches/mine/position"' in page
    assert "Not shared yet" in page
    assert "<script>" not in page  # the content security policy allows no inline script


def test_sharing_from_my_work_records_it_and_shows_when(client, auth, technician):
    auth.login(technician)
    taken = utcnow() - timedelta(seconds=10)
    response = client.post("/dispatches/mine/position", data={
        "latitude": "53.8001000", "longitude": "-1.5499000", "accuracy_m": "18.0",
        "taken_at_ms": str(int(taken.timestamp() * 1000))})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dispatches/mine")
    page = client.get("/dispatches/mine").get_data(as_text=True)
    assert "Location shared (within 18 m)" in page
    assert "Last shared" in page and "(within 18 m)" in page
    stored = db.session.scalars(select(TechnicianPosition)).one()
    assert (stored.technician_id, stored.latitude, stored.longitude) == (technician.id, 53.8001, -1.5499)
    assert abs((stored.reported_at - taken).total_seconds()) < 0.01


@pytest.mark.parametrize(("data", "words"), [
    ({}, "allow this site to use your location"),
    ({"latitude": "abc", "longitude": "-1.5", "taken_at_ms": "1"}, "Latitude must be a number"),
    ({"latitude": "1e-7", "longitude": "-1.5", "taken_at_ms": "1"}, "Latitude must be a number"),
    ({"latitude": "95", "longitude": "-1.5", "taken_at_ms": "now"}, "whole number"),
    ({"latitude": "95", "longitude": "-1.5", "taken_at_ms": "{now}"}, "outside -90 to 90"),
    ({"latitude": "53.8", "longitude": "-1.5", "taken_at_ms": "99999999999999"}, "in the future"),
    ({"latitude": "53.8", "longitude": "-1.5", "taken_at_ms": "0"}, "more than a day old"),
])
def test_bad_shares_are_refused_on_the_page_and_nothing_is_written(client, auth, technician, data, words):
    auth.login(technician)
    if data.get("taken_at_ms") == "{now}":
        data = {**data, "taken_at_ms": str(int(utcnow().timestamp() * 1000))}
    response = client.post("/dispatches/mine/position", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert words in page.replace("&#39;", "'")
    assert 'id="position-error"' in page
    assert positions() == 0


def test_managers_cannot_share_a_location(client, auth, app):
    manager = ManagerFactory()
    auth.login(manager)
    assert client.post("/dispatches/mine/position", data={"latitude": "1", "longitude": "1",
                                                          "taken_at_ms": "1"}).status_code == 403
    assert positions() == 0


def _token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_share_needs_the_csrf_token(make_app, technician):
    strict = make_app(WTF_CSRF_ENABLED=True)
    share = {"latitude": "53.8", "longitude": "-1.5", "taken_at_ms": str(int(utcnow().timestamp() * 1000))}
    with strict.test_client() as client:
        login = client.get("/auth/login").get_data(as_text=True)
        client.post("/auth/login", data={"email": technician.email, "password": "correct horse battery",
                                         "csrf_token": _token(login)})
        page = client.get("/dispatches/mine").get_data(as_text=True)
        assert "Share my location" in page  # signed in
        assert client.post("/dispatches/mine/position", data=share).status_code == 400
        assert positions() == 0
        response = client.post("/dispatches/mine/position", data={**share, "csrf_token": _token(page)})
        assert response.status_code == 302
    assert positions() == 1


def test_only_my_work_may_ask_for_the_location(client, auth, technician):
    auth.login(technician)
    mine = client.get("/dispatches/mine").headers["Permissions-Policy"]
    assert "geolocation=(self)" in mine and "camera=()" in mine
    refused = client.post("/dispatches/mine/position", data={})
    assert "geolocation=(self)" in refused.headers["Permissions-Policy"]  # the page shown again can retry
    assert "geolocation=()" in client.get("/account/").headers["Permissions-Policy"]
