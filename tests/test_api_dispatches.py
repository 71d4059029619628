"""The dispatch resources: the same rules as the pages, for every role, with ETags and idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import ApiToken, Availability, Dispatch, IdempotencyKey, utcnow
from app.services import dispatches as dispatch_service
from tests import matching_support as ms
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import (
    AdminFactory, AssetFactory, DispatchFactory, ManagerFactory, configured_truck_type,
)


@pytest.fixture
def people(app, system_actor):
    technician = ms.technician("Own Tech")
    return {
        "manager": ManagerFactory(), "admin": AdminFactory(), "technician": technician,
        "other": ms.technician("Other Tech"),
    }


@pytest.fixture
def tokens(people):
    return {role: token_for(user) for role, user in people.items()}


@pytest.fixture
def truck_asset(app):
    return AssetFactory(asset_type=configured_truck_type())


def _get(client, path, secret, **headers):
    return client.get(path, headers=bearer(secret, **headers))


def test_list_pages_with_links_total_and_filters(app, people, tokens, truck_asset):
    for n in range(5):
        DispatchFactory(asset=truck_asset, title=f"Job {n}", priority="High" if n % 2 else "Low")
    client = app.test_client()
    response = _get(client, "/api/v1/dispatches?per_page=2&page=2&sort=title", tokens["manager"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 5 and body["pages"] == 3 and body["page"] == 2
    assert [d["title"] for d in body["items"]] == ["Job 2", "Job 3"]
    assert response.headers["X-Total-Count"] == "5"
    link = response.headers["Link"]
    assert 'rel="next"' in link and 'rel="prev"' in link and "sort=title" in link and "page=3" in link
    high = _get(client, "/api/v1/dispatches?priority=High", tokens["manager"]).get_json()
    assert high["total"] == 2 and {d["priority"] for d in high["items"]} == {"High"}
    past = _get(client, "/api/v1/dispatches?page=9", tokens["manager"]).get_json()
    assert past["items"] == [] and past["total"] == 5


def test_technicians_list_and_read_only_their_own(app, people, tokens, truck_asset, system_actor):
    mine = DispatchFactory(asset=truck_asset)
    DispatchFactory(asset=truck_asset)
    dispatch_service.assign(mine, people["technician"])
    client = app.test_client()
    body = _get(client, "/api/v1/dispatches", tokens["technician"]).get_json()
    assert [d["number"] for d in body["items"]] == [mine.dispatch_number]
    assert _get(client, "/api/v1/dispatches", tokens["other"]).get_json()["total"] == 0
    assert _get(client, f"/api/v1/dispatches/{mine.dispatch_number}", tokens["technician"]).status_code == 200
    assert_problem(_get(client, f"/api/v1/dispatches/{mine.dispatch_number}", tokens["other"]), 404)
    assert_problem(_get(client, f"/api/v1/dispatches?technician={people['other'].id}", tokens["technician"]), 403)


def test_list_issues_a_constant_number_of_queries(app, people, tokens, truck_asset):
    client = app.test_client()

    def count(per_page: int) -> int:
        statements = []
        listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert _get(client, f"/api/v1/dispatches?per_page={per_page}", tokens["manager"]).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    for _ in range(12):
        DispatchFactory(asset=truck_asset)
    count(1)  # the token's first use is noted once
    assert count(2) == count(12)


def test_get_shows_checklists_history_assignments_and_etag(app, people, tokens, truck_asset, system_actor):
    dispatch = DispatchFactory(asset=truck_asset)
    from app.services import matching

    matching.assign_to(dispatch, people["technician"].id)
    response = _get(app.test_client(), f"/api/v1/dispatches/{dispatch.dispatch_number}", tokens["manager"])
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert [c["table_name"] for c in body["checklists"]] == ["truck_dispatch_checklists"]
    assert body["checklists"][0]["detail_id"] and "tires_checked" in body["checklists"][0]["answers"]
    assert [h["status_to"] for h in body["history"]] == ["Created", "Assigned"]
    assert body["assignments"][0]["technician"]["id"] == people["technician"].id
    assert body["assignments"][0]["mode"] == "manual"


@pytest.mark.parametrize("number", ["D-2026-999999", "nope", "D-2026-1%27", "x" * 300])
def test_unknown_numbers_are_404(app, tokens, number):
    assert_problem(_get(app.test_client(), f"/api/v1/dispatches/{number}", tokens["manager"]), 404)


def test_create_201_with_location_and_checklists(app, people, tokens, truck_asset):
    client = app.test_client()
    response = client.post("/api/v1/dispatches", headers=bearer(tokens["manager"]),
                           json={"title": "Brake check", "asset_id": truck_asset.id, "priority": "High"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/dispatches/{body['number']}"
    assert [c["label"] for c in body["checklists"]] and body["status"] == "Created"
    assert db.session.scalar(select(func.count(Dispatch.id))) == 1


def test_create_refusals_name_the_field_and_change_nothing(app, people, tokens, truck_asset):
    client = app.test_client()
    for body, field in (({"title": "x", "asset_id": 999999}, "asset_id"),
                        ({"title": "  ", "asset_id": truck_asset.id}, "title"),
                        ({"title": "x", "asset_id": truck_asset.id, "required_skill": "Juggling"}, "required_skill"),
                        ({"title": "x", "asset_id": truck_asset.id,
                          "due_date": (utcnow() + timedelta(days=365 * 7)).isoformat()}, "due_date")):
        refused = client.post("/api/v1/dispatches", headers=bearer(tokens["manager"]), json=body)
        problem = assert_problem(refused, 422)
        assert field in problem.get("errors", {}), problem
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0
    assert_problem(client.post("/api/v1/dispatches", headers=bearer(tokens["technician"]),
                               json={"title": "x", "asset_id": truck_asset.id}), 403)


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(app, people, tokens, truck_asset):
    client = app.test_client()
    body = {"title": "Once only", "asset_id": truck_asset.id}
    headers = bearer(tokens["manager"], **{"Idempotency-Key": "abc-123"})
    first = client.post("/api/v1/dispatches", headers=headers, json=body)
    again = client.post("/api/v1/dispatches", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json() and again.headers["Location"] == first.headers["Location"]
    assert db.session.scalar(select(func.count(Dispatch.id))) == 1
    other = client.post("/api/v1/dispatches", headers=headers, json={**body, "title": "Twice"})
    assert_problem(other, 422, "another request body")
    # Another caller's key of the same name is theirs alone.
    admin = client.post("/api/v1/dispatches", headers=bearer(tokens["admin"], **{"Idempotency-Key": "abc-123"}),
                        json=body)
    assert admin.status_code == 201 and admin.get_json()["number"] != first.get_json()["number"]
    assert db.session.scalar(select(func.count(Dispatch.id))) == 2


def test_an_idempotency_key_older_than_a_day_is_forgotten(app, people, tokens, truck_asset):
    client = app.test_client()
    headers = bearer(tokens["manager"], **{"Idempotency-Key": "old"})
    body = {"title": "Old", "asset_id": truck_asset.id}
    assert client.post("/api/v1/dispatches", headers=headers, json=body).status_code == 201
    row = db.session.scalar(select(IdempotencyKey))
    row.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    assert client.post("/api/v1/dispatches", headers=headers, json=body).status_code == 201
    assert db.session.scalar(select(func.count(Dispatch.id))) == 2


def test_a_refused_create_keeps_no_key(app, people, tokens, truck_asset):
    client = app.test_client()
    headers = bearer(tokens["manager"], **{"Idempotency-Key": "k1"})
    assert client.post("/api/v1/dispatches", headers=headers, json={"title": "x", "asset_id": 999999}).status_code == 422
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0
    assert_problem(client.post("/api/v1/dispatches", headers=bearer(tokens["manager"], **{"Idempotency-Key": "a b"}),
                               json={"title": "x", "asset_id": truck_asset.id}), 400)


def test_patch_needs_if_match_and_refuses_a_stale_one(app, people, tokens, truck_asset):
    dispatch = DispatchFactory(asset=truck_asset, title="Old title")
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    assert_problem(client.patch(path, headers=bearer(tokens["manager"]), json={"title": "New"}), 428, "If-Match")
    assert_problem(client.patch(path, headers=bearer(tokens["manager"], **{"If-Match": '"999"'}),
                                json={"title": "New"}), 412)
    tag = _get(client, path, tokens["manager"]).headers["ETag"]
    changed = client.patch(path, headers=bearer(tokens["manager"], **{"If-Match": tag}),
                           json={"title": "New", "priority": "Critical", "priority_reason": "Customer waiting"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["title"] == "New" and changed.get_json()["priority"] == "Critical"
    assert changed.headers["ETag"] != tag
    stale = client.patch(path, headers=bearer(tokens["manager"], **{"If-Match": tag}), json={"title": "Lost"})
    assert_problem(stale, 412)
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).title == "New"


def test_patch_refusals(app, people, tokens, truck_asset):
    dispatch = DispatchFactory(asset=truck_asset)
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    tag = _get(client, path, tokens["manager"]).headers["ETag"]
    headers = bearer(tokens["manager"], **{"If-Match": tag})
    assert "priority_reason" in assert_problem(client.patch(path, headers=headers, json={"priority": "High"}),
                                               422)["errors"]
    assert_problem(client.patch(path, headers=headers, json={}), 422)
    past = (dispatch.created_date - timedelta(days=1)).isoformat()
    assert "due_date" in assert_problem(client.patch(path, headers=headers, json={"due_date": past}), 422)["errors"]
    assert_problem(client.patch(path, headers=bearer(tokens["technician"], **{"If-Match": tag}),
                                json={"title": "x"}), 403)


def test_transitions_refused_name_the_allowed_states(app, people, tokens, truck_asset):
    dispatch = DispatchFactory(asset=truck_asset)
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    tag = _get(client, path, tokens["manager"]).headers["ETag"]
    refused = client.post(f"{path}/transitions", headers=bearer(tokens["manager"], **{"If-Match": tag}),
                          json={"status": "Completed"})
    body = assert_problem(refused, 409, "Allowed next states")
    assert body["allowed"] == ["Assigned", "Cancelled"]
    assert_problem(client.post(f"{path}/transitions", headers=bearer(tokens["manager"]), json={"status": "Cancelled"}),
                   428)
    no_reason = client.post(f"{path}/transitions", headers=bearer(tokens["manager"], **{"If-Match": tag}),
                            json={"status": "Cancelled"})
    assert "reason" in assert_problem(no_reason, 422)["errors"]
    done = client.post(f"{path}/transitions", headers=bearer(tokens["manager"], **{"If-Match": tag}),
                       json={"status": "Cancelled", "reason": "Duplicate"})
    assert done.status_code == 200 and done.get_json()["status"] == "Cancelled"


def test_technician_moves_own_work_forward_only(app, people, tokens, truck_asset, system_actor):
    dispatch = DispatchFactory(asset=truck_asset)
    dispatch_service.assign(dispatch, people["technician"])
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    tag = _get(client, path, tokens["technician"]).headers["ETag"]
    assert_problem(client.post(f"{path}/transitions", headers=bearer(tokens["technician"], **{"If-Match": tag}),
                               json={"status": "Cancelled", "reason": "no"}), 403)
    assert_problem(client.post(f"{path}/transitions", headers=bearer(tokens["other"], **{"If-Match": tag}),
                               json={"status": "En Route"}), 404)
    moved = client.post(f"{path}/transitions", headers=bearer(tokens["technician"], **{"If-Match": tag}),
                        json={"status": "En Route"})
    assert moved.status_code == 200 and moved.get_json()["status"] == "En Route"


def test_bulk_transitions_report_each_item(app, people, tokens, truck_asset):
    first, second = DispatchFactory(asset=truck_asset), DispatchFactory(asset=truck_asset)
    client = app.test_client()
    response = client.post("/api/v1/dispatches/bulk-transitions", headers=bearer(tokens["manager"]), json={
        "numbers": [first.dispatch_number, "D-2000-000999", second.dispatch_number],
        "status": "Cancelled", "reason": "Fleet sold"})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert "no dispatch" in results[1]["message"]
    assert_problem(client.post("/api/v1/dispatches/bulk-transitions", headers=bearer(tokens["technician"]),
                               json={"numbers": [first.dispatch_number], "status": "Cancelled", "reason": "x"}), 403)


def test_assignment_manual_automatic_override_and_unassign(app, people, tokens, system_actor):
    dispatch = ms.dispatch()
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    headers = lambda secret: bearer(secret, **{"If-Match": _get(client, path, tokens["manager"]).headers["ETag"]})  # noqa: E731
    auto = client.post(f"{path}/assignment", headers=headers(tokens["manager"]), json={"automatic": True})
    assert auto.status_code == 200, auto.get_data(as_text=True)
    assert auto.get_json()["mode"] == "auto" and auto.get_json()["technician"]["id"] in (
        people["technician"].id, people["other"].id)
    both = client.post(f"{path}/assignment", headers=headers(tokens["manager"]),
                       json={"automatic": True, "technician_id": people["other"].id})
    assert_problem(both, 422)
    back = client.delete(f"{path}/assignment?reason=Rethink", headers=headers(tokens["manager"]))
    assert back.status_code == 200 and back.get_json()["status"] == "Created"
    unskilled = ms.technician("No Skill", skills={})
    override = client.post(f"{path}/assignment", headers=headers(tokens["manager"]),
                           json={"technician_id": unskilled.id})
    assert "reason" in assert_problem(override, 422, "reason")["errors"]
    done = client.post(f"{path}/assignment", headers=headers(tokens["manager"]),
                       json={"technician_id": unskilled.id, "reason": "Only one on site"})
    assert done.status_code == 200 and done.get_json()["mode"] == "override"
    assert_problem(client.post(f"{path}/assignment", headers=headers(tokens["technician"]),
                               json={"automatic": True}), 403)


def test_automatic_assignment_with_nobody_eligible_is_409(app, people, tokens, system_actor):
    for technician in (people["technician"], people["other"]):
        ms.profile_of(technician).availability = Availability.UNAVAILABLE.value
    db.session.commit()
    dispatch = ms.dispatch()
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    tag = _get(client, path, tokens["manager"]).headers["ETag"]
    refused = client.post(f"{path}/assignment", headers=bearer(tokens["manager"], **{"If-Match": tag}),
                          json={"automatic": True})
    assert_problem(refused, 409, "No technician")
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).status == "Created"


def test_candidates_rank_with_breakdown_and_exclusions(app, people, tokens, system_actor):
    ms.technician("Away Tech", availability=Availability.UNAVAILABLE.value)
    dispatch = ms.dispatch()
    response = _get(app.test_client(), f"/api/v1/dispatches/{dispatch.dispatch_number}/candidates", tokens["manager"])
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["candidates"] and body["candidates"][0]["rank"] == 1
    assert {f["name"] for f in body["candidates"][0]["factors"]} >= {"skill", "distance"}
    assert any(row["technician"]["name"] == "Away Tech" for row in body["excluded"])
    assert_problem(_get(app.test_client(), f"/api/v1/dispatches/{dispatch.dispatch_number}/candidates",
                        tokens["technician"]), 403)


def test_decline_by_the_assigned_technician(app, people, tokens, system_actor):
    dispatch = ms.dispatch()
    dispatch_service.assign(dispatch, people["technician"])
    client = app.test_client()
    path = f"/api/v1/dispatches/{dispatch.dispatch_number}"
    tag = _get(client, path, tokens["technician"]).headers["ETag"]
    assert_problem(client.post(f"{path}/decline", headers=bearer(tokens["manager"], **{"If-Match": tag}), json={}), 403)
    assert_problem(client.post(f"{path}/decline", headers=bearer(tokens["other"], **{"If-Match": tag}), json={}), 404)
    declined = client.post(f"{path}/decline", headers=bearer(tokens["technician"], **{"If-Match": tag}),
                           json={"reason": "Van broke down"})
    assert declined.status_code == 200, declined.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).assigned_user_id != people["technician"].id


def test_recent_assignments_page(app, people, tokens, system_actor):
    for _ in range(3):
        from app.services import matching

        matching.assign_to(ms.dispatch(), people["technician"].id)
    client = app.test_client()
    response = _get(client, "/api/v1/assignments?per_page=2", tokens["manager"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 3 and len(body["items"]) == 2 and response.headers["X-Total-Count"] == "3"
    assert_problem(_get(client, "/api/v1/assignments", tokens["technician"]), 403)


def test_retention_deletes_idempotency_keys_after_a_day(app, system_actor):
    from app.services import retention
    from tests.factories import IdempotencyKeyFactory

    old, fresh = IdempotencyKeyFactory(), IdempotencyKeyFactory()
    old.created_at = utcnow() - timedelta(hours=25)
    db.session.commit()
    report = retention.prune()
    assert report.idempotency_keys == 1 and "1 API idempotency keys" in str(report)
    assert [k.id for k in db.session.scalars(select(IdempotencyKey))] == [fresh.id]


def test_a_key_whose_first_request_is_still_running_is_409(app, people, tokens, truck_asset):
    import hashlib
    import json

    from tests.factories import IdempotencyKeyFactory

    body = {"title": "Slow", "asset_id": truck_asset.id}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.owner_id == people["manager"].id))
    IdempotencyKeyFactory(scope=f"token:{token_id}", key="busy", user=people["manager"], status_code=0,
                          response_body="",
                          request_hash=hashlib.sha256(f"POST /api/v1/dispatches\n{canonical}".encode()).hexdigest())
    response = app.test_client().post("/api/v1/dispatches", json=body,
                                      headers=bearer(tokens["manager"], **{"Idempotency-Key": "busy"}))
    assert_problem(response, 409, "still being answered")
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0


def test_reading_one_dispatch_costs_the_same_queries_however_long_its_history(app, people, tokens, system_actor):
    from app.services import matching

    short, long = ms.dispatch(), ms.dispatch()
    for _ in range(3):
        matching.assign_to(long, people["technician"].id)
        dispatch_service.unassign(long, "again")
    client = app.test_client()
    _get(client, "/api/v1/dispatches", tokens["manager"])  # the token's first use is noted once

    def count(number: str) -> int:
        statements = []
        listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert _get(client, f"/api/v1/dispatches/{number}", tokens["manager"]).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    assert count(short.dispatch_number) == count(long.dispatch_number)


@pytest.mark.parametrize("technician", ["2147483648", "5037172614", "0", "007"])
def test_a_technician_filter_no_column_can_hold_is_a_422_on_every_backend(app, tokens, technician):
    """Not a database error (PostgreSQL refuses an integer that large): the filter names its field."""
    response = _get(app.test_client(), f"/api/v1/dispatches?technician={technician}", tokens["manager"])
    assert "technician" in assert_problem(response, 422)["errors"]


def test_the_largest_id_is_still_a_technician_filter(app, tokens):
    response = _get(app.test_client(), "/api/v1/dispatches?technician=2147483647", tokens["manager"])
    assert response.status_code == 200 and response.get_json()["total"] == 0
