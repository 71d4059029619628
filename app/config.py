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
    # How often the technician dashboard's live tiles ask for themselves again (seconds).
    "DASHBOARD_TILES_REFRESH_SECONDS": 30,
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
    # A position a technician's device shared counts for distance and travel time for this
    # many minutes after it was taken; then the engine falls back to their home base.
    "MOTORPOOL_POSITION_MAX_AGE_MINUTES": 30,
    # Notification channels in use (names provided by notifier plugins).
    "MOTORPOOL_NOTIFIERS": "console,log_file,in_app",
    # The log-file channel's alert blocks; default alerts.log in the instance folder.
    "MOTORPOOL_ALERT_LOG": None,
    # Deprecated: one JSON line per notification, still written when set.
    "MOTORPOOL_NOTIFICATION_LOG": None,
    # Email channel (SMTP). Security: "starttls" (port 587), "tls" (implicit TLS, port 465)
    # or "none" (port 25, a relay on a trusted network). The port defaults by security.
    "MOTORPOOL_SMTP_HOST": None,
    "MOTORPOOL_SMTP_PORT": None,
    "MOTORPOOL_SMTP_SECURITY": "starttls",
    "MOTORPOOL_SMTP_USERNAME": None,
    "MOTORPOOL_SMTP_PASSWORD": None,
    "MOTORPOOL_SMTP_FROM": None,
    "MOTORPOOL_SMTP_TIMEOUT": 10.0,
    # A CA bundle (PEM) to trust instead of the system's, for a relay with a private CA.
    "MOTORPOOL_SMTP_CA_FILE": None,
    # Webhook channels: generic JSON signed per Standard Webhooks (secret "whsec_…"), Slack
    # and Microsoft Teams incoming webhooks. Refusing private addresses stops a webhook URL
    # from reaching services inside the network (checked after DNS resolution).
    "MOTORPOOL_WEBHOOK_URL": None,
    "MOTORPOOL_WEBHOOK_SECRET": None,
    "MOTORPOOL_SLACK_WEBHOOK_URL": None,
    "MOTORPOOL_TEAMS_WEBHOOK_URL": None,
    "MOTORPOOL_WEBHOOK_TIMEOUT": 10.0,
    "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE": False,
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
    # The JSON API (docs/api.md): requests per token and per client address; CORS origins.
    "MOTORPOOL_API_TOKEN_LIMITS": "120 per minute; 5000 per hour",
    "MOTORPOOL_API_ADDRESS_LIMITS": "300 per minute",
    "MOTORPOOL_API_CORS_ORIGINS": "",
    # The alert check (app/services/alerting.py): metrics are read over the last this many
    # hours; a repeat of an open alert is not notified again inside the suppression window;
    # a critical alert nobody acknowledges within the escalation time goes to the admins;
    # quiet hours ("22:00-06:00", wall clock in MOTORPOOL_TIMEZONE, empty for none) hold
    # non-critical notifications for one digest. Admins can change all but the window on
    # the alerting settings page; these are the defaults until they do.
    "MOTORPOOL_METRIC_WINDOW_HOURS": 24.0,
    "MOTORPOOL_ALERT_SUPPRESSION_MINUTES": 30,
    "MOTORPOOL_ALERT_ESCALATION_MINUTES": 30,
    "MOTORPOOL_ALERT_QUIET_HOURS": "",
    # Per-category thresholds over the checks' own: {"pending_queue": {"warning": 15, "critical": 30}};
    # bands for "outside" checks as [low, high] pairs.
    "MOTORPOOL_ALERT_THRESHOLDS": {},
    # How many completions a technician needs before their first-time-fix rate counts.
    "MOTORPOOL_FTF_MIN_SAMPLE": 5,
    # How many shift hours a technician needs in the window before their utilisation counts.
    "MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS": 4.0,
    # Comma-separated plugin names to block; applied on top of the plugin table.
    "MOTORPOOL_DISABLED_PLUGINS": "",
    # Raise instead of logging when a plugin fails (the test suite sets it).
    "MOTORPOOL_STRICT_PLUGINS": False,
    # The scheduler's defaults (admins may change them on /admin/scheduler): minutes between
    # runs, or a local time ("HH:MM") in MOTORPOOL_TIMEZONE, with a weekday ("mon 09:00").
    "MOTORPOOL_SCHEDULE_ALERT_CHECK_MINUTES": 5,
    "MOTORPOOL_SCHEDULE_ASSIGN_PENDING_MINUTES": 10,
    "MOTORPOOL_SCHEDULE_DAILY_SUMMARY": "08:00",
    "MOTORPOOL_SCHEDULE_WEEKLY_SUMMARY": "mon 09:00",
    "MOTORPOOL_SCHEDULE_RETENTION": "03:30",
    "MOTORPOOL_SCHEDULE_WARM_DAYS": "00:05",
    # How many finished days before today the warm-days job (and `flask rollups warm`) keeps.
    "MOTORPOOL_WARM_DAYS": 400,
    # A run still "running" this long after it started is taken as abandoned (its process died).
    "MOTORPOOL_SCHEDULE_STALE_MINUTES": 120,
    # Retention (days): ended sessions, sign-in events, job runs.
    "MOTORPOOL_RETAIN_SESSIONS_DAYS": 30,
    "MOTORPOOL_RETAIN_AUTH_EVENTS_DAYS": 90,
    "MOTORPOOL_RETAIN_JOB_RUNS_DAYS": 30,
}

