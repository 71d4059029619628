"""Throttling of failed sign-ins, per typed email and per client address.

Only failures count. Each of ``MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS`` and
``MOTORPOOL_SIGN_IN_ADDRESS_LIMITS`` is a list of tiers in the ``limits`` notation: a short
window that slows guessing down ("5 per minute") and a long one that blocks it ("20 per
hour"). While any tier is used up, sign-in is refused before the password is checked,
with the time to wait — so a right password after many wrong ones waits too. The email is
counted whether or not an account has it, and the refusal is the same either way.

Counters live in the Flask-Limiter storage (``RATELIMIT_STORAGE_URI``): memory by default,
which each worker process keeps for itself; Redis or Memcached share them across workers.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from datetime import UTC, datetime

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from sqlalchemy import select

from app.extensions import db
from app.models import AuthEventKind, User
from app.services.auth_sessions import record_event, request_address
from app.services.errors import DomainError
from app.services.transaction import transaction
from app.services.users import normalise_email

EXTENSION_KEY = "motorpool_sign_in_limiter"
logger = logging.getLogger(__name__)


class SignInThrottled(DomainError):
    """Too many failed sign-ins; ``retry_after`` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(f"Too many failed sign-ins. Try again in {wait_text(self.retry_after)}.", field="password")


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def init_app(app: Flask) -> None:
    """A Limiter per application: its storage holds this app's counters (tests build many apps)."""
    for name in ("MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS", "MOTORPOOL_SIGN_IN_ADDRESS_LIMITS"):
        try:
            parse_many(app.config[name])
        except ValueError as error:
            raise ValueError(f"{name}={app.config[name]!r} is not a list of limits like "
                             f"'5 per minute; 20 per hour': {error}") from None
    app.extensions[EXTENSION_KEY] = Limiter(get_remote_address, app=app)


def _limiter() -> Limiter:
    return current_app.extensions[EXTENSION_KEY]


def _scopes(email: str, address: str | None) -> list[tuple[str, RateLimitItem, str]]:
    """``(scope, limit, identifier)`` for every tier that applies to this attempt."""
    config = current_app.config
    # The email is hashed so the shared store holds no addresses of people.
    account = hashlib.sha256(normalise_email(email).encode()).hexdigest()[:32]
    scopes = [("account", limit, account) for limit in parse_many(config["MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS"])]
    scopes += [("address", limit, address or "unknown")
               for limit in parse_many(config["MOTORPOOL_SIGN_IN_ADDRESS_LIMITS"])]
    return scopes


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED", True))


def _retry_after(exhausted: list[tuple[str, RateLimitItem, str]]) -> int:
    strategy = _limiter().limiter
    now = time.time()
    return max(math.ceil(strategy.get_window_stats(limit, "sign-in", scope, key).reset_time - now)
               for scope, limit, key in exhausted)


def _exhausted(email: str, address: str | None) -> list[tuple[str, RateLimitItem, str]]:
    strategy = _limiter().limiter
    return [(scope, limit, key) for scope, limit, key in _scopes(email, address)
            if not strategy.test(limit, "sign-in", scope, key)]


def check(email: str) -> None:
    """Refuse (``SignInThrottled``) while this email or this address has used up a tier."""
    if not _enabled():
        return
    try:
        exhausted = _exhausted(email, request_address())
        retry_after = _retry_after(exhausted) if exhausted else 0
    except Exception:  # a storage outage must not lock everyone out
        logger.exception("sign-in throttle storage failed; the attempt was not throttled")
        return
    if exhausted:
        raise SignInThrottled(retry_after)


def record_failure(email: str) -> None:
    """Count a failed sign-in, record it, and record a block when it used up a tier."""
    email = normalise_email(email)
    address = request_address()
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    blocked: list[str] = []
    if _enabled():
        try:
            strategy = _limiter().limiter
            for scope, limit, key in _scopes(email, address):
                strategy.hit(limit, "sign-in", scope, key)
            exhausted = _exhausted(email, address)
            if exhausted:
                until = datetime.fromtimestamp(time.time() + _retry_after(exhausted), UTC)
                blocked = [f"{scope} ({limit})" for scope, limit, _ in exhausted]
        except Exception:
            logger.exception("sign-in throttle storage failed; the failure was not counted")
    with transaction():
        record_event(AuthEventKind.SIGN_IN_FAILED, user=user, email=email)
        if blocked:
            record_event(AuthEventKind.SIGN_IN_BLOCKED, user=user, email=email,
                         detail=f"{', '.join(blocked)} used up; refused until {until:%Y-%m-%d %H:%M:%S} UTC")


def record_success(email: str) -> None:
    """A right password clears the account's counters (the address keeps its own)."""
    if not _enabled():
        return
    try:
        strategy = _limiter().limiter
        for scope, limit, key in _scopes(email, request_address()):
            if scope == "account":
                strategy.clear(limit, "sign-in", scope, key)
    except Exception:
        logger.exception("sign-in throttle storage failed; the account's counters were not cleared")
