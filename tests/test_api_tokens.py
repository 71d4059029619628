"""Personal API tokens on the account page and on the command line."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken
from app.services import api_tokens
from tests.api_support import assert_problem, bearer
from tests.factories import ApiTokenFactory, ManagerFactory, TechnicianFactory


def _sign_in(client, user):
    assert client.post("/auth/login", data={"email": user.email, "password": "correct horse battery"}).status_code == 302


def test_account_page_creates_a_token_shown_once_that_works(app):
    user = TechnicianFactory()
    client = app.test_client()
    _sign_in(client, user)
    page = client.post("/account/tokens", data={"name": "phone app", "expires_in_days": "30"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    secret = html.split('class="token-secret">')[1].split("<")[0]
    assert secret.startswith("mp_") and "not shown again" in html
    token = db.session.scalar(select(ApiToken))
    assert token.name == "phone app" and token.expires_at is not None and token.owner_id == user.id
    assert secret not in client.get("/account/").get_data(as_text=True)  # once only
    assert app.test_client().get("/api/v1/dispatches", headers=bearer(secret)).status_code == 200


def test_account_page_refuses_a_bad_token_and_makes_nothing(app):
    client = app.test_client()
    _sign_in(client, ManagerFactory())
    for data in ({"name": ""}, {"name": "x", "expires_in_days": "0"}, {"name": "x", "expires_in_days": "٣"},
                 {"name": "x" * 101}):
        assert client.post("/account/tokens", data=data).status_code == 422, data
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_account_page_renames_and_revokes_only_own_tokens(app):
    user = ManagerFactory()
    new = api_tokens.create_token(user, "first")
    others = ApiTokenFactory(owner=TechnicianFactory())
    client = app.test_client()
    _sign_in(client, user)
    assert client.post(f"/account/tokens/{new.token.id}/rename", data={"name": "nightly import"}).status_code == 302
    assert client.post(f"/account/tokens/{others.id}/revoke").status_code == 404
    assert client.post(f"/account/tokens/{others.id}/rename", data={"name": "mine now"}).status_code == 404
    assert client.post(f"/account/tokens/{new.token.id}/revoke").status_code == 302
    db.session.expire_all()
    assert db.session.get(ApiToken, new.token.id).name == "nightly import"
    assert db.session.get(ApiToken, new.token.id).revoked_at is not None
    assert db.session.get(ApiToken, others.id).revoked_at is None and db.session.get(ApiToken, others.id).name != "mine now"
    assert_problem(app.test_client().get("/api/v1/dispatches", headers=bearer(new.secret)), 401, "revoked")
    assert "nightly import" in client.get("/account/").get_data(as_text=True)


def test_cli_creates_lists_and_revokes(app):
    user = ManagerFactory(email="ops@example.com")
    runner = app.test_cli_runner()
    made = runner.invoke(args=["tokens", "create", "--email", "OPS@example.com", "--name", "cron", "--expires-days", "7"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("mp_")
    listed = runner.invoke(args=["tokens", "list"])
    assert "cron" in listed.output and "ops@example.com" in listed.output and secret not in listed.output
    token = db.session.scalar(select(ApiToken))
    assert app.test_client().get("/api/v1/dispatches", headers=bearer(secret)).status_code == 200
    revoked = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    again = runner.invoke(args=["tokens", "revoke", str(token.id)])
    assert again.exit_code == 1 and "already revoked" in again.output
    assert user.id == token.owner_id


def test_cli_refuses_unknown_owner_and_bad_name(app):
    ManagerFactory(email="ops@example.com")
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["tokens", "create", "--email", "nobody@example.com", "--name", "x"])
    assert unknown.exit_code == 1 and "no user" in unknown.output
    blank = runner.invoke(args=["tokens", "create", "--email", "ops@example.com", "--name", "  "])
    assert blank.exit_code == 1 and "name" in blank.output
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0