#: Environment variables read as they are (strings) ...
_ENV_STRINGS = (
    "SECRET_KEY", "MOTORPOOL_DISABLED_PLUGINS", "SERVER_NAME", "MOTORPOOL_MATCHER",
    "MOTORPOOL_NOTIFIERS", "MOTORPOOL_NOTIFICATION_LOG", "MOTORPOOL_ALERT_LOG", "MOTORPOOL_DELIVERY_BACKOFF",
    "MOTORPOOL_CURRENCY",
    "MOTORPOOL_TIMEZONE", "MOTORPOOL_ALERT_QUIET_HOURS", "RATELIMIT_STORAGE_URI", "MOTORPOOL_SIGN_IN_ACCOUNT_LIMITS",
    "MOTORPOOL_SIGN_IN_ADDRESS_LIMITS", "MOTORPOOL_API_TOKEN_LIMITS", "MOTORPOOL_API_ADDRESS_LIMITS",
    "MOTORPOOL_API_CORS_ORIGINS",
    "MOTORPOOL_SMTP_HOST", "MOTORPOOL_SMTP_SECURITY", "MOTORPOOL_SMTP_USERNAME", "MOTORPOOL_SMTP_PASSWORD",
    "MOTORPOOL_SMTP_FROM", "MOTORPOOL_SMTP_CA_FILE", "MOTORPOOL_WEBHOOK_URL", "MOTORPOOL_WEBHOOK_SECRET", "MOTORPOOL_SLACK_WEBHOOK_URL",
    "MOTORPOOL_TEAMS_WEBHOOK_URL", "MOTORPOOL_SCHEDULE_DAILY_SUMMARY", "MOTORPOOL_SCHEDULE_WEEKLY_SUMMARY",
    "MOTORPOOL_SCHEDULE_RETENTION", "MOTORPOOL_SCHEDULE_WARM_DAYS",
)
#: ... those read as whole numbers ...
_ENV_INTEGERS = (
    "MOTORPOOL_SESSION_IDLE_MINUTES", "MOTORPOOL_SESSION_MAX_HOURS", "MOTORPOOL_SMTP_PORT",
    "MOTORPOOL_ALERT_SUPPRESSION_MINUTES", "MOTORPOOL_ALERT_ESCALATION_MINUTES", "MOTORPOOL_FTF_MIN_SAMPLE",
    "MOTORPOOL_SCHEDULE_ALERT_CHECK_MINUTES", "MOTORPOOL_SCHEDULE_ASSIGN_PENDING_MINUTES", "MOTORPOOL_SCHEDULE_STALE_MINUTES",
    "MOTORPOOL_RETAIN_SESSIONS_DAYS", "MOTORPOOL_RETAIN_AUTH_EVENTS_DAYS", "MOTORPOOL_RETAIN_JOB_RUNS_DAYS",
    "MOTORPOOL_POSITION_MAX_AGE_MINUTES", "MOTORPOOL_WARM_DAYS",
)
#: ... those read as numbers ...
_ENV_NUMBERS = (
    "MOTORPOOL_SMTP_TIMEOUT", "MOTORPOOL_WEBHOOK_TIMEOUT", "MOTORPOOL_METRIC_WINDOW_HOURS",
    "MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS",
    "MOTORPOOL_DELIVERY_JITTER", "MOTORPOOL_DELIVERY_LEASE_SECONDS", "MOTORPOOL_DELIVERY_POLL_SECONDS",
)
#: ... and those read as booleans.
_ENV_BOOLEANS = (
    "SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "MOTORPOOL_STRICT_PLUGINS", "MOTORPOOL_AUTO_ASSIGN",
    "RATELIMIT_ENABLED", "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE",
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


SMTP_SECURITY = {"starttls": 587, "tls": 465, "none": 25}  # mode → default port
#: Settings that are never shown back (pages, logs, error messages).
SECRET_SETTINGS = frozenset({"SECRET_KEY", "MOTORPOOL_SMTP_PASSWORD", "MOTORPOOL_WEBHOOK_SECRET"})
#: Channel → the settings it reads and, of those, the ones it cannot work without.
CHANNEL_SETTINGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "email": (
        ("MOTORPOOL_SMTP_HOST", "MOTORPOOL_SMTP_PORT", "MOTORPOOL_SMTP_SECURITY", "MOTORPOOL_SMTP_USERNAME",
         "MOTORPOOL_SMTP_PASSWORD", "MOTORPOOL_SMTP_FROM", "MOTORPOOL_SMTP_TIMEOUT", "MOTORPOOL_SMTP_CA_FILE"),
        ("MOTORPOOL_SMTP_HOST", "MOTORPOOL_SMTP_FROM"),
    ),
    "webhook": (
        ("MOTORPOOL_WEBHOOK_URL", "MOTORPOOL_WEBHOOK_SECRET", "MOTORPOOL_WEBHOOK_TIMEOUT",
         "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE"),
        ("MOTORPOOL_WEBHOOK_URL", "MOTORPOOL_WEBHOOK_SECRET"),
    ),
    "slack": (("MOTORPOOL_SLACK_WEBHOOK_URL", "MOTORPOOL_WEBHOOK_TIMEOUT", "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE"),
              ("MOTORPOOL_SLACK_WEBHOOK_URL",)),
    "teams": (("MOTORPOOL_TEAMS_WEBHOOK_URL", "MOTORPOOL_WEBHOOK_TIMEOUT", "MOTORPOOL_WEBHOOK_REFUSE_PRIVATE"),
              ("MOTORPOOL_TEAMS_WEBHOOK_URL",)),
}


