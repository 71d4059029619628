"""Security headers on every response, and the role check used by every view."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, request, url_for
from flask_login import current_user, login_required

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


#: Browser features no page of Motorpool uses, switched off for the site and any frame.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), interest-cohort=()"
)
#: My work alone may ask for the device's location ("Share my location"), and only for itself.
MY_WORK_PERMISSIONS_POLICY = PERMISSIONS_POLICY.replace("geolocation=()", "geolocation=(self)")
HSTS = "max-age=31536000; includeSubDomains"
#: Static files named with ``?v=<hash of the file>`` never change under that URL.
IMMUTABLE = "public, max-age=31536000, immutable"


def add_security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        # Served over HTTPS (the cookies say so): browsers keep to HTTPS for a year.
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    response.headers.pop("Server", None)
    if request.endpoint == "static" or request.endpoint == "main.favicon":
        if request.args.get("v") and response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
    elif "Cache-Control" not in response.headers:
        # Pages and fragments are personal (names, work orders, CSRF tokens): never kept by a
        # browser's or a proxy's cache, nor shown again from the back/forward cache after sign-out.
        response.headers["Cache-Control"] = "no-store"
    return response


@lru_cache(maxsize=256)
def _file_version(path: str, mtime_ns: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """The URL of a static file with ``?v=<hash of its content>``, cacheable for a year."""
    path = Path(current_app.static_folder or "") / filename
    try:
        version = _file_version(str(path), path.stat().st_mtime_ns)
    except OSError:
        return url_for("static", filename=filename)
    return url_for("static", filename=filename, v=version)


def safe_path(target: str | None) -> str | None:
    """``target`` if it is a plain path on this site (``/dispatches/?page=2``), else None.

    Refused: another host or scheme (``//evil.example``, ``https://…``), a backslash (browsers
    read ``/\\evil.example`` as ``//evil.example``), any whitespace or control character (a CR
    or LF would end up in the ``Location`` header), and anything that is not one path.
    """
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(character.isspace() or ord(character) < 32 or 127 <= ord(character) < 160 for character in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target


def roles_required(*roles: str) -> Callable:
    """Sign-in required, and one of ``roles``; anyone else gets 403."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
