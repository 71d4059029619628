"""The events feed over the API: cursor paging with Link, type filter, role scope, refusals."""

from __future__ import annotations

from app.extensions import db
from app.models import Event
from app.services import dispatches
from app.services.actors import acting_as
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import AssetFactory, DispatchFactory, ManagerFactory, TechnicianFactory, configured_truck_type


def _events(*types):
    for n, event_type in enumerate(types):
        db.session.add(Event(event_type=event_type, description=f"event {n}"))
    db.session.commit()


def test_pages_follow_the_cursor_with_a_next_link(app):
    db.session.query(Event).delete()
    _events("dispatch.created", "alert.raised", "dispatch.created")
    client = app.test_client()
    secret = token_for(ManagerFactory())
    first = client.get("/api/v1/events?limit=2", headers=bearer(secret))
    assert first.status_code == 200
    body = first.get_json()
    assert [e["data"]["description"] for e in body["items"]] == ["event 0", "event 1"] and body["has_more"]
    link = first.headers["Link"]
    assert 'rel="next"' in link and f"after={body['next']}" in link and "limit=2" in link
    second = client.get(link.split(">")[0].lstrip("<"), headers=bearer(secret)).get_json()
    assert [e["data"]["description"] for e in second["items"]] == ["event 2"] and not second["has_more"]
    only = client.get("/api/v1/events?types=alert.raised", headers=bearer(secret)).get_json()
    assert [e["type"] for e in only["items"]] == ["alert.raised"]


def test_technicians_see_only_their_dispatches_events(app, system_actor):
    technician = TechnicianFactory()
    truck = configured_truck_type()
    mine, other = DispatchFactory(asset=AssetFactory(asset_type=truck)), DispatchFactory(asset=AssetFactory(asset_type=truck))
    with acting_as(system_actor):
        dispatches.assign(mine, technician)
    db.session.add_all([Event(event_type="dispatch.created", dispatch_id=mine.id, description="mine"),
                        Event(event_type="dispatch.created", dispatch_id=other.id, description="other")])
    db.session.commit()
    body = app.test_client().get("/api/v1/events?limit=500", headers=bearer(token_for(technician))).get_json()
    numbers = {e["dispatch_number"] for e in body["items"]}
    assert numbers == {mine.dispatch_number}


def test_refusals_name_the_parameter(app):
    client = app.test_client()
    secret = token_for(ManagerFactory())
    assert "after" in assert_problem(client.get("/api/v1/events?after=nonsense!", headers=bearer(secret)), 422,
                                     "not one this feed gave")["errors"]
    assert "types" in assert_problem(client.get("/api/v1/events?types=Bad Type", headers=bearer(secret)), 422)["errors"]
    assert "limit" in assert_problem(client.get("/api/v1/events?limit=501", headers=bearer(secret)), 422)["errors"]
    assert_problem(client.get("/api/v1/events"), 401)
