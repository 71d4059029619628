"""Server-side sessions: sign-out, password changes and deactivation end sessions for real,
sign-in starts a new one, and idle and absolute lifetimes apply."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuthEvent, User, UserSession, utcnow
from app.services.auth_sessions import SESSION_KEY
from tests.admin_support import html
from tests.factories import DEFAULT_PASSWORD, AdminFactory, ManagerFactory

NEW_PASSWORD = "gravel lantern orbit"


def sign_in(client, user, password: str = DEFAULT_PASSWORD):
    response = client.post("/auth/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, html(response)
    return response


def signed_in(client) -> bool:
    response = client.get("/account/")
    if response.status_code == 302:
        assert "/auth/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def session_rows(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)))


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def test_a_copied_cookie_stops_working_after_sign_out(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    thief = copy_of(app, client)
    assert signed_in(thief)

    client.post("/auth/logout")

    assert not signed_in(thief)
    assert not signed_in(client)
    (row,) = session_rows(user)
    assert row.revoked_at is not None and row.revoked_reason == "signed out"
    kinds = db.session.scalars(select(AuthEvent.kind).where(AuthEvent.user_id == user.id).order_by(AuthEvent.id))
    assert list(kinds) == ["signed in", "signed out"]


def test_the_cookie_holds_a_random_token_and_the_database_only_its_hash(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    with client.session_transaction() as cookie:
        token = cookie[SESSION_KEY]
    (row,) = session_rows(user)
    assert len(token) >= 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {str(value) for value in vars(row).values()}
    assert row.address == "127.0.0.1"

    # Another sign-in gets another token.
    second = app.test_client()
    sign_in(second, user)
    with second.session_transaction() as cookie:
        assert cookie[SESSION_KEY] != token
    assert len(session_rows(user)) == 2


def test_sign_in_drops_what_the_cookie_held_before_including_the_csrf_token(app, client):
    user = ManagerFactory()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = "planted-before-sign-in"
        cookie["csrf_token"] = "token-from-before"
    sign_in(client, user)
    with client.session_transaction() as cookie:
        assert cookie[SESSION_KEY] != "planted-before-sign-in"
        assert cookie.get("csrf_token") != "token-from-before"
    planted = hashlib.sha256(b"planted-before-sign-in").hexdigest()
    assert db.session.scalar(select(UserSession).where(UserSession.token_hash == planted)) is None


def test_sign_in_revokes_the_session_the_cookie_named(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    (first,) = session_rows(user)
    # The row has expired without the browser noticing (no request since); signing in again
    # from the same cookie ends that row and starts a new one.
    first.last_seen_at = utcnow() - timedelta(days=1)
    db.session.commit()
    with client.session_transaction() as cookie:
        old_token = cookie[SESSION_KEY]
    response = client.post("/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    old, new = session_rows(user)
    assert old.revoked_reason in {"replaced at sign-in", "expired"} and old.revoked_at is not None
    assert new.revoked_at is None
    with client.session_transaction() as cookie:
        assert cookie[SESSION_KEY] != old_token


def test_changing_the_password_signs_out_the_other_sessions_and_keeps_this_one(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    other = app.test_client()
    sign_in(other, user)

    response = client.post("/account/password", data={
        "current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert response.status_code == 302
    assert signed_in(client)
    assert not signed_in(other)
    this, that = session_rows(user)
    assert (this.revoked_at, that.revoked_reason) == (None, "password changed")
    fresh = app.test_client()
    sign_in(fresh, user, NEW_PASSWORD)


@pytest.mark.parametrize("form, message, field", [
    ({"current_password": "not my password"}, "The current password is wrong; type it again.", "current_password"),
    ({"new_password": "password12", "confirm": "password12"},
     "The password is too easy to guess. This is a very common password.", "new_password"),
    ({"new_password": "bob-builds-trucks", "confirm": "bob-builds-trucks"},
     'The password contains the account\'s name or email ("bob")', "new_password"),
    ({"confirm": "something else entirely"}, "The two new passwords differ; type them again.", "confirm"),
    ({"new_password": DEFAULT_PASSWORD, "confirm": DEFAULT_PASSWORD},
     "The new password is the same as the current one; choose another.", "new_password"),
], ids=["wrong current", "common", "contains name", "confirmation differs", "unchanged"])
def test_a_refused_password_change_says_why_and_changes_nothing(app, client, form, message, field):
    user = ManagerFactory(name="Bob Builder", email="bob@example.com")
    sign_in(client, user)
    other = app.test_client()
    sign_in(other, user)
    old_hash = user.password_hash

    data = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **form}
    response = client.post("/account/password", data=data)

    assert response.status_code == 422
    page = html(response)
    assert message.replace('"', "&#34;").replace("'", "&#39;") in page
    assert f'id="{field}-error"' in page
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash
    assert signed_in(other)
    assert all(row.revoked_at is None for row in session_rows(user))


def test_the_account_page_lists_sessions_and_signs_out_another_one(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = "PhoneBrowser/1.0"
    sign_in(phone, user)

    page = html(client.get("/account/"))
    assert "PhoneBrowser/1.0" in page and "This browser" in page
    this, that = session_rows(user)
    assert client.post(f"/account/sessions/{that.id}/revoke").status_code == 302
    assert not signed_in(phone)
    assert signed_in(client)
    # One's own current session is not revoked from the list (Sign out does that).
    response = client.post(f"/account/sessions/{this.id}/revoke")
    assert response.status_code == 404
    assert signed_in(client)


def test_a_user_cannot_sign_out_someone_elses_session(app, client):
    user, stranger = ManagerFactory(), ManagerFactory()
    sign_in(client, user)
    stranger_client = app.test_client()
    sign_in(stranger_client, stranger)
    (row,) = session_rows(stranger)

    response = client.post(f"/account/sessions/{row.id}/revoke")

    assert response.status_code == 404
    assert "has already ended or is not yours" in html(response)
    assert signed_in(stranger_client)


def test_sign_out_all_other_sessions(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    others = [app.test_client() for _ in range(2)]
    for other in others:
        sign_in(other, user)
    response = client.post("/account/sessions/revoke-others", follow_redirects=True)
    assert "Signed out 2 other session(s)." in html(response)
    assert signed_in(client)
    assert not any(signed_in(other) for other in others)


def test_an_admin_signs_a_user_out_everywhere(app, client):
    admin, user = AdminFactory(), ManagerFactory(name="Mo")
    sign_in(client, admin)
    browsers = [app.test_client() for _ in range(2)]
    for browser in browsers:
        sign_in(browser, user)
    assert "2 active session(s)" in html(client.get(f"/admin/users/{user.id}/edit"))

    response = client.post(f"/admin/users/{user.id}/sessions/revoke", follow_redirects=True)

    assert "Signed Mo out of 2 session(s)." in html(response)
    assert not any(signed_in(browser) for browser in browsers)
    assert signed_in(client)
    assert {row.revoked_reason for row in session_rows(user)} == {"signed out everywhere by an admin"}


def test_an_admin_password_change_signs_the_user_out_everywhere(app, client):
    admin, user = AdminFactory(), ManagerFactory()
    sign_in(client, admin)
    browser = app.test_client()
    sign_in(browser, user)
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "email": user.email, "name": user.name, "role": "manager", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert not signed_in(browser)
    assert signed_in(client)


def test_an_admin_password_change_refuses_a_guessable_password(app, client):
    # A name without digits: a sequence name such as "User 4567" is a part of "1234567890",
    # which is refused for containing the account's name before the guessability check.
    admin, user = AdminFactory(), ManagerFactory(name="Morgan Reyes", email="morgan.reyes@example.com")
    sign_in(client, admin)
    old_hash = user.password_hash
    response = client.post(f"/admin/users/{user.id}/edit", data={
        "email": user.email, "name": user.name, "role": "manager", "password": "1234567890"})
    assert response.status_code == 422
    assert "The password is too easy to guess. This is a top-100 common password." in html(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_deactivation_revokes_every_session_of_the_user(app, client):
    admin, user = AdminFactory(), ManagerFactory()
    sign_in(client, admin)
    browser = app.test_client()
    sign_in(browser, user)
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "0"}).status_code == 302
    assert {row.revoked_reason for row in session_rows(user)} == {"account deactivated"}
    assert not signed_in(browser)
    # Reactivated, the old cookie still does not come back to life.
    assert client.post(f"/admin/users/{user.id}/active", data={"active": "1"}).status_code == 302
    assert not signed_in(browser)


def test_a_session_ends_after_the_idle_timeout(make_app):
    app = make_app(MOTORPOOL_SESSION_IDLE_MINUTES=5)
    with app.app_context():
        client = app.test_client()
        user = ManagerFactory()
        sign_in(client, user)
        (row,) = session_rows(user)
        row.last_seen_at = utcnow() - timedelta(minutes=4)
        db.session.commit()
        assert signed_in(client)  # within the timeout; the request counts as activity
        (row,) = session_rows(user)
        row.last_seen_at = utcnow() - timedelta(minutes=6)
        db.session.commit()

        assert not signed_in(client)
        (row,) = session_rows(user)
        assert row.revoked_reason == "expired"


def test_a_session_ends_after_its_absolute_lifetime_however_active(make_app):
    app = make_app(MOTORPOOL_SESSION_MAX_HOURS=2)
    with app.app_context():
        client = app.test_client()
        user = ManagerFactory()
        sign_in(client, user)
        (row,) = session_rows(user)
        row.created_at = utcnow() - timedelta(hours=1, minutes=59)
        db.session.commit()
        assert signed_in(client)
        (row,) = session_rows(user)
        row.created_at = utcnow() - timedelta(hours=2, minutes=1)
        db.session.commit()
        assert not signed_in(client)


def test_the_default_lifetimes_apply_without_configuration(app, client):
    assert (app.config["MOTORPOOL_SESSION_IDLE_MINUTES"], app.config["MOTORPOOL_SESSION_MAX_HOURS"]) == (480, 24)
    user = ManagerFactory()
    sign_in(client, user)
    (row,) = session_rows(user)
    row.last_seen_at = utcnow() - timedelta(minutes=481)
    db.session.commit()
    assert not signed_in(client)


def test_last_seen_is_written_at_most_once_a_minute(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    (row,) = session_rows(user)
    recent = utcnow() - timedelta(seconds=30)
    row.last_seen_at = recent
    db.session.commit()
    signed_in(client)
    (row,) = session_rows(user)
    assert row.last_seen_at == recent  # unchanged

    older = utcnow() - timedelta(minutes=2)
    row.last_seen_at = older
    db.session.commit()
    signed_in(client)
    (row,) = session_rows(user)
    assert row.last_seen_at > older + timedelta(minutes=1)


def test_a_deactivated_user_is_signed_out_at_the_next_request_even_with_a_live_row(app, client):
    user = ManagerFactory()
    sign_in(client, user)
    user.is_active_user = False  # by hand, not through the service: the loader still refuses
    db.session.commit()
    assert not signed_in(client)


def test_the_csrf_token_from_before_sign_in_is_refused_after_it(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = ManagerFactory()
        other = app.test_client()
        sign_in_page = other.get("/auth/login").get_data(as_text=True)
        other_token = sign_in_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        other.post("/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD, "csrf_token": other_token})
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    before = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    with app.app_context():
        response = client.post("/auth/login", data={"email": user.email, "password": DEFAULT_PASSWORD,
                                                     "csrf_token": before})
        assert response.status_code == 302

        refused = client.post("/account/sessions/revoke-others", data={"csrf_token": before})
        assert refused.status_code == 400
        assert all(row.revoked_at is None for row in session_rows(user))  # nothing was changed

        account = client.get("/account/").get_data(as_text=True)
        after = account.split('name="csrf_token" value="')[1].split('"')[0]
        assert after != before
        assert client.post("/account/sessions/revoke-others", data={"csrf_token": after}).status_code == 302
        assert [row.revoked_at is None for row in session_rows(user)] == [False, True]