def active_notifiers(config: dict[str, Any]) -> set[str]:
    return {name.strip() for name in str(config.get("MOTORPOOL_NOTIFIERS") or "").split(",") if name.strip()}


def _seconds(config: dict[str, Any], name: str) -> float:
    value = config.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 300:
        raise ValueError(f"{name} must be a number of seconds between 0 and 300 such as 10, not {value!r}")
    return float(value)


def check_required_channel_settings(config: dict[str, Any], channels: set[str]) -> None:
    """Refuse to start when an active built-in channel misses a setting it cannot work without.

    ``channels``: the active channel names that the built-in channel plugins provide (an
    installed plugin may provide a channel of the same name, with settings of its own).
    """
    for channel, (_names, required) in CHANNEL_SETTINGS.items():
        if channel in channels:
            missing = [name for name in required if not str(config.get(name) or "").strip()]
            if missing:
                raise ValueError(
                    f"the {channel} channel is active (MOTORPOOL_NOTIFIERS) but {', '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not set; set "
                    f"{'it' if len(missing) == 1 else 'them'}, or remove {channel} from MOTORPOOL_NOTIFIERS"
                )


def check_channels(config: dict[str, Any]) -> None:
    """Refuse channel settings that cannot work, saying what to set; normalises values in place.

    A value that is given is always checked (a wrong URL scheme is wrong whether or not its
    channel is on); missing values are ``check_required_channel_settings``'s, once the
    plugins are known. The password and secret are never part of a message.
    """
    from app.services.webhook_urls import check_url

    active = active_notifiers(config)
    security = str(config.get("MOTORPOOL_SMTP_SECURITY") or "").strip().lower()
    if security not in SMTP_SECURITY:
        raise ValueError(
            f"MOTORPOOL_SMTP_SECURITY must be starttls, tls or none, not {config.get('MOTORPOOL_SMTP_SECURITY')!r}"
        )
    config["MOTORPOOL_SMTP_SECURITY"] = security
    port = config.get("MOTORPOOL_SMTP_PORT")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise ValueError(f"MOTORPOOL_SMTP_PORT must be a port number between 1 and 65535, not {port!r}")
    if bool(config.get("MOTORPOOL_SMTP_USERNAME")) != bool(config.get("MOTORPOOL_SMTP_PASSWORD")):
        given, other = (("MOTORPOOL_SMTP_USERNAME", "MOTORPOOL_SMTP_PASSWORD")
                        if config.get("MOTORPOOL_SMTP_USERNAME") else ("MOTORPOOL_SMTP_PASSWORD", "MOTORPOOL_SMTP_USERNAME"))
        raise ValueError(f"{given} is set but {other} is not; set both to sign in to the SMTP server, or neither")
    if config.get("MOTORPOOL_SMTP_USERNAME") and security == "none" and "email" in active:
        # Sending a password over a connection anyone on the path can read is refused.
        raise ValueError(
            "MOTORPOOL_SMTP_USERNAME is set with MOTORPOOL_SMTP_SECURITY=none, which would send the password "
            "unencrypted; use starttls or tls"
        )
    sender = config.get("MOTORPOOL_SMTP_FROM")
    if sender and "@" not in str(sender):
        raise ValueError(f"MOTORPOOL_SMTP_FROM must be an email address such as motorpool@example.com, not {sender!r}")
    ca_file = config.get("MOTORPOOL_SMTP_CA_FILE")
    if ca_file and not Path(str(ca_file)).is_file():
        raise ValueError(f"MOTORPOOL_SMTP_CA_FILE must be a readable PEM file of CA certificates; {ca_file!r} is not a file")
    config["MOTORPOOL_SMTP_TIMEOUT"] = _seconds(config, "MOTORPOOL_SMTP_TIMEOUT")
    config["MOTORPOOL_WEBHOOK_TIMEOUT"] = _seconds(config, "MOTORPOOL_WEBHOOK_TIMEOUT")

    for name in ("MOTORPOOL_WEBHOOK_URL", "MOTORPOOL_SLACK_WEBHOOK_URL", "MOTORPOOL_TEAMS_WEBHOOK_URL"):
        if config.get(name):
            problem = check_url(str(config[name]))
            if problem:
                raise ValueError(f"{name} {problem}")
    secret = config.get("MOTORPOOL_WEBHOOK_SECRET")
    if secret:
        import base64
        import binascii

        text = str(secret).strip()
        body = text.removeprefix("whsec_")
        try:
            if not text.startswith("whsec_") or not base64.b64decode(body + "=" * (-len(body) % 4), validate=True):
                raise ValueError
        except (ValueError, binascii.Error):
            raise ValueError(
                "MOTORPOOL_WEBHOOK_SECRET must be a Standard Webhooks secret: whsec_ followed by base64 "
                "(for example the output of: python -c \"import base64, os; "
                "print('whsec_' + base64.b64encode(os.urandom(32)).decode())\")"
            ) from None


