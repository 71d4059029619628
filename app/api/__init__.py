"""The JSON API at ``/api/v1``: flask-smorest resources on marshmallow schemas.

``init_api(app)`` mounts every resource module (``RESOURCES``: each a module with a
``blp`` flask-smorest Blueprint), serves the OpenAPI document at ``/api/v1/openapi.json``
and Swagger UI at ``/api/v1/docs``, and runs the checks every API request passes first:
the caller (token or browser session, CSRF for the latter), the rate limits, the body
(JSON, well formed, UTF-8) and CORS. docs/api.md says how to add a resource.
"""

from __future__ import annotations

import importlib
import json

from flask import Flask, current_app, request
from flask_smorest import Api as SmorestApi
from flask_smorest.utils import prepare_response

from app.api import auth, limits
from app.api.problems import API_PREFIX, PROBLEM_JSON, is_api_request, problem
from app.api.schemas import ProblemSchema, QueryTextRule, SchemaRules

PREFIX = "/api/v1"
#: Resource modules, in the order the OpenAPI document lists them.
RESOURCES = ("app.api.docs", "app.api.dispatches", "app.api.assignments", "app.api.detail_rows",
             "app.api.detail_types", "app.api.repairs", "app.api.technicians", "app.api.events",
             "app.api.webhook_subscriptions", "app.api.health", "app.api.reports",
             "app.api.asset_types", "app.api.make_models", "app.api.locations", "app.api.assets",
             "app.api.detail_sets", "app.api.users", "app.api.skills")
#: A JSON body nested deeper than this is refused before anything parses it.
MAX_JSON_DEPTH = 32


class Api(SmorestApi):
    """flask-smorest with problem+json errors, and the app's own error handlers."""

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self) -> None:
        # app.blueprints.errors answers every error, API ones as problems (app.api.problems).
        pass

    def _register_responses(self) -> None:
        import http

        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "A refusal (RFC 9457 problem)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def settings(app: Flask) -> None:
    app.config.setdefault("API_TITLE", "Motorpool API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Work orders (dispatches) for fleets. Errors are RFC 9457 problems "
                                "(application/problem+json). See docs/api.md."},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer",
                           "description": "A personal API token (account page, or `flask tokens create`)."},
            "session": {"type": "apiKey", "in": "cookie", "name": "session",
                        "description": "A signed-in browser; unsafe methods also need X-CSRFToken."},
        }},
        "security": [{"bearerAuth": []}, {"session": []}],
    })


def init_api(app: Flask) -> Api:
    from app.extensions import csrf

    settings(app)
    limits.check_settings(app)
    api = Api(app, spec_kwargs={"extra_plugins": [QueryTextRule(), SchemaRules()]})
    for name in RESOURCES:
        module = importlib.import_module(name)
        csrf.exempt(module.blp)  # unsafe methods of a browser session are checked in auth.authenticate
        prefix = PREFIX + getattr(module, "URL_PREFIX", "")
        if hasattr(module.blp, "arguments"):  # a flask-smorest resource: documented in the OpenAPI
            api.register_blueprint(module.blp, url_prefix=prefix)
        else:
            app.register_blueprint(module.blp, url_prefix=prefix)
    csrf.exempt(api._app.blueprints[api._make_doc_blueprint_name()])
    app.extensions["motorpool_api"] = api
    app.before_request(before_api_request)
    app.after_request(after_api_request)
    return api


BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif character in "]}":
            depth -= 1
    return deepest


def _check_body() -> None:
    """A body is JSON (415 otherwise), UTF-8, well formed and not absurdly nested (400)."""
    raw = request.get_data(cache=True)
    if not raw:
        return
    if not request.is_json:
        raise auth.Refused(problem(415, "Send the body as JSON with `Content-Type: application/json`.",
                                   headers={"Accept-Post": "application/json"}))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise auth.Refused(problem(400, "The body is not UTF-8; send JSON encoded in UTF-8.")) from None
    if _depth(text) > MAX_JSON_DEPTH:
        raise auth.Refused(problem(400, f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep."))
    try:
        json.loads(text)
    except ValueError as error:
        raise auth.Refused(problem(400, f"The body is not valid JSON ({error}).")) from None


def before_api_request():
    if not is_api_request():
        return None
    try:
        if request.method == "OPTIONS" and limits.cors_origin():
            return current_app.make_default_options_response()
        auth.authenticate()
        limits.check()
        if request.method in BODY_METHODS:
            _check_body()
    except auth.Refused as refused:
        return refused.response
    return None


def after_api_request(response):
    if not request.path.startswith(API_PREFIX):
        return response
    limits.add_cors_headers(response)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    response.vary.add("Authorization")
    response.vary.add("Cookie")
    return response
