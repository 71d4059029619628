"""Small helpers shared by the dispatch views: htmx detection, safe redirects, error codes."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import request, url_for
from werkzeug.datastructures import MultiDict

from app.services.errors import DomainError


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def error_status(error: DomainError) -> int:
    """The HTTP status a refusal is answered with."""
    return error.http_status


def safe_list_url(value: str | None) -> str:
    """``value`` if it is a path of the dispatch list on this site, else the list itself."""
    default = url_for("dispatches.index")
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path != default or "\\" in value:
        return default
    return value


def args_of(url: str) -> MultiDict:
    return MultiDict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def first_error(form) -> str:
    for errors in form.errors.values():
        for error in errors:
            return error
    return "Check the form and try again."
