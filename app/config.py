"""Configuration: safe defaults, then the instance folder, then environment variables.

Every setting an operator may change is read from an environment variable of the same
name. Nothing secret is a constant in the code: ``SECRET_KEY`` comes from the environment
or from a file generated once in the instance folder.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_ENABLED": True,
    "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead: a form left open for hours still saves
    "DISPATCHES_PER_PAGE": 50,
    # Request bodies: no form of Motorpool comes near these (a work order's longest text is
    # 5,000 characters); anything bigger is refused with 413 before it is read into memory.
    "MAX_CONTENT_LENGTH": 512 * 1024,
    "MAX_FORM_MEMORY_SIZE": 256 * 1024,
    "MAX_FORM_PARTS": 1000,
    # Password hashing (argon2id). Lower costs are used by the test suite only.
    "PASSWORD_TIME_COST": 3,
    "PASSWORD_MEMORY_COST": 65536,
    "PASSWORD_PARALLELISM": 4,
    # Matching: SLA hours by priority when a dispatch has no due date, active matcher,
    # auto-assignment of new dispatches, and the engine's weights and costs.
    "MOTORPOOL_SLA_HOURS": {"Critical": 4, "High": 8, "Normal": 24, "Low": 72},
    "MOTORPOOL_MATCHER": "weighted",
    # ISO 4217 code of the currency rates and costs are kept in; pages name it.
    "MOTORPOOL_CURRENCY": "USD",
    # IANA zone the organisation works in: times are shown and typed in it unless a user
    # chose their own, and the command line reads times in it. Stored times stay UTC.
    "MOTORPOOL_TIMEZONE": "UTC",
    "MOTORPOOL_AUTO_ASSIGN": True,
    "MOTORPOOL_MATCH_WEIGHTS": {
        "skill": 0.40, "distance": 0.25, "availability": 0.15,
        "priority_balance": 0.10, "skill_diversity": 0.05, "history": 0.05,
    },
    "MOTORPOOL_TRAVEL_SPEED_KMH": 50.0,
    "MOTORPOOL_TRAVEL_COST_PER_KM": 0.5,
    "MOTORPOOL_MAX_DISTANCE_KM": 100.0,
    "MOTORPOOL_BATCH_TIME_BUDGET_S": 1.0,
    # Notification channels in use (names provided by notifier plugins).
    "MOTORPOOL_NOTIFIERS": "console,log_file",
    # The log-file channel's alert blocks; default alerts.log in the instance folder.
    "MOTORPOOL_ALERT_LOG": None,
    # Deprecated: one JSON line per notification, still written when set.
    "MOTORPOOL_NOTIFICATION_LOG": None,
    # Delivery worker: waits between tries (the number of steps + 1 is the number of tries),
    # jitter as a fraction (0.2 = ±20 %), how long a claim holds, the pause when idle.
    "MOTORPOOL_DELIVERY_BACKOFF": "30s,2m,10m,1h,6h",
    "MOTORPOOL_DELIVERY_JITTER": 0.2,
    "MOTORPOOL_DELIVERY_LEASE_SECONDS": 300.0,
    "MOTORPOOL_DELIVERY_POLL_SECONDS": 2.0,
    # Sessions live in the database (user_sessions); the cookie only names one. A session
    # ends after this long without a request, and this long after sign-in whatever happens.
    "MOTORPOOL_SESSION_IDLE_MINUTES": 480,
    "MOTORPOOL_SESSION_MAX_HOURS": 24,
    # Failed sign-ins, counted per typed email and per address (limits notation, "; "
    # between tiers): the short window slows guessing down, the long one blocks it.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",  # one process only; use redis://… for several workers
    "RATELIMIT_STRATEGY": "moving-window",
    "RATELIMIT_KEY_PREFIX": "motorpool",
    "MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS": "5 per minute; 20 per hour",
    "MOTORPOOL_SIGN_IN_ADDRESS_LIMITS": "20 per minute; 100 per hour",
    # Comma-separated plugin names to block; applied on top of the plugin table.
    "MOTORPOOL_DISABLED_PLUGINS": "",
    # Raise instead of logging when a plugin fails (the test suite sets it).
    "MOTORPOOL_STRICT_PLUGINS": False,
}

#: Environment variables read as they are (strings) ...
_ENV_STRINGS = (
    "SECRET_KEY", "MOTORPOOL_DISABLED_PLUGINS", "SERVER_NAME", "MOTORPOOL_MATCHER",
    "MOTORPOOL_NOTIFIERS", "MOTORPOOL_NOTIFICATION_LOG", "MOTORPOOL_ALERT_LOG", "MOTORPOOL_DELIVERY_BACKOFF",
    "MOTORPOOL_CURRENCY",
    "MOTORPOOL_TIMEZONE", "RATELIMIT_STORAGE_URI", "MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS", "MOTORPOOL_SIGN_IN_ADDRESS_LIMITS",
)
#: ... those read as whole numbers ...
_ENV_INTEGERS = ("MOTORPOOL_SESSION_IDLE_MINUTES", "MOTORPOOL_SESSION_MAX_HOURS")
#: ... those read as numbers ...
_ENV_NUMBERS = ("MOTORPOOL_DELIVERY_JITTER", "MOTORPOOL_DELIVERY_LEASE_SECONDS", "MOTORPOOL_DELIVERY_POLL_SECONDS")
#: ... and those read as booleans.
_ENV_BOOLEANS = (
    "SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "MOTORPOOL_STRICT_PLUGINS", "MOTORPOOL_AUTO_ASSIGN",
    "RATELIMIT_ENABLED",
)


def check_currency(code: str) -> str:
    """The ISO 4217 code in upper case; an unknown code stops start-up with what to set."""
    from babel.numbers import UnknownCurrencyError, validate_currency

    normalised = str(code).strip().upper()
    try:
        validate_currency(normalised)
    except UnknownCurrencyError:
        raise ValueError(
            f"MOTORPOOL_CURRENCY must be an ISO 4217 currency code such as USD, EUR or GBP, not {code!r}"
        ) from None
    return normalised


def check_timezone(name: str) -> str:
    """The IANA zone name as given; an unknown zone stops start-up with what to set."""
    from app.services.local_time import parse_zone

    text = str(name).strip()
    try:
        parse_zone(text)
    except ValueError:
        raise ValueError(
            f"MOTORPOOL_TIMEZONE must be an IANA time zone name such as Europe/Berlin, America/New_York "
            f"or UTC, not {name!r}"
        ) from None
    return text


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_backoff(text: str) -> tuple[float, ...]:
    """``"30s,2m,10m,1h,6h"`` as seconds; a malformed schedule stops start-up with what to write."""
    steps = []
    for part in str(text).split(","):
        item = part.strip().lower()
        try:
            number, unit = (float(item[:-1]), item[-1]) if item and item[-1] in _UNITS else (float(item), "s")
        except ValueError:
            number, unit = -1.0, "s"
        if number <= 0:
            raise ValueError(
                f"MOTORPOOL_DELIVERY_BACKOFF must be waits separated by commas, each a positive number "
                f"with s, m, h or d, such as 30s,2m,10m,1h,6h; {part.strip()!r} is not one"
            )
        steps.append(number * _UNITS[unit])
    return tuple(steps)


def check_delivery(config: dict[str, Any]) -> None:
    """The delivery worker's settings, checked at start-up."""
    parse_backoff(config["MOTORPOOL_DELIVERY_BACKOFF"])
    jitter = float(config["MOTORPOOL_DELIVERY_JITTER"])
    if not 0 <= jitter < 1:
        raise ValueError(f"MOTORPOOL_DELIVERY_JITTER must be a fraction from 0 to below 1 (0.2 = ±20 %), not {jitter}")
    for name in ("MOTORPOOL_DELIVERY_LEASE_SECONDS", "MOTORPOOL_DELIVERY_POLL_SECONDS"):
        if float(config[name]) <= 0:
            raise ValueError(f"{name} must be a positive number of seconds, not {config[name]}")


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for PostgreSQL URLs written the usual way.

    Hosting platforms hand out ``postgres://`` or ``postgresql://`` URLs; SQLAlchemy would
    pick psycopg2 for those, which Motorpool does not install.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def default_database_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "motorpool.db")


def load_secret_key(instance_path: str) -> str:
    """Return the instance's secret key, generating and keeping one on first use."""
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    # Created readable by the owner only; O_EXCL so two workers starting at once agree.
    try:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return key_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def from_environment(environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    """The settings present in the environment, converted to their types."""
    settings: dict[str, Any] = {}
    if environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = environ["DATABASE_URL"]
    for name in _ENV_STRINGS:
        if environ.get(name):
            settings[name] = environ[name]
    for name in _ENV_INTEGERS:
        if environ.get(name):
            try:
                settings[name] = int(environ[name])
            except ValueError:
                raise ValueError(f"{name} must be a whole number, not {environ[name]!r}") from None
    for name in _ENV_NUMBERS:
        if environ.get(name):
            try:
                settings[name] = float(environ[name])
            except ValueError:
                raise ValueError(f"{name} must be a number, not {environ[name]!r}") from None
    for name in _ENV_BOOLEANS:
        if name in environ:
            settings[name] = environ[name].strip().lower() in {"1", "true", "yes", "on"}
    return settings
