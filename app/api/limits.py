"""Rate limits of the API (per token and per client address) and its CORS answer.

Counted in the Flask-Limiter storage the sign-in throttle uses (``RATELIMIT_STORAGE_URI``),
each a list of tiers in the ``limits`` notation. A used-up tier answers 429 with
``Retry-After``. If the counter store fails, the request goes on unthrottled (logged).
CORS is off unless ``MOTORPOOL_API_CORS_ORIGINS`` lists origins (comma-separated).
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, g, request
from limits import parse_many

from app.api.problems import problem
from app.services.auth_sessions import request_address

logger = logging.getLogger(__name__)
SETTINGS = ("MOTORPOOL_API_TOKEN_LIMITS", "MOTORPOOL_API_ADDRESS_LIMITS")


def check_settings(app: Flask) -> None:
    for name in SETTINGS:
        try:
            parse_many(app.config[name])
        except ValueError as error:
            raise ValueError(f"{name}={app.config[name]!r} is not a list of limits like "
                             f"'120 per minute; 5000 per hour': {error}") from None


def _scopes() -> list[tuple[str, object, str]]:
    config = current_app.config
    scopes = [("address", limit, request_address() or "unknown")
              for limit in parse_many(config["MOTORPOOL_API_ADDRESS_LIMITS"])]
    token = g.get("api_token")
    if token is not None:
        scopes += [("token", limit, str(token.id)) for limit in parse_many(config["MOTORPOOL_API_TOKEN_LIMITS"])]
    return scopes


def check() -> None:
    """Count this request; refuse it (429) while a tier is used up."""
    from app.api.auth import Refused
    from app.services.sign_in_throttle import _limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    try:
        strategy = _limiter().limiter
        exhausted = [(scope, limit, key) for scope, limit, key in _scopes()
                     if not strategy.hit(limit, "api", scope, key)]
        if not exhausted:
            return
        now = time.time()
        wait = max(1, max(math.ceil(strategy.get_window_stats(limit, "api", scope, key).reset_time - now)
                          for scope, limit, key in exhausted))
    except Exception:  # a storage outage must not stop the API
        logger.exception("API rate-limit storage failed; the request was not throttled")
        return
    tiers = ", ".join(f"{limit} per {scope}" for scope, limit, _ in exhausted)
    raise Refused(problem(429, f"Too many requests ({tiers}). Try again in {wait} seconds.", kind="rate-limited",
                          headers={"Retry-After": str(wait)}))


def allowed_origins() -> set[str]:
    raw = current_app.config.get("MOTORPOOL_API_CORS_ORIGINS") or ""
    return {origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()}


def cors_origin() -> str | None:
    origin = request.headers.get("Origin")
    return origin if origin and origin in allowed_origins() else None


def add_cors_headers(response) -> None:
    origin = cors_origin()
    if origin is None:
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    response.headers["Access-Control-Expose-Headers"] = "ETag, Link, Location, X-Total-Count, Retry-After"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-Match, Idempotency-Key"
        response.headers["Access-Control-Max-Age"] = "600"
