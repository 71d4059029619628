"""Accounts: validated creation, argon2id password hashes, sign-in and rehashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import User
from app.services import users
from app.services.actors import SYSTEM_EMAIL, system_user
from app.services.errors import ValidationError
from tests.factories import DEFAULT_PASSWORD, TechnicianFactory

GOOD = {"email": "tess@example.com", "name": "Tess Technician", "role": "technician", "password": "a long passphrase"}


def user_count() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(User))


# --- create_user -----------------------------------------------------------------------------


def test_create_user_stores_normalised_fields_and_an_argon2id_hash(app, session):
    user = users.create_user(**{**GOOD, "email": "  Tess@Example.COM ", "name": "  Tess Technician  "})

    session.expire_all()
    stored = session.get(User, user.id)
    assert stored.email == "tess@example.com"
    assert stored.name == "Tess Technician"
    assert stored.role == "technician"
    assert stored.is_active and not stored.is_system
    assert stored.password_hash.startswith("$argon2id$")
    assert GOOD["password"] not in stored.password_hash
    # The hash verifies the password, and the app's configured costs were used.
    assert PasswordHasher().verify(stored.password_hash, GOOD["password"])
    assert "m=1024,t=1,p=1" in stored.password_hash


def test_plain_password_is_stored_nowhere(app, session):
    user = users.create_user(**GOOD)
    row = session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user.id}).mappings().one()
    for column, value in row.items():
        assert GOOD["password"] not in str(value), f"the plain password is in column {column}"


def test_same_password_hashes_differently_each_time(app, session):
    first = users.create_user(**GOOD)
    second = users.create_user(**{**GOOD, "email": "other@example.com"})
    assert first.password_hash != second.password_hash  # salted


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"email": "not-an-email"}, "email", "'not-an-email' is not an email address"),
        ({"email": "no-domain@"}, "email", "is not an email address"),
        ({"email": "two words@example.com"}, "email", "is not an email address"),
        ({"email": ""}, "email", "is not an email address"),
        ({"name": ""}, "name", "A name is required"),
        ({"name": "   "}, "name", "A name is required"),
        ({"role": "superuser"}, "role", "Unknown role 'superuser'; choose one of admin, manager, technician"),
        ({"role": "Admin"}, "role", "Unknown role 'Admin'"),
        ({"password": "short"}, "password", "too short: use at least 10 characters"),
        ({"password": "123456789"}, "password", "too short"),
        ({"password": ""}, "password", "too short"),
        ({"password": "password12"}, "password",
         "The password is too easy to guess. This is a very common password. Add another word or two."),
        ({"password": "1234567890"}, "password", "The password is too easy to guess. This is a top-100 common password."),
        ({"password": "qwertyuiop"}, "password", "The password is too easy to guess."),
        ({"password": "abababababab"}, "password", "too easy to guess"),
        ({"password": "Technician-of-the-year"}, "password",
         'The password contains the account\'s name or email ("technician"); choose one without it.'),
        ({"password": "i-am-TESS-and-i-fix"}, "password", 'contains the account\'s name or email ("tess")'),
        ({"email": "quartermaster@example.com", "password": "my quartermaster pass"}, "password",
         '("quartermaster")'),
    ],
)
def test_create_user_refuses_bad_input_and_writes_nothing(app, session, changes, field, message):
    before = user_count()
    with pytest.raises(ValidationError) as raised:
        users.create_user(**{**GOOD, **changes})
    assert message in raised.value.message
    assert raised.value.field == field
    assert user_count() == before


@pytest.mark.parametrize("password", ["correct horse battery", "motorpool-demo", "gravel lantern orbit"])
def test_passwords_that_are_hard_to_guess_are_accepted(app, session, password):
    user = users.create_user(**{**GOOD, "password": password})
    assert users.password_matches(user, password)


def test_the_name_check_ignores_parts_too_short_to_matter(app, session):
    # "Al" and "Ng" are in many words; only parts of three or more characters are looked for.
    user = users.create_user(email="al@example.com", name="Al Ng", role="manager", password="calendar lengthy song")
    assert users.password_matches(user, "calendar lengthy song")


def test_password_of_exactly_the_minimum_length_is_accepted(app, session):
    password = "Vq8#zL2!pT"  # hard to guess, exactly the minimum length
    assert len(password) == users.MIN_PASSWORD_LENGTH
    user = users.create_user(**{**GOOD, "password": password})
    assert users.password_matches(user, password)


@pytest.mark.parametrize("second_email", ["tess@example.com", "TESS@example.com", " Tess@Example.Com "])
def test_duplicate_email_is_refused_whatever_its_case(app, session, second_email):
    users.create_user(**GOOD)
    before = user_count()
    with pytest.raises(ValidationError) as raised:
        users.create_user(**{**GOOD, "email": second_email, "name": "Someone Else"})
    assert raised.value.message == "A user with the email tess@example.com already exists."
    assert raised.value.field == "email"
    assert user_count() == before


# --- authenticate ----------------------------------------------------------------------------


def test_authenticate_with_the_right_password_returns_the_user_and_records_the_login(app, session):
    user = users.create_user(**GOOD)
    assert user.last_login_at is None

    signed_in = users.authenticate("TESS@example.com ", GOOD["password"])

    assert signed_in is not None and signed_in.id == user.id
    session.expire_all()
    assert session.get(User, user.id).last_login_at is not None


@pytest.mark.parametrize(
    "email, password",
    [
        ("tess@example.com", "a long passphrasE"),
        ("tess@example.com", ""),
        ("tess@example.com", "a long passphrase "),
        ("nobody@example.com", "a long passphrase"),
        ("", ""),
    ],
)
def test_authenticate_with_wrong_credentials_returns_none(app, session, email, password):
    user = users.create_user(**GOOD)
    assert users.authenticate(email, password) is None
    session.expire_all()
    assert session.get(User, user.id).last_login_at is None


def test_inactive_user_cannot_authenticate(app, session):
    user = TechnicianFactory(is_active_user=False)
    assert users.password_matches(user, DEFAULT_PASSWORD)  # the password is right ...
    assert users.authenticate(user.email, DEFAULT_PASSWORD) is None  # ... the account is not active


def test_user_with_a_corrupt_hash_cannot_authenticate(app, session):
    user = TechnicianFactory(password_hash="not-a-hash")
    assert users.authenticate(user.email, "not-a-hash") is None
    assert users.password_matches(user, "not-a-hash") is False


def test_system_user_cannot_authenticate_even_with_a_password_hash(app, session):
    system = system_user()
    assert system.email == SYSTEM_EMAIL and system.is_system
    assert system.password_hash is None
    assert users.authenticate(SYSTEM_EMAIL, "") is None
    assert users.password_matches(system, "") is False

    # Even if someone gave it a password, it still cannot sign in.
    system.password_hash = users.hash_password("a long passphrase")
    session.commit()
    assert users.authenticate(SYSTEM_EMAIL, "a long passphrase") is None
    assert system.is_active is False


def test_system_user_cannot_log_in_on_the_web(app, session, client):
    system = system_user()
    system.password_hash = users.hash_password("a long passphrase")
    session.commit()

    response = client.post("/auth/login", data={"email": SYSTEM_EMAIL, "password": "a long passphrase"})

    assert response.status_code == 422
    assert b"Email or password is wrong" in response.data
    assert client.get("/").status_code == 302  # still signed out


def test_system_user_is_created_once(app, session):
    first = system_user()
    session.commit()
    assert system_user().id == first.id
    assert session.scalar(select(func.count()).select_from(User).where(User.is_system.is_(True))) == 1


# --- rehashing ---------------------------------------------------------------------------------


def test_hash_is_upgraded_on_login_when_the_parameters_change(app, session):
    user = users.create_user(**GOOD)
    old_hash = user.password_hash
    assert "t=1" in old_hash

    app.config["PASSWORD_TIME_COST"] = 2
    app.config["PASSWORD_MEMORY_COST"] = 2048
    assert users.authenticate(GOOD["email"], GOOD["password"]) is not None

    session.expire_all()
    new_hash = session.get(User, user.id).password_hash
    assert new_hash != old_hash
    assert new_hash.startswith("$argon2id$") and "m=2048,t=2,p=1" in new_hash
    # The new hash still verifies the same password, and the next login keeps it.
    assert users.authenticate(GOOD["email"], GOOD["password"]) is not None
    session.expire_all()
    assert session.get(User, user.id).password_hash == new_hash


def test_hash_is_kept_when_the_parameters_are_unchanged(app, session):
    user = users.create_user(**GOOD)
    old_hash = user.password_hash
    assert users.authenticate(GOOD["email"], GOOD["password"]) is not None
    session.expire_all()
    assert session.get(User, user.id).password_hash == old_hash


def test_wrong_password_does_not_rehash(app, session):
    user = users.create_user(**GOOD)
    old_hash = user.password_hash
    app.config["PASSWORD_TIME_COST"] = 2
    assert users.authenticate(GOOD["email"], "wrong password!") is None
    session.expire_all()
    assert session.get(User, user.id).password_hash == old_hash


def test_production_defaults_are_argon2id_with_real_costs(make_app):
    from app.config import DEFAULTS

    assert DEFAULTS["PASSWORD_TIME_COST"] >= 2
    assert DEFAULTS["PASSWORD_MEMORY_COST"] >= 19 * 1024  # OWASP's minimum for argon2id
    app = make_app(
        PASSWORD_TIME_COST=DEFAULTS["PASSWORD_TIME_COST"],
        PASSWORD_MEMORY_COST=DEFAULTS["PASSWORD_MEMORY_COST"],
        PASSWORD_PARALLELISM=DEFAULTS["PASSWORD_PARALLELISM"],
    )
    with app.app_context():
        hashed = users.hash_password("a long passphrase")
    assert hashed.startswith("$argon2id$")
    assert f"m={DEFAULTS['PASSWORD_MEMORY_COST']},t={DEFAULTS['PASSWORD_TIME_COST']}" in hashed


def test_a_user_deactivated_while_signed_in_is_signed_out_at_the_next_request(app, client, auth, system_actor):
    from app.services.actors import acting_as
    from app.services.users import set_user_active
    from tests.factories import ManagerFactory

    manager = ManagerFactory()
    auth.login(manager)
    assert client.get("/dispatches/").status_code == 200
    with acting_as(system_actor):
        set_user_active(manager, False, actor=system_actor)
    response = client.get("/dispatches/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
