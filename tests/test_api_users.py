"""``/api/v1/users``: admins only, the rules of Admin → Users, each refusal named and nothing changed."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Role, User
from app.services import users as user_service
from app.services.actors import acting_as, system_user
from app.services.errors import ValidationError
from tests.api_support import assert_problem, bearer, send, token_for
from tests.factories import AdminFactory, AssetFactory, DispatchFactory, ManagerFactory, TechnicianFactory, \
    TechnicianProfileFactory, configured_truck_type

GOOD_PASSWORD = "quartz lantern orbit"


@pytest.fixture
def admin_user(app):
    return AdminFactory(name="Ada Admin", email="ada@example.com")


@pytest.fixture
def admin(admin_user):
    return token_for(admin_user)


def _state(user_id: int) -> tuple:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    return user.email, user.name, user.role, user.is_active_user, user.time_zone, user.password_hash


def _count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_an_admin_creates_reads_and_lists_a_user_without_the_password(app, admin):
    created = send(app, "POST", "/api/v1/users", admin,
                    {"email": "Nia.Nord@Example.com", "name": "Nia Nord", "role": "manager", "password": GOOD_PASSWORD})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["email"], body["name"], body["role"], body["active"]) == ("nia.nord@example.com", "Nia Nord",
                                                                          "manager", True)
    assert "password" not in created.get_data(as_text=True) and "hash" not in created.get_data(as_text=True)
    assert created.headers["Location"].endswith(f"/api/v1/users/{body['id']}")
    assert user_service.authenticate("nia.nord@example.com", GOOD_PASSWORD).id == body["id"]
    read = send(app, "GET", f"/api/v1/users/{body['id']}", admin)
    assert read.get_json() == {**body, "last_login_at": read.get_json()["last_login_at"]} and read.headers["ETag"]
    assert "password" not in read.get_data(as_text=True)
    listed = send(app, "GET", "/api/v1/users?role=manager&q=NORD", admin)
    assert [u["email"] for u in listed.get_json()["items"]] == ["nia.nord@example.com"]
    assert listed.headers["X-Total-Count"] == "1"


def test_the_list_filters_by_role_active_and_text_and_leaves_out_the_system_user(app, admin):
    system = system_user()
    TechnicianFactory(name="Tom Active")
    TechnicianFactory(name="Tess Gone", is_active_user=False)
    everyone = send(app, "GET", "/api/v1/users?per_page=100", admin).get_json()
    assert system.id not in [u["id"] for u in everyone["items"]]
    assert everyone["total"] == _count() - 1
    technicians = send(app, "GET", "/api/v1/users?role=technician&active=false", admin).get_json()
    assert [u["name"] for u in technicians["items"]] == ["Tess Gone"]
    assert_problem(send(app, "GET", f"/api/v1/users/{system.id}", admin), 404, f"#{system.id}")
    assert_problem(send(app, "GET", "/api/v1/users?role=owner", admin), 422)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"password": "short"}, "password", "too short"),
    ({"password": "password123"}, "password", "easy to guess"),
    ({"password": "nia.nord-quartz-lantern"}, "password", "name or email"),
    ({"email": "not-an-email"}, "email", "not an email address"),
    ({"email": "ADA@example.com"}, "email", "already exists"),
    ({"name": "   "}, "name", "name is required"),
    ({"name": "Nia\x00Nord"}, "name", ""),
    ({"role": "owner"}, "role", ""),
    ({"colour": "red"}, "colour", ""),
])
def test_a_refused_new_user_says_why_and_nothing_is_created(app, admin, body, field, words):
    before = _count()
    sent = {"email": "nia.nord@example.com", "name": "Nia Nord", "role": "manager", "password": GOOD_PASSWORD, **body}
    problem = assert_problem(send(app, "POST", "/api/v1/users", admin, sent), 422, words)
    assert field in problem["errors"], problem
    assert _count() == before


def test_an_admin_changes_a_user_with_the_current_etag_only(app, admin):
    person = ManagerFactory(name="Mo Manager", email="mo@example.com")
    path = f"/api/v1/users/{person.id}"
    read = send(app, "GET", path, admin)
    assert_problem(send(app, "PATCH", path, admin, {"name": "Mo"}, If_Match=""), 428, "If-Match")
    changed = send(app, "PATCH", path, admin, {"name": "Mo Major", "email": "Mo.Major@example.com",
                                                "time_zone": "Europe/Berlin"})
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["name"], changed.get_json()["email"], changed.get_json()["time_zone"]) == (
        "Mo Major", "mo.major@example.com", "Europe/Berlin")
    before = _state(person.id)
    stale = assert_problem(send(app, "PATCH", path, admin, {"role": "admin"}, If_Match=read.headers["ETag"]), 412,
                           "changed since")
    assert stale["type"].endswith("precondition-failed")
    assert _state(person.id) == before


def test_signing_in_does_not_make_the_etag_stale(app, admin):
    person = ManagerFactory(email="sam@example.com")
    read = send(app, "GET", f"/api/v1/users/{person.id}", admin)
    assert user_service.authenticate("sam@example.com", "correct horse battery") is not None
    changed = send(app, "PATCH", f"/api/v1/users/{person.id}", admin, {"name": "Sam"}, If_Match=read.headers["ETag"])
    assert changed.status_code == 200, changed.get_json()


def test_a_new_password_follows_the_rule_and_is_never_shown(app, admin):
    person = ManagerFactory(name="Pat Pass", email="pat@example.com")
    before = _state(person.id)
    problem = assert_problem(send(app, "PATCH", f"/api/v1/users/{person.id}", admin, {"password": "pat12345678"}),
                             422, "password")
    assert "password" in problem["errors"]
    assert _state(person.id) == before
    changed = send(app, "PATCH", f"/api/v1/users/{person.id}", admin, {"password": GOOD_PASSWORD})
    assert changed.status_code == 200 and "password" not in changed.get_json()
    assert user_service.authenticate("pat@example.com", GOOD_PASSWORD) is not None


def test_active_goes_alone_and_a_deactivated_user_s_token_stops_working(app, admin):
    person = ManagerFactory(name="Lee Leaving")
    their_token = token_for(person)
    path = f"/api/v1/users/{person.id}"
    problem = assert_problem(send(app, "PATCH", path, admin, {"active": False, "name": "Lee"}), 422, "on its own")
    assert "active" in problem["errors"]
    assert _state(person.id)[3] is True
    off = send(app, "PATCH", path, admin, {"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert_problem(app.test_client().get("/api/v1/dispatches", headers=bearer(their_token)), 401)
    on = send(app, "PATCH", path, admin, {"active": True})
    assert on.get_json()["active"] is True


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"role": "manager"}, "role", "your own role"),
    ({"active": False}, "active", "your own account"),
])
def test_an_admin_cannot_demote_or_deactivate_themself(app, admin, admin_user, body, field, words):
    AdminFactory()  # not the last admin: the rule is about oneself
    before = _state(admin_user.id)
    problem = assert_problem(send(app, "PATCH", f"/api/v1/users/{admin_user.id}", admin, body), 422, words)
    assert field in problem["errors"]
    assert _state(admin_user.id) == before


@pytest.mark.parametrize("change", ["role", "active"])
def test_the_last_active_admin_stays_one_whoever_asks(app, admin_user, change):
    # The command line acts as the system user, so "not yourself" does not hold it back.
    AdminFactory(is_active_user=False)  # an inactive admin does not count
    before = _state(admin_user.id)
    with acting_as(system_user()), pytest.raises(ValidationError, match="only active admin") as refused:
        if change == "role":
            user_service.update_user(admin_user, email=admin_user.email, name=admin_user.name, role="manager")
        else:
            user_service.set_user_active(admin_user, False)
    assert refused.value.field == change
    db.session.rollback()
    assert _state(admin_user.id) == before


def test_a_second_admin_may_be_demoted(app, admin):
    other = AdminFactory()
    changed = send(app, "PATCH", f"/api/v1/users/{other.id}", admin, {"role": "manager"})
    assert changed.status_code == 200 and changed.get_json()["role"] == "manager"


@pytest.mark.parametrize(("body", "field"), [({"role": "manager"}, "role"), ({"active": False}, "active")])
def test_a_technician_holding_open_dispatches_keeps_role_and_account(app, admin, system_actor, body, field):
    technician = TechnicianFactory(name="Busy Bea")
    TechnicianProfileFactory(user=technician)
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=configured_truck_type()))
    from app.services import dispatches

    with acting_as(system_actor):
        dispatches.assign(dispatch, technician)
    before = _state(technician.id)
    problem = assert_problem(send(app, "PATCH", f"/api/v1/users/{technician.id}", admin, body), 422,
                             "1 open dispatch", "reassign")
    assert field in problem["errors"]
    assert _state(technician.id) == before


def test_unknown_time_zone_and_missing_user_are_refused(app, admin):
    person = ManagerFactory()
    before = _state(person.id)
    problem = assert_problem(send(app, "PATCH", f"/api/v1/users/{person.id}", admin, {"time_zone": "Mars/Olympus"}),
                             422, "not a time zone")
    assert "time_zone" in problem["errors"]
    assert _state(person.id) == before
    assert_problem(send(app, "PATCH", "/api/v1/users/999999", admin, {"name": "X"}, If_Match="*"), 404, "#999999")


@pytest.mark.parametrize("role", [Role.MANAGER.value, Role.TECHNICIAN.value])
def test_managers_and_technicians_reach_no_account(app, admin_user, role):
    caller = token_for(ManagerFactory() if role == Role.MANAGER.value else TechnicianFactory())
    before, count = _state(admin_user.id), _count()
    assert_problem(send(app, "GET", "/api/v1/users", caller), 403, "admin")
    assert_problem(send(app, "GET", f"/api/v1/users/{admin_user.id}", caller), 403, "admin")
    assert_problem(send(app, "POST", "/api/v1/users", caller, {"email": "x@example.com", "name": "X",
                                                                 "role": "admin", "password": GOOD_PASSWORD}), 403)
    assert_problem(send(app, "PATCH", f"/api/v1/users/{admin_user.id}", caller, {"role": "manager"}, If_Match="*"),
                   403)
    assert (_state(admin_user.id), _count()) == (before, count)
