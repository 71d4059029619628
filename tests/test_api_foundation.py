"""The API's foundation: problems, tokens, sessions with CSRF, rate limits, CORS, OpenAPI, docs UI."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from openapi_spec_validator import validate
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, utcnow
from app.services import api_tokens, users
from app.services.errors import ValidationError
from tests.api_support import assert_problem, bearer, token_for
from tests.factories import ApiTokenFactory, ManagerFactory, TechnicianFactory


@pytest.fixture
def manager(app):
    return ManagerFactory()


@pytest.fixture
def secret(manager):
    return token_for(manager)


def test_openapi_document_is_valid_openapi_3(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/dispatches" in spec["paths"] and "/api/v1/dispatches/{number}/transitions" in spec["paths"]
    problem = spec["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(problem) == ["application/problem+json"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":  # the path's own (number), not an operation
                continue
            assert {"401", "429"} <= set(operation["responses"]), (method, path)
            if method in ("patch", "delete") or path.endswith(("transitions}", "/assignment", "/decline")):
                names = [p["name"] for p in operation.get("parameters", [])]
                assert "If-Match" in names or path.endswith("bulk-transitions"), (method, path)


def test_docs_page_loads_swagger_ui_from_this_site_without_inline_script(app):
    response = app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "vendor/swagger-ui/swagger-ui-bundle.js" in html and "js/api-docs.js" in html
    assert "<script>" not in html and "onload=" not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    bundle = app.test_client().get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    bundle.close()
    assert bundle.status_code == 200


def test_anonymous_gets_401_problem_with_challenge(app):
    response = app.test_client().get("/api/v1/dispatches")
    assert_problem(response, 401, "Bearer")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer mp_unknowntokenvalue", "Basic dXNlcjpwYXNz", "Bearer ", "Bearer nope"])
def test_a_bad_authorization_header_is_401(app, manager, header):
    response = app.test_client().get("/api/v1/dispatches", headers={"Authorization": header})
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_token_acts_as_its_owner_and_notes_its_use(app, manager, secret):
    response = app.test_client().get("/api/v1/dispatches", headers=bearer(secret))
    assert response.status_code == 200, response.get_data(as_text=True)
    token = db.session.scalar(select(ApiToken))
    db.session.refresh(token)
    assert token.last_used_at is not None
    assert token.secret_hash != secret and secret not in token.secret_hash and token.prefix == secret[:12]


def test_revoked_expired_and_deactivated_owners_tokens_stop_working(app, manager, system_actor):
    client = app.test_client()
    revoked = api_tokens.create_token(manager, "revoked")
    api_tokens.revoke_token(manager, revoked.token.id)
    assert_problem(client.get("/api/v1/dispatches", headers=bearer(revoked.secret)), 401, "revoked")
    expired = api_tokens.create_token(manager, "expired", expires_in_days=1)
    expired.token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert_problem(client.get("/api/v1/dispatches", headers=bearer(expired.secret)), 401, "expired")
    live = api_tokens.create_token(manager, "live")
    assert client.get("/api/v1/dispatches", headers=bearer(live.secret)).status_code == 200
    users.set_user_active(manager, False)
    db.session.commit()
    assert_problem(client.get("/api/v1/dispatches", headers=bearer(live.secret)), 401, "deactivated")


def test_token_names_and_expiry_are_checked_and_nothing_is_made(app, manager):
    for name in ("", "   ", "x" * 101, "tab\x00null"):
        with pytest.raises(ValidationError):
            api_tokens.create_token(manager, name)
    with pytest.raises(ValidationError, match="1 to"):
        api_tokens.create_token(manager, "ok", expires_in_days=0)
    db.session.rollback()
    assert db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_a_manager_cannot_revoke_someone_elses_token(app, manager):
    other = ApiTokenFactory(owner=TechnicianFactory())
    from app.services.errors import NotFound

    with pytest.raises(NotFound):
        api_tokens.revoke_token(manager, other.id)
    db.session.refresh(other)
    assert other.revoked_at is None


def test_a_browser_session_needs_the_csrf_token_for_unsafe_methods(make_app, database_url):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        manager = ManagerFactory()
        email = manager.email
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0] if 'type="hidden" value="' in page \
        else page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/auth/login", data={"email": email, "password": "correct horse battery",
                                            "csrf_token": csrf}).status_code == 302
    assert client.get("/api/v1/dispatches").status_code == 200  # safe methods need no token
    body = {"numbers": ["D-2026-000001"], "status": "Cancelled", "reason": "x"}
    refused = client.post("/api/v1/dispatches/bulk-transitions", json=body)
    assert_problem(refused, 403, "X-CSRFToken")
    home = client.get("/account/").get_data(as_text=True)
    token = home.split('name="csrf_token" value="')[1].split('"')[0]
    allowed = client.post("/api/v1/dispatches/bulk-transitions", json=body, headers={"X-CSRFToken": token})
    assert allowed.status_code == 200, allowed.get_data(as_text=True)


def test_rate_limit_per_token_answers_429_with_retry_after(make_app):
    app = make_app(MOTORPOOL_API_TOKEN_LIMITS="3 per minute", MOTORPOOL_API_ADDRESS_LIMITS="100 per minute")
    with app.app_context():
        secret = token_for(ManagerFactory())
        other = token_for(ManagerFactory())
        client = app.test_client()
        for _ in range(3):
            assert client.get("/api/v1/dispatches", headers=bearer(secret)).status_code == 200
        refused = client.get("/api/v1/dispatches", headers=bearer(secret))
        assert_problem(refused, 429, "Too many requests")
        assert int(refused.headers["Retry-After"]) >= 1
        assert client.get("/api/v1/dispatches", headers=bearer(other)).status_code == 200


def test_rate_limit_per_address_counts_anonymous_requests_too(make_app):
    app = make_app(MOTORPOOL_API_ADDRESS_LIMITS="2 per minute")
    with app.app_context():
        client = app.test_client()
        assert client.get("/api/v1/dispatches").status_code == 401
        assert client.get("/api/v1/dispatches").status_code == 401
        assert_problem(client.get("/api/v1/dispatches"), 429)


def test_a_malformed_limit_setting_stops_start_up(make_app):
    with pytest.raises(ValueError, match="MOTORPOOL_API_TOKEN_LIMITS"):
        make_app(MOTORPOOL_API_TOKEN_LIMITS="lots")


def test_cors_is_off_unless_origins_are_listed(make_app):
    closed = make_app()
    response = closed.test_client().get("/api/v1/openapi.json", headers={"Origin": "https://ops.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    open_app = make_app(MOTORPOOL_API_CORS_ORIGINS="https://ops.example")
    client = open_app.test_client()
    response = client.get("/api/v1/openapi.json", headers={"Origin": "https://ops.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://ops.example"
    preflight = client.options("/api/v1/dispatches", headers={"Origin": "https://ops.example",
                                                               "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200 and "If-Match" in preflight.headers["Access-Control-Allow-Headers"]
    other = client.get("/api/v1/openapi.json", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_unknown_paths_and_methods_are_problems(app, secret):
    client = app.test_client()
    assert_problem(client.get("/api/v1/nothing-here", headers=bearer(secret)), 404)
    refused = client.put("/api/v1/dispatches", headers=bearer(secret), json={})
    assert_problem(refused, 405)
    assert "GET" in refused.headers["Allow"]


HOSTILE_BODIES = [
    (b"{not json", "application/json", 400),
    (b"\xff\xfe\x00garbage", "application/json", 400),
    (b"[" * 5000 + b"]" * 5000, "application/json", 400),
    (b'{"title": "x"}', "text/plain", 415),
    (b"[]", "application/json", 422),
    (b"null", "application/json", 422),
    (b'"a string"', "application/json", 422),
    (b'{"title": 5, "asset_id": "1"}', "application/json", 422),
    (b'{"title": "t", "asset_id": 100000000000000000000000}', "application/json", 422),
    (b'{"title": "t", "asset_id": 1.5}', "application/json", 422),
    (b'{"title": "t", "asset_id": true}', "application/json", 422),
    (b'{"title": "t", "asset_id": 1, "estimated_duration_hours": NaN}', "application/json", 422),
    (b'{"title": "t", "asset_id": 1, "estimated_duration_hours": 1e400}', "application/json", 422),
    (b'{"title": "t", "asset_id": 1, "due_date": "9999-12-31T23:59:59+14:00"}', "application/json", 422),
    (b'{"title": "t", "asset_id": 1, "due_date": "2026-01-01T00:00:00"}', "application/json", 422),
    (b'{"title": "t", "asset_id": 1, "surprise": 1}', "application/json", 422),
    (b'{"title": "t\\u0000x", "asset_id": 1}', "application/json", 422),
    (b'{"title": "' + b"x" * 300 + b'", "asset_id": 1}', "application/json", 422),
]


@pytest.mark.parametrize(("body", "content_type", "status"), HOSTILE_BODIES)
def test_hostile_bodies_are_refused_with_a_problem_never_a_500(app, secret, body, content_type, status):
    response = app.test_client().post("/api/v1/dispatches", data=body, headers=bearer(secret, **{
        "Content-Type": content_type}))
    assert_problem(response, status)
    from app.models import Dispatch

    assert db.session.scalar(select(func.count(Dispatch.id))) == 0


def test_field_errors_name_the_field(app, secret):
    response = app.test_client().post("/api/v1/dispatches", json={"asset_id": "seven"}, headers=bearer(secret))
    body = assert_problem(response, 422)
    assert set(body["errors"]) >= {"title", "asset_id"}


def test_a_too_large_body_is_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=1024)
    with app.app_context():
        secret = token_for(ManagerFactory())
        response = app.test_client().post("/api/v1/dispatches", data=json.dumps({"title": "x" * 5000}),
                                          headers=bearer(secret, **{"Content-Type": "application/json"}))
        assert_problem(response, 413)


@pytest.mark.parametrize("query", ["page=0", "page=abc", "per_page=101", "per_page=-1", "sort=secret",
                                   "status=Nope", "technician=07", "asset_type=99999999999999999999",
                                   "page=100000000000000000000000"])
def test_bad_list_parameters_are_422(app, secret, query):
    assert_problem(app.test_client().get(f"/api/v1/dispatches?{query}", headers=bearer(secret)), 422)