def parse_quiet_hours(text: str | None) -> tuple[str, str] | None:
    """``"22:00-06:00"`` as ``("22:00", "06:00")``; empty is None (no quiet hours)."""
    value = str(text or "").strip()
    if not value:
        return None
    parts = [part.strip() for part in value.split("-")]
    if len(parts) != 2 or not all(_is_clock_time(part) for part in parts) or parts[0] == parts[1]:
        raise ValueError(
            f"MOTORPOOL_ALERT_QUIET_HOURS must be two different times HH:MM-HH:MM such as 22:00-06:00, "
            f"or empty for none, not {text!r}"
        )
    return parts[0], parts[1]


def _is_clock_time(text: str) -> bool:
    hours, _, minutes = text.partition(":")
    return (len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
            and int(hours) < 24 and int(minutes) < 60)


def check_alert_settings(config: dict[str, Any]) -> None:
    """Stop start-up with what to set when an alert setting cannot work (the window: ``check_metric_settings``)."""
    for name, low, high in (("MOTORPOOL_ALERT_SUPPRESSION_MINUTES", 0, 1440),
                            ("MOTORPOOL_ALERT_ESCALATION_MINUTES", 1, 10080)):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number of minutes from {low} to {high}, not {value!r}")
    parse_quiet_hours(config["MOTORPOOL_ALERT_QUIET_HOURS"])
    thresholds = config["MOTORPOOL_ALERT_THRESHOLDS"]
    if not isinstance(thresholds, dict):
        raise ValueError("MOTORPOOL_ALERT_THRESHOLDS must map categories to {'warning': …, 'critical': …}")
    for category, given in thresholds.items():
        if not isinstance(given, dict) or set(given) != {"warning", "critical"}:
            raise ValueError(f"MOTORPOOL_ALERT_THRESHOLDS[{category!r}] must be {{'warning': …, 'critical': …}}, "
                             f"not {given!r}")
