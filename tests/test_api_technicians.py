"""Technicians over the API: profiles, skills and availability (managers read, admins change, a
technician sees their own), and the position a technician reports — the services' rules, each
refusal named, nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.extensions import db
from app.models import Dispatch, Skill, TechnicianPosition, TechnicianProfile, TechnicianSkill, utcnow
from app.services import dispatches
from app.services.actors import acting_as
from tests import matching_support as ms
from tests.api_support import assert_problem, bearer, send, token_for
from tests.factories import AdminFactory, AssetFactory, DispatchFactory, MajorLocationFactory, ManagerFactory, \
    SkillFactory, TechnicianFactory, configured_truck_type

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


# --- Profiles, skills and availability ------------------------------------------------------


@pytest.fixture
def admin(app):
    return token_for(AdminFactory())


def _profile_state(user_id: int) -> tuple:
    db.session.expire_all()
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == user_id))
    if profile is None:
        return None
    skills = sorted(db.session.execute(select(TechnicianSkill.skill_id, TechnicianSkill.level)
                                       .where(TechnicianSkill.technician_profile_id == profile.id)).all())
    return (profile.home_latitude, profile.home_longitude, profile.hourly_rate, profile.overtime_multiplier,
            profile.shift_days, profile.shift_start, profile.shift_end, profile.max_concurrent_dispatches,
            profile.max_hours_per_week, profile.availability, profile.unavailable_reason, profile.unavailable_until,
            [tuple(s) for s in skills])


def test_managers_list_technicians_with_profiles_skills_and_filters(app):
    ms.technician("Dee Diesel", skills={"diesel": 4})
    ms.technician("Ray Reefer", skills={"refrigeration": 2}, availability="Unavailable")
    TechnicianFactory(name="Nell New")  # no profile yet
    manager = token_for(ManagerFactory())
    listed = send(app, "GET", "/api/v1/technicians?per_page=100", manager)
    assert listed.status_code == 200, listed.get_json()
    by_name = {t["name"]: t for t in listed.get_json()["items"]}
    assert set(by_name) == {"Dee Diesel", "Ray Reefer", "Nell New"}
    assert by_name["Nell New"]["profile"] is None and by_name["Nell New"]["skills"] == []
    dee = by_name["Dee Diesel"]
    assert [(s["name"], s["level"]) for s in dee["skills"]] == [("diesel", 4)]
    assert (dee["profile"]["home_latitude"], dee["profile"]["hourly_rate"]) == (ms.LEEDS[0], 40.0)
    assert dee["profile"]["availability"] == "Available" and dee["profile"]["shift_start"]
    unavailable = send(app, "GET", "/api/v1/technicians?availability=Unavailable", manager).get_json()
    assert [t["name"] for t in unavailable["items"]] == ["Ray Reefer"]
    diesel_id = dee["skills"][0]["skill_id"]
    holding = send(app, "GET", f"/api/v1/technicians?skill={diesel_id}&q=dee", manager)
    assert [t["name"] for t in holding.get_json()["items"]] == ["Dee Diesel"]
    assert holding.headers["X-Total-Count"] == "1"
    assert_problem(send(app, "GET", "/api/v1/technicians?availability=Away", manager), 422)


def test_a_skill_filter_naming_no_skill_is_refused_as_the_asset_filters_are(app):
    """An unknown id narrows nothing: a 422 that names it, not an empty list read as "nobody"."""
    ms.technician("Dee Diesel", skills={"diesel": 4})
    manager = token_for(ManagerFactory())
    missing = (db.session.scalar(select(func.max(Skill.id))) or 0) + 1
    body = assert_problem(send(app, "GET", f"/api/v1/technicians?skill={missing}", manager), 422,
                          f"There is no skill #{missing}", "GET /api/v1/skills")
    assert list(body["errors"]) == ["skill"]


def test_listing_technicians_takes_the_same_queries_whatever_their_number(app):
    manager = token_for(ManagerFactory())
    client = app.test_client()
    client.get("/api/v1/technicians", headers=bearer(manager))  # warm up the token's first use

    def statements() -> int:
        seen = []

        def listener(*args) -> None:
            seen.append(args[2])

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert client.get("/api/v1/technicians?per_page=100", headers=bearer(manager)).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    ms.technician(skills={"diesel": 3})
    few = statements()
    for n in range(6):
        ms.technician(skills={"diesel": 3, f"skill {n}": 2})
    assert statements() == few


def test_a_technician_sees_their_own_profile_only_and_no_admin_resource(app, technician):
    other = ms.technician("Other Otto")
    own = token_for(technician)
    assert send(app, "GET", f"/api/v1/technicians/{technician.id}", own).status_code == 200
    assert send(app, "GET", f"/api/v1/technicians/{technician.id}/skills", own).get_json() == []
    assert_problem(send(app, "GET", f"/api/v1/technicians/{other.id}", own), 404, "own profile")
    assert_problem(send(app, "GET", f"/api/v1/technicians/{other.id}/skills", own), 404)
    assert_problem(send(app, "GET", "/api/v1/technicians", own), 403)
    for path in ("/api/v1/users", f"/api/v1/users/{technician.id}", "/api/v1/skills", "/api/v1/asset-types"):
        assert_problem(send(app, "GET", path, own), 403)
    before = _profile_state(other.id)
    assert_problem(send(app, "PATCH", f"/api/v1/technicians/{technician.id}", own, {"hourly_rate": 90}), 403)
    assert_problem(send(app, "PUT", f"/api/v1/technicians/{other.id}/availability", own,
                         {"available": False, "reason": "Holiday"}), 403)
    assert _profile_state(other.id) == before


def test_an_admin_changes_a_profile_with_the_current_etag(app, admin):
    tech = ms.technician("Pete Profile")
    path = f"/api/v1/technicians/{tech.id}"
    read = send(app, "GET", path, admin)
    assert_problem(send(app, "PATCH", path, admin, {"hourly_rate": 50}, If_Match=""), 428, "If-Match")
    changed = send(app, "PATCH", path, admin, {"hourly_rate": 55.5, "overtime_multiplier": 2, "shift_days": "135",
                                                "shift_start": "06:30", "shift_end": "14:30",
                                                "max_concurrent_dispatches": 5, "max_hours_per_week": 30})
    assert changed.status_code == 200, changed.get_json()
    profile = changed.get_json()["profile"]
    assert (profile["hourly_rate"], profile["overtime_multiplier"], profile["shift_days"], profile["shift_start"],
            profile["max_concurrent_dispatches"], profile["max_hours_per_week"]) == (55.5, 2, "135", "06:30:00", 5, 30)
    assert changed.headers["ETag"] != read.headers["ETag"]
    before = _profile_state(tech.id)
    assert_problem(send(app, "PATCH", path, admin, {"hourly_rate": 60}, If_Match=read.headers["ETag"]), 412,
                   "changed since")
    assert _profile_state(tech.id) == before


def test_the_first_change_creates_the_profile_and_a_location_sets_the_home_base(app, admin):
    new = TechnicianFactory(name="Fay First")
    depot = MajorLocationFactory(name="South depot", latitude=50.9, longitude=-1.4)
    changed = send(app, "PATCH", f"/api/v1/technicians/{new.id}", admin, {"home_location_id": depot.id})
    assert changed.status_code == 200, changed.get_json()
    profile = changed.get_json()["profile"]
    assert (profile["home_latitude"], profile["home_longitude"], profile["max_concurrent_dispatches"]) == (50.9, -1.4, 3)


@pytest.mark.parametrize(("body", "fields", "words"), [
    ({"hourly_rate": -1, "overtime_multiplier": 0.5, "shift_days": "118"},
     {"hourly_rate", "overtime_multiplier", "shift_days"}, "negative"),
    ({"max_hours_per_week": 0}, {"max_hours_per_week"}, "between 0 and 168"),
    ({"home_latitude": 95}, {"home_latitude"}, "outside -90 to 90"),
    ({"max_concurrent_dispatches": 101}, {"max_concurrent_dispatches"}, "At most 100"),
    ({"home_location_id": 1, "home_latitude": 50}, {"home_location_id"}, "not both"),
    ({"shift_start": "25:00"}, {"shift_start"}, ""),
    ({"active_dispatch_count": 0}, {"active_dispatch_count"}, ""),
])
def test_refused_profile_values_are_named_and_nothing_changes(app, admin, body, fields, words):
    tech = ms.technician("Rita Refused")
    before = _profile_state(tech.id)
    problem = assert_problem(send(app, "PATCH", f"/api/v1/technicians/{tech.id}", admin, body), 422, words)
    assert set(problem["errors"]) == fields, problem
    assert _profile_state(tech.id) == before


def test_home_location_without_coordinates_and_capacity_below_held_work_are_refused(app, admin, system_actor):
    tech = ms.technician("Cap Carla", max_concurrent=2)
    bare = MajorLocationFactory(name="Unmapped yard", latitude=None, longitude=None)
    truck = configured_truck_type()
    with acting_as(system_actor):
        for _ in range(2):
            dispatches.assign(DispatchFactory(asset=AssetFactory(asset_type=truck)), tech)
    before = _profile_state(tech.id)
    path = f"/api/v1/technicians/{tech.id}"
    problem = assert_problem(send(app, "PATCH", path, admin, {"home_location_id": bare.id}), 422, "no coordinates")
    assert "home_location_id" in problem["errors"]
    problem = assert_problem(send(app, "PATCH", path, admin, {"max_concurrent_dispatches": 1}), 422,
                             "cannot be lower")
    assert "max_concurrent_dispatches" in problem["errors"]
    assert _profile_state(tech.id) == before
    assert_problem(send(app, "PATCH", f"/api/v1/technicians/{ManagerFactory().id}", admin, {"hourly_rate": 1},
                         If_Match="*"), 404, "no technician")


def test_an_admin_sets_changes_and_removes_a_skill_level(app, admin):
    tech = ms.technician("Sid Skills", skills={})
    welding = SkillFactory(name="Welding", category="Fabrication")
    path = f"/api/v1/technicians/{tech.id}/skills/{welding.id}"
    given = send(app, "PUT", path, admin, {"level": 2})
    assert given.status_code == 200, given.get_json()
    assert given.get_json() == {"skill_id": welding.id, "name": "Welding", "category": "Fabrication", "level": 2}
    read = send(app, "GET", path, token_for(tech))  # their own
    assert read.get_json()["level"] == 2 and read.headers["ETag"] == given.headers["ETag"]
    assert send(app, "PUT", path, admin, {"level": 5}).get_json()["level"] == 5
    held = send(app, "GET", f"/api/v1/technicians/{tech.id}/skills", token_for(ManagerFactory())).get_json()
    assert [(s["name"], s["level"]) for s in held] == [("Welding", 5)]
    assert_problem(send(app, "DELETE", path, admin, If_Match=""), 428, "If-Match")
    assert_problem(send(app, "DELETE", path, admin, If_Match=read.headers["ETag"]), 412, "changed since")
    assert _profile_state(tech.id)[-1] == [(welding.id, 5)]
    removed = send(app, "DELETE", path, admin)
    assert removed.status_code == 204
    assert _profile_state(tech.id)[-1] == []
    assert_problem(send(app, "DELETE", path, admin, If_Match="*"), 404, "does not hold")
    assert_problem(send(app, "GET", path, admin), 404, "does not hold")


@pytest.mark.parametrize(("level", "field", "words"), [(6, "level", "1 to 5"), (0, "level", "1 to 5"),
                                                        ("3", "level", "")])
def test_a_refused_level_is_named_and_nothing_changes(app, admin, level, field, words):
    tech = ms.technician("Lev Level", skills={"diesel": 3})
    diesel = db.session.scalar(select(Skill).where(Skill.name == "diesel"))
    before = _profile_state(tech.id)
    problem = assert_problem(send(app, "PUT", f"/api/v1/technicians/{tech.id}/skills/{diesel.id}", admin,
                                   {"level": level}), 422, words)
    assert field in problem["errors"]
    assert _profile_state(tech.id) == before


def test_skills_need_a_known_skill_a_profile_and_an_admin(app, admin):
    tech = ms.technician("Kit Known", skills={})
    no_profile = TechnicianFactory(name="Pip Plain")
    welding = SkillFactory(name="Welding")
    assert_problem(send(app, "PUT", f"/api/v1/technicians/{tech.id}/skills/999999", admin, {"level": 3}), 404,
                   "no skill #999999")
    assert_problem(send(app, "PUT", f"/api/v1/technicians/{no_profile.id}/skills/{welding.id}", admin,
                         {"level": 3}), 422, "no technician profile")
    assert _profile_state(no_profile.id) is None
    assert_problem(send(app, "PUT", f"/api/v1/technicians/{tech.id}/skills/{welding.id}", token_for(ManagerFactory()),
                         {"level": 3}), 403)
    assert _profile_state(tech.id)[-1] == []


def test_unavailable_with_a_reason_reroutes_work_and_available_brings_them_back(app, admin, system_actor):
    leaving = ms.technician("Una Away")
    ms.technician("Fred Fallback")
    job = DispatchFactory(asset=AssetFactory(asset_type=configured_truck_type()), required_skill="diesel")
    with acting_as(system_actor):
        dispatches.assign(job, leaving)
    path = f"/api/v1/technicians/{leaving.id}/availability"
    until = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    away = send(app, "PUT", path, admin, {"available": False, "reason": "Training course", "until": until.isoformat()})
    assert away.status_code == 200, away.get_json()
    body = away.get_json()
    assert body["dispatches"] == [job.dispatch_number]
    profile = body["technician"]["profile"]
    assert (profile["availability"], profile["unavailable_reason"]) == ("Unavailable", "Training course")
    db.session.expire_all()
    assert db.session.get(Dispatch, job.id).assigned_user_id != leaving.id
    back = send(app, "PUT", path, admin, {"available": True})
    assert back.status_code == 200
    profile = back.get_json()["technician"]["profile"]
    assert (profile["availability"], profile["unavailable_reason"], profile["unavailable_until"]) == (
        "Available", None, None)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"available": False}, "reason", "Say why"),
    ({"available": False, "reason": "   "}, "reason", "Say why"),
    ({"available": False, "reason": "Away", "until": "PAST"}, "until", "in the future"),
    ({"available": True, "reason": "Back"}, "reason", "Leave out"),
    ({"available": False, "reason": "Away", "until": "2030-01-01T09:00:00"}, "until", ""),
    ({"reason": "Away"}, "available", ""),
])
def test_refused_availability_is_named_and_nothing_changes(app, admin, body, field, words):
    tech = ms.technician("Ada Avail")
    if body.get("until") == "PAST":
        body = {**body, "until": (utcnow() - timedelta(hours=1)).isoformat()}
    before = _profile_state(tech.id)
    problem = assert_problem(send(app, "PUT", f"/api/v1/technicians/{tech.id}/availability", admin, body), 422, words)
    assert field in problem["errors"], problem
    assert _profile_state(tech.id) == before


def test_availability_of_a_technician_without_a_profile_is_refused(app, admin):
    plain = TechnicianFactory(name="Nia Noprofile")
    assert_problem(send(app, "PUT", f"/api/v1/technicians/{plain.id}/availability", admin,
                         {"available": False, "reason": "Away"}), 422, "no technician profile")
    assert _profile_state(plain.id) is None
