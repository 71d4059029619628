"""Failed sign-ins are slowed down, then blocked, per email and per address; the refusal
says when to try again and is the same whether or not the account exists."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuthEvent
from tests.admin_support import html
from tests.factories import DEFAULT_PASSWORD, AdminFactory, ManagerFactory

REFUSAL = "Too many failed sign-ins. Try again in"


def attempt(client, email: str, password: str = "wrong password!", address: str | None = None):
    environ = {"REMOTE_ADDR": address} if address else {}
    return client.post("/auth/login", data={"email": email, "password": password}, environ_base=environ)


def error_message(response) -> str:
    page = html(response)
    start = page.index('<p class="error" role="alert">') + len('<p class="error" role="alert">')
    return page[start:page.index("</p>", start)]


def events(kind: str) -> list[AuthEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuthEvent).where(AuthEvent.kind == kind).order_by(AuthEvent.id)))


def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_the_time_to_wait(app, client):
    # The default configuration: the throttle is on, 5 failures a minute per account.
    assert app.config["RATELIMIT_ENABLED"] is True
    user = ManagerFactory()
    statuses = [attempt(client, user.email).status_code for _ in range(30)]
    assert statuses == [422] * 5 + [429] * 25

    response = attempt(client, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert error_message(response) == "Too many failed sign-ins. Try again in 1 minute."
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert client.get("/account/").status_code == 302  # not signed in
    assert len(events("sign-in failed")) == 5  # refused attempts never reach the password check
    (block,) = events("sign-in blocked")
    assert block.user_id == user.id and "account (5 per 1 minute)" in block.detail


def test_the_refusal_is_the_same_for_an_unknown_email(make_app):
    app = make_app(MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS="3 per minute", MOTORPOOL_SIGN_IN_ADDRESS_LIMITS="100 per minute")
    with app.app_context():
        user = ManagerFactory()
        client = app.test_client()
        answers = {}
        for email in (user.email, "nobody@example.com"):
            for _ in range(3):
                assert "Email or password is wrong" in html(attempt(client, email))
            response = attempt(client, email)
            answers[email] = (response.status_code, error_message(response), response.headers["Retry-After"])
        known, unknown = answers.values()
        assert known[:2] == unknown[:2] == (429, "Too many failed sign-ins. Try again in 1 minute.")
        assert abs(int(known[2]) - int(unknown[2])) <= 1
        failed = events("sign-in failed")
        assert [e.user_id for e in failed] == [user.id] * 3 + [None] * 3
        assert [e.email for e in events("sign-in blocked")] == [user.email, "nobody@example.com"]


def test_failures_from_one_address_are_limited_whatever_the_email(make_app):
    app = make_app(MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS="100 per minute", MOTORPOOL_SIGN_IN_ADDRESS_LIMITS="3 per minute")
    with app.app_context():
        user = ManagerFactory()
        client = app.test_client()
        for n in range(3):
            assert attempt(client, f"guess{n}@example.com", address="203.0.113.7").status_code == 422
        response = attempt(client, user.email, DEFAULT_PASSWORD, address="203.0.113.7")
        assert response.status_code == 429
        assert REFUSAL in error_message(response)
        # Another address is not held back by them.
        assert attempt(client, user.email, DEFAULT_PASSWORD, address="198.51.100.9").status_code == 302
        (block,) = events("sign-in blocked")
        assert block.address == "203.0.113.7" and "address (3 per 1 minute)" in block.detail


def test_the_long_tier_blocks_for_its_own_window(make_app):
    app = make_app(MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS="10 per minute; 3 per hour")
    with app.app_context():
        user = ManagerFactory()
        client = app.test_client()
        for _ in range(3):
            attempt(client, user.email)
        response = attempt(client, user.email, DEFAULT_PASSWORD)
        assert response.status_code == 429
        assert error_message(response) == "Too many failed sign-ins. Try again in 60 minutes."
        assert 3540 < int(response.headers["Retry-After"]) <= 3600


def test_a_right_password_before_the_limit_clears_the_account_count(make_app):
    app = make_app(MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS="3 per minute", MOTORPOOL_SIGN_IN_ADDRESS_LIMITS="100 per minute")
    with app.app_context():
        user = ManagerFactory()
        client = app.test_client()
        for _ in range(2):
            attempt(client, user.email)
        assert attempt(client, user.email, DEFAULT_PASSWORD).status_code == 302
        client.post("/auth/logout")
        assert [attempt(client, user.email).status_code for _ in range(3)] == [422, 422, 422]
        assert attempt(client, user.email).status_code == 429


def test_the_throttle_can_be_switched_off(make_app):
    app = make_app(RATELIMIT_ENABLED=False)
    with app.app_context():
        user = ManagerFactory()
        client = app.test_client()
        assert {attempt(client, user.email).status_code for _ in range(8)} == {422}
        assert attempt(client, user.email, DEFAULT_PASSWORD).status_code == 302
        assert events("sign-in blocked") == []


def test_a_malformed_limit_is_refused_at_start(make_app):
    with pytest.raises(ValueError, match="MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS='lots' is not a list of limits"):
        make_app(MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS="lots")


def test_admins_see_failures_and_blocks_on_the_sign_in_activity_page(make_app):
    app = make_app(MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS="2 per minute")
    with app.app_context():
        admin, user = AdminFactory(), ManagerFactory(name="Mo Manager")
        attacker = app.test_client()
        for _ in range(2):
            attempt(attacker, user.email, address="203.0.113.7")
        attempt(attacker, "nobody@example.com", address="203.0.113.7")
        client = app.test_client()
        assert client.post("/auth/login", data={"email": admin.email, "password": DEFAULT_PASSWORD}).status_code == 302

        page = html(client.get("/admin/sign-in-activity"))
        assert page.count("sign-in failed</td>") == 3
        assert "sign-in blocked</td>" in page and "203.0.113.7" in page
        assert "(Mo Manager)" in page and "(no such account)" in page
        only_blocks = html(client.get("/admin/sign-in-activity?kind=sign-in+blocked"))
        assert "sign-in failed</td>" not in only_blocks and "sign-in blocked</td>" in only_blocks
        # An unknown filter shows everything rather than failing.
        assert client.get("/admin/sign-in-activity?kind=%3Cscript%3E").status_code == 200
        user_page = html(client.get(f"/admin/users/{user.id}/edit"))
        assert "sign-in blocked</td>" in user_page