def check_metric_settings(config: dict[str, Any]) -> None:
    """Stop start-up on a metric window or sample size that cannot work, saying what to set."""
    hours = config["MOTORPOOL_METRIC_WINDOW_HOURS"]
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 366:
        raise ValueError(
            f"MOTORPOOL_METRIC_WINDOW_HOURS must be a number of hours above 0 and at most 8784 (a year), "
            f"such as 24, not {hours!r}"
        )
    sample = config["MOTORPOOL_FTF_MIN_SAMPLE"]
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 1:
        raise ValueError(f"MOTORPOOL_FTF_MIN_SAMPLE must be a whole number of at least 1, such as 5, not {sample!r}")
    least = config["MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS"]
    if isinstance(least, bool) or not isinstance(least, int | float) or not 0 <= least <= 168:
        raise ValueError(f"MOTORPOOL_UTILISATION_MIN_SHIFT_HOURS must be a number of hours from 0 to 168, "
                         f"such as 4, not {least!r}")


def check_schedules(config: dict[str, Any]) -> None:
    """Each job's configured schedule and each retention period; a bad one stops start-up with what to set."""
    from app.services.scheduler import parse_daily, parse_interval, parse_weekly

    for name in ("MOTORPOOL_SCHEDULE_ALERT_CHECK_MINUTES", "MOTORPOOL_SCHEDULE_ASSIGN_PENDING_MINUTES"):
        try:
            config[name] = parse_interval(config[name])
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    for name, parse in (("MOTORPOOL_SCHEDULE_DAILY_SUMMARY", parse_daily), ("MOTORPOOL_SCHEDULE_RETENTION", parse_daily),
                        ("MOTORPOOL_SCHEDULE_WARM_DAYS", parse_daily),
                        ("MOTORPOOL_SCHEDULE_WEEKLY_SUMMARY", parse_weekly)):
        try:
            parse(config[name])
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None
    for name in ("MOTORPOOL_SCHEDULE_STALE_MINUTES", "MOTORPOOL_RETAIN_SESSIONS_DAYS",
                 "MOTORPOOL_RETAIN_AUTH_EVENTS_DAYS", "MOTORPOOL_RETAIN_JOB_RUNS_DAYS"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    from app.services.warm_days import check_days

    try:
        check_days(config["MOTORPOOL_WARM_DAYS"])
    except ValueError as error:
        raise ValueError(f"MOTORPOOL_WARM_DAYS: {error}") from None


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
                raise ValueError(f"{name} must be a number such as 10, not {environ[name]!r}") from None
    for name in _ENV_BOOLEANS:
        if name in environ:
            settings[name] = environ[name].strip().lower() in {"1", "true", "yes", "on"}
    return settings
