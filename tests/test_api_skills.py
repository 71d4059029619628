"""``/api/v1/skills``: managers read the catalogue, admins add and change skills with the service's rules."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Skill
from tests.api_support import assert_problem, send, token_for
from tests.factories import AdminFactory, AssetFactory, AssetTypeFactory, DispatchFactory, ManagerFactory, \
    SkillFactory, TechnicianFactory


@pytest.fixture
def admin(app):
    return token_for(AdminFactory())


def _skills() -> list[tuple[str, str]]:
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(select(Skill.name, Skill.category).order_by(Skill.id))]


def test_an_admin_adds_and_changes_a_skill_and_a_manager_reads_the_catalogue(app, admin):
    created = send(app, "POST", "/api/v1/skills", admin, {"name": " Hydraulics ", "category": "Mechanical"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["name"], body["category"]) == ("Hydraulics", "Mechanical")
    assert created.headers["Location"].endswith(f"/api/v1/skills/{body['id']}")
    SkillFactory(name="Welding", category="Fabrication")
    manager = token_for(ManagerFactory())
    listed = send(app, "GET", "/api/v1/skills?category=mechanical&q=HYDR", manager)
    assert [s["name"] for s in listed.get_json()["items"]] == ["Hydraulics"]
    assert listed.headers["X-Total-Count"] == "1"
    assert send(app, "GET", "/api/v1/skills?per_page=1", manager).headers["X-Total-Count"] == str(
        db.session.scalar(select(func.count(Skill.id))))
    read = send(app, "GET", f"/api/v1/skills/{body['id']}", manager)
    assert read.get_json() == body and read.headers["ETag"]
    changed = send(app, "PATCH", f"/api/v1/skills/{body['id']}", admin, {"name": "Hydraulic systems"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {**body, "name": "Hydraulic systems"}
    assert changed.headers["ETag"] != read.headers["ETag"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": "WELDING"}, "name", "already exists"),
    ({"name": "   "}, "name", "needs a name"),
    ({"category": "  "}, "category", "category"),
    ({"name": "Weld\x00ing 2"}, "name", ""),
    ({"name": "x" * 101}, "name", ""),
    ({"colour": "red"}, "colour", ""),
])
def test_a_refused_skill_says_why_and_nothing_is_added(app, admin, body, field, words):
    SkillFactory(name="Welding", category="Fabrication")
    before = _skills()
    problem = assert_problem(send(app, "POST", "/api/v1/skills", admin,
                                   {"name": "Brazing", "category": "Fabrication", **body}), 422, words)
    assert field in problem["errors"], problem
    assert _skills() == before


def test_the_service_refuses_a_nul_before_any_query(app, system_actor):
    # The API's schema stops it first; the service holds the rule for the command line too.
    from app.services import technicians
    from app.services.errors import ValidationError

    with pytest.raises(ValidationError, match="NUL") as refused:
        technicians.add_skill("Weld\x00ing", "Fabrication")
    assert refused.value.field == "name"


def test_a_rename_to_a_taken_name_whatever_the_case_is_refused(app, admin):
    SkillFactory(name="Welding", category="Fabrication")
    brazing = SkillFactory(name="Brazing", category="Fabrication")
    before = _skills()
    problem = assert_problem(send(app, "PATCH", f"/api/v1/skills/{brazing.id}", admin, {"name": "welding"}), 422,
                             "already exists")
    assert "name" in problem["errors"]
    assert _skills() == before
    # Its own name in another case is not "taken".
    assert send(app, "PATCH", f"/api/v1/skills/{brazing.id}", admin, {"category": "Joining"}).status_code == 200


def test_a_skill_asset_types_or_open_dispatches_name_is_not_renamed(app, admin, system_actor):
    diesel = SkillFactory(name="Diesel", category="Engines")
    truck = AssetTypeFactory(name="Truck", default_skill="Diesel")
    before = _skills()
    problem = assert_problem(send(app, "PATCH", f"/api/v1/skills/{diesel.id}", admin, {"name": "Diesel engines"}),
                             422, "Truck", "default")
    assert "name" in problem["errors"]
    assert _skills() == before
    truck.default_skill = None
    db.session.commit()
    DispatchFactory(asset=AssetFactory(asset_type=truck), required_skill="diesel")
    assert_problem(send(app, "PATCH", f"/api/v1/skills/{diesel.id}", admin, {"name": "Diesel engines"}), 422,
                   "1 open dispatch")
    assert _skills() == before
    moved = send(app, "PATCH", f"/api/v1/skills/{diesel.id}", admin, {"category": "Powertrain"})
    assert moved.status_code == 200 and moved.get_json()["category"] == "Powertrain"


def test_a_change_needs_the_current_etag(app, admin):
    skill = SkillFactory(name="Electrics", category="Electrical")
    path = f"/api/v1/skills/{skill.id}"
    read = send(app, "GET", path, admin)
    assert_problem(send(app, "PATCH", path, admin, {"category": "Auto"}, If_Match=""), 428, "If-Match")
    assert send(app, "PATCH", path, admin, {"category": "Auto electrics"}).status_code == 200
    before = _skills()
    assert_problem(send(app, "PATCH", path, admin, {"name": "Wiring"}, If_Match=read.headers["ETag"]), 412,
                   "changed since")
    assert _skills() == before
    assert_problem(send(app, "GET", "/api/v1/skills/999999", admin), 404, "#999999")


def test_managers_only_read_and_technicians_reach_nothing(app):
    skill = SkillFactory(name="Tyres", category="Wheels")
    manager, technician = token_for(ManagerFactory()), token_for(TechnicianFactory())
    before = _skills()
    assert_problem(send(app, "POST", "/api/v1/skills", manager, {"name": "Glass", "category": "Body"}), 403, "admin")
    assert_problem(send(app, "PATCH", f"/api/v1/skills/{skill.id}", manager, {"name": "Tires"}, If_Match="*"), 403)
    assert_problem(send(app, "GET", "/api/v1/skills", technician), 403)
    assert_problem(send(app, "GET", f"/api/v1/skills/{skill.id}", technician), 403)
    assert _skills() == before
