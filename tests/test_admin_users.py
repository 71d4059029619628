"""Admin pages for users and technician profiles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import TechnicianProfile, TechnicianSkill, User
from app.services import dispatches as dispatch_service
from app.services.actors import acting_as, system_user
from tests.admin_support import html, rows
from tests.factories import (
    AdminFactory,
    DispatchFactory,
    ManagerFactory,
    SkillFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
)

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def admin(app, client, auth):
    user = AdminFactory(name="Ada Admin")
    auth.login(user)
    return user


def user_rows():
    return rows(User, User.email, User.name, User.role, User.password_hash, User.is_active_user)


# --- users ---------------------------------------------------------------------------------------


def test_create_edit_deactivate_and_reactivate_a_user(client, admin):
    response = client.post("/admin/users/new", data={"email": " Mo@Example.com ", "name": "Mo", "role": "manager",
                                                     "password": "a long enough password"})
    assert response.status_code == 302
    mo = db.session.scalar(select(User).where(User.email == "mo@example.com"))
    assert (mo.name, mo.role, mo.is_active_user) == ("Mo", "manager", True)
    old_hash = mo.password_hash

    response = client.post(f"/admin/users/{mo.id}/edit", data={"email": "mo@example.com", "name": "Maureen",
                                                                "role": "manager", "password": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert (mo.name, mo.password_hash) == ("Maureen", old_hash)  # an empty password keeps the current one
    client.post(f"/admin/users/{mo.id}/edit", data={"email": "mo@example.com", "name": "Maureen",
                                                    "role": "manager", "password": "another long password"})
    db.session.expire_all()
    assert mo.password_hash != old_hash

    assert client.post(f"/admin/users/{mo.id}/active", data={"active": "0"}).status_code == 302
    db.session.expire_all()
    assert mo.is_active_user is False
    assert "Maureen is deactivated." in html(client.get("/admin/users"))
    assert client.post(f"/admin/users/{mo.id}/active", data={"active": "1"}).status_code == 302
    db.session.expire_all()
    assert mo.is_active_user is True


def test_a_new_technician_is_sent_on_to_their_profile(client, admin):
    response = client.post("/admin/users/new", data={"email": "tess@example.com", "name": "Tess",
                                                     "role": "technician", "password": "a long enough password"})
    tess = db.session.scalar(select(User).where(User.email == "tess@example.com"))
    assert response.headers["Location"].endswith(f"/admin/technicians/{tess.id}/profile")


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        ({"email": "taken@example.com"}, "A user with the email taken@example.com already exists.", "email"),
        ({"email": "TAKEN@example.com "}, "A user with the email taken@example.com already exists.", "email"),
        ({"email": "not-an-address"}, "is not an email address", "email"),
        ({"name": ""}, "A name is required.", "name"),
        ({"password": "short"}, "The password is too short", "password"),
        ({"password": "password12"}, "The password is too easy to guess. This is a very common password.", "password"),
        ({"password": "typed name rocks 99"}, "The password contains the account&#39;s name or email", "password"),
        ({"password": ""}, "A password is required.", "password"),
        ({"role": "superuser"}, "Not a valid choice", "role"),
    ],
)
def test_a_refused_new_user_changes_nothing(client, admin, data, message, field):
    ManagerFactory(email="taken@example.com")
    before = user_rows()
    form = {"email": "new@example.com", "name": "Typed Name", "role": "manager", "password": "a long enough password",
            **data}
    response = client.post("/admin/users/new", data=form)
    assert response.status_code == 422
    page = html(response)
    assert message in page and f'id="{field}-error"' in page
    if data.get("name") != "":
        assert 'value="Typed Name"' in page
    assert 'value="a long enough password"' not in page  # passwords are never echoed
    assert user_rows() == before


def test_changing_an_email_to_one_in_use_is_refused(client, admin):
    ManagerFactory(email="taken@example.com")
    other = ManagerFactory(email="other@example.com")
    before = user_rows()
    response = client.post(f"/admin/users/{other.id}/edit",
                           data={"email": "taken@example.com", "name": "Other", "role": "manager", "password": ""})
    assert response.status_code == 422
    assert "A user with the email taken@example.com already exists." in html(response)
    assert user_rows() == before


def test_you_cannot_deactivate_yourself_nor_change_your_own_role(client, admin):
    before = user_rows()
    response = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "You cannot deactivate your own account" in html(response)
    response = client.post(f"/admin/users/{admin.id}/edit",
                           data={"email": admin.email, "name": "Ada", "role": "manager", "password": ""})
    assert response.status_code == 422
    assert "You cannot change your own role" in html(response)
    assert user_rows() == before
    assert "You cannot deactivate yourself." in html(client.get("/admin/users"))
    assert client.get("/admin/").status_code == 200  # still an admin, still signed in


def test_the_system_user_cannot_be_deactivated_or_edited(client, admin):
    system = system_user()
    db.session.commit()
    before = user_rows()
    response = client.post(f"/admin/users/{system.id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "The system user cannot sign in" in html(response)
    assert client.get(f"/admin/users/{system.id}/edit").status_code == 404
    assert client.post(f"/admin/users/{system.id}/edit", data={"email": "x@example.com", "name": "x",
                                                               "role": "admin"}).status_code == 404
    assert user_rows() == before
    page = html(client.get("/admin/users"))
    assert "Records command-line work; cannot sign in or be changed." in page


def test_a_technician_holding_dispatches_is_not_deactivated(client, admin):
    tess = TechnicianProfileFactory().user
    with acting_as(admin):
        dispatch_service.assign(DispatchFactory(), tess)
    before = user_rows()
    response = client.post(f"/admin/users/{tess.id}/active", data={"active": "0"})
    assert response.status_code == 422
    assert "holds 1 open dispatch(es); reassign them first." in html(response)
    response = client.post(f"/admin/users/{tess.id}/edit",
                           data={"email": tess.email, "name": tess.name, "role": "manager", "password": ""})
    assert response.status_code == 422
    assert user_rows() == before


def test_user_names_are_escaped(client, admin):
    ManagerFactory(name=SCRIPT, email="x@example.com")
    page = html(client.get("/admin/users"))
    assert SCRIPT not in page and "&lt;script&gt;" in page


# --- technician profiles -------------------------------------------------------------------------

PROFILE = {"home_latitude": "53.8", "home_longitude": "-1.55", "hourly_rate": "45", "overtime_multiplier": "1.5",
           "shift_days": list("12345"), "shift_start": "07:00", "shift_end": "17:00", "max_concurrent_dispatches": "3",
           "max_hours_per_week": "40"}


def profile_rows():
    return rows(TechnicianProfile, TechnicianProfile.user_id, TechnicianProfile.home_latitude,
                TechnicianProfile.hourly_rate, TechnicianProfile.shift_days, TechnicianProfile.max_concurrent_dispatches,
                TechnicianProfile.availability)


def test_create_and_edit_a_technician_profile(client, admin):
    tess = TechnicianFactory(name="Tess")
    page = html(client.get("/admin/technicians"))
    assert "Create profile" in page and "No profile yet" in page
    response = client.post(f"/admin/technicians/{tess.id}/profile", data=PROFILE)
    assert response.status_code == 302
    assert profile_rows() == [(tess.id, 53.8, 45.0, "12345", 3, "Available")]
    response = client.post(f"/admin/technicians/{tess.id}/profile",
                           data={**PROFILE, "hourly_rate": "50", "shift_days": ["6", "7"]})
    assert response.status_code == 302
    assert profile_rows() == [(tess.id, 53.8, 50.0, "67", 3, "Available")]
    assert "Tess" in html(client.get("/admin/technicians"))


@pytest.mark.parametrize(
    ("data", "message", "field"),
    [
        ({"home_latitude": "91"}, "Home latitude 91.0 is outside -90 to 90.", "home_latitude"),
        ({"hourly_rate": "-1"}, "The hourly rate cannot be negative.", "hourly_rate"),
        ({"shift_days": ["1", "9"]}, "Tick the days from Monday to Sunday", "shift_days"),
        ({"shift_days": []}, "Choose at least one shift day.", "shift_days"),
        ({"max_concurrent_dispatches": "0"}, "at least 1 dispatch at a time", "max_concurrent_dispatches"),
        ({"shift_start": "7 o'clock"}, "Not a valid time value", "shift_start"),
    ],
)
def test_a_refused_profile_changes_nothing(client, admin, data, message, field):
    tess = TechnicianProfileFactory().user
    newcomer = TechnicianFactory()
    before = profile_rows()
    for user in (tess, newcomer):
        response = client.post(f"/admin/technicians/{user.id}/profile", data={**PROFILE, **data})
        assert response.status_code == 422
        page = html(response)
        assert message in page and f'id="{field}-error"' in page
        assert profile_rows() == before


def test_profiles_are_only_for_technicians(client, admin):
    manager = ManagerFactory()
    assert client.get(f"/admin/technicians/{manager.id}/profile").status_code == 404
    assert client.post(f"/admin/technicians/{manager.id}/profile", data=PROFILE).status_code == 404
    assert profile_rows() == []


def test_set_and_remove_a_skill(client, admin):
    tess = TechnicianProfileFactory().user
    skill = SkillFactory(name="Hydraulics")
    response = client.post(f"/admin/technicians/{tess.id}/skills", data={"skill": "Hydraulics", "level": "4"})
    assert response.status_code == 302
    assert rows(TechnicianSkill, TechnicianSkill.skill_id, TechnicianSkill.level) == [(skill.id, 4)]
    response = client.post(f"/admin/technicians/{tess.id}/skills", data={"skill": "Hydraulics", "level": "9"})
    assert response.status_code == 422 and "A level is 1 to 5." in html(response)
    assert rows(TechnicianSkill, TechnicianSkill.skill_id, TechnicianSkill.level) == [(skill.id, 4)]
    assert "Hydraulics" in html(client.get(f"/admin/technicians/{tess.id}/profile"))
    response = client.post(f"/admin/technicians/{tess.id}/skills/{skill.id}/remove")
    assert response.status_code == 302
    assert rows(TechnicianSkill, TechnicianSkill.id) == []


def test_deactivate_and_reactivate_a_technician_profile(client, admin):
    tess = TechnicianProfileFactory().user
    response = client.post(f"/admin/technicians/{tess.id}/availability", data={"active": "0", "unavailable_reason": ""})
    assert response.status_code == 422
    assert "A reason is required." in html(response)
    assert profile_rows()[0][5] == "Available"

    response = client.post(f"/admin/technicians/{tess.id}/availability",
                           data={"active": "0", "unavailable_reason": "Leave"})
    assert response.status_code == 302
    assert profile_rows()[0][5] == "Unavailable"
    assert "Leave" in html(client.get("/admin/technicians"))
    assert client.post(f"/admin/technicians/{tess.id}/availability", data={"active": "1"}).status_code == 302
    assert profile_rows()[0][5] == "Available"
