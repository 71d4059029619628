"""Every refusal of the API as an RFC 9457 problem: ``application/problem+json``.

``{"type", "title", "status", "detail"}`` always; ``errors`` (field → messages) when input
was refused field by field; ``allowed`` (the next states) when a transition was refused.
A ``DomainError`` keeps its message and gets the status its kind means (``status_of``).
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException

from app.services.errors import (
    ConcurrentUpdate,
    DomainError,
    TransitionNotAllowed,
    ValidationError,
    each_error,
)

PROBLEM_JSON = "application/problem+json"
#: ``type`` of the problems that mean more than their status (``about:blank`` otherwise).
TYPE_BASE = "urn:motorpool:problem:"
API_PREFIX = "/api/"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)


def problem(status: int, detail: str, *, kind: str | None = None, title: str | None = None,
            errors: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": TYPE_BASE + kind if kind else "about:blank",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = current_app.response_class(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    response.headers["Cache-Control"] = "no-store"
    return response


def status_of(error: DomainError) -> int:
    return error.http_status


def _kind(error: DomainError) -> str | None:
    if isinstance(error, TransitionNotAllowed):
        return "transition-not-allowed"
    if isinstance(error, ConcurrentUpdate):
        return "conflict"
    if isinstance(error, ValidationError):
        return "validation"
    return None


def from_domain_error(error: DomainError) -> Response:
    from app.services.api_tokens import NotAuthenticated
    from app.services.sign_in_throttle import SignInThrottled

    if isinstance(error, NotAuthenticated):
        return unauthorized(error.message, invalid=True)
    if isinstance(error, SignInThrottled):
        return problem(429, error.message, headers={"Retry-After": str(error.retry_after)})
    errors: dict[str, list[str]] = {}
    for one in each_error(error):
        if one.field:
            errors.setdefault(one.field, []).append(one.message)
    extra = {}
    allowed = getattr(error, "allowed", None)
    if allowed is not None:
        extra["allowed"] = list(allowed)
    return problem(status_of(error), error.message, kind=_kind(error), errors=errors or None, **extra)


def unauthorized(detail: str, *, invalid: bool = False) -> Response:
    challenge = 'Bearer realm="Motorpool API"'
    if invalid:
        challenge += ', error="invalid_token"'
    return problem(401, detail, headers={"WWW-Authenticate": challenge})


def _messages(data: Any) -> dict[str, list[str]]:
    """webargs' ``{"json": {"field": ["…"]}}`` flattened to ``{"field": ["…"]}`` (nested as ``a.b``)."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "body", []).extend(value)
        else:
            flat.setdefault(prefix or "body", []).append(str(value))

    for location, fields in (data or {}).items():
        if isinstance(fields, dict):
            walk("", fields)
        else:
            walk(str(location), fields)
    return flat


HTTP_DETAILS = {
    404: "There is no such resource; check the path (dispatches are addressed by number, e.g. D-2026-000001).",
    405: "This resource does not take that method; the Allow header lists the ones it takes.",
    413: "The request body is larger than the API accepts; send less.",
}


def from_http_exception(error: HTTPException) -> Response:
    code = error.code or 500
    headers = {}
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    data = getattr(error, "data", None)
    if data and data.get("messages"):
        errors = _messages(data["messages"])
        if code == 400:
            return problem(400, "The request body is not valid JSON in UTF-8; send a JSON object.", errors=errors)
        detail = "Some values were refused: " + "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
        return problem(code, detail, kind="validation", errors=errors)
    detail = HTTP_DETAILS.get(code) if code in HTTP_DETAILS else None
    return problem(code, detail or error.description or HTTPStatus(code).phrase, headers=headers)


def refusals(blp, *codes: int):
    """Document that a view may answer these problems (the OpenAPI document lists them)."""

    def decorator(view):
        for code in codes:
            view = blp.alt_response(code, response=HTTPStatus(code).name)(view)
        return view

    return decorator
