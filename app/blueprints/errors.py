"""Error pages: every refusal says what went wrong, nothing ends in a bare 500 page.

One helper, :func:`error_response`, decides how a refusal is shown: a whole page for a
browser navigation, and for an htmx request a small alert fragment (no top bar) that the
app script puts next to the control that was used (``HX-Retarget`` names the flash area
as the fallback). Every handler here, and any later one, answers through it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from flask_login.utils import login_url
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.blueprints.security import safe_path
from app.extensions import db, login_manager
from app.services.errors import ConcurrentUpdate, DomainError, NotFound, PermissionDenied

logger = logging.getLogger(__name__)

#: What the app script looks for: the alert's root in an htmx error answer.
ALERT_SELECTOR = ".htmx-alert"


def is_htmx_request() -> bool:
    """An htmx request that swaps a part of the page (a boosted link or a history restore wants the page)."""
    return (request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def current_page_path() -> str:
    """The path (and query) of the page the user is on: for htmx the page, not the fragment's URL."""
    current = request.headers.get("HX-Current-URL") if is_htmx_request() else None
    if current:
        parts = urlsplit(current)  # an absolute URL: keep its path and query, by the sign-in's rule
        page = safe_path(parts.path + (f"?{parts.query}" if parts.query else ""))
        if page:
            return page
    return request.full_path.rstrip("?") if request.method == "GET" else request.path


def error_response(code: int, message: str, *, title: str | None = None):
    """The answer to a refused request: a page, or for htmx an alert sized for its target
    (and for the JSON API an RFC 9457 problem)."""
    from app.api.problems import is_api_request, problem

    if is_api_request():
        return problem(code, message, title=title)
    if is_htmx_request():
        body = render_template("errors/_alert.html", code=code, message=message, title=title,
                               refresh_url=current_page_path())
        response = make_response(body, code)
        response.headers["HX-Retarget"] = "#flashes"
        response.headers["HX-Reswap"] = "innerHTML"
        response.headers["HX-Reselect"] = ALERT_SELECTOR
    else:
        response = make_response(render_template("errors/error.html", code=code, message=message, title=title), code)
    response.vary.add("HX-Request")
    return response


def not_signed_in():
    """Flask-Login's answer when nobody is signed in (never signed in, signed out elsewhere, expired).

    A page goes to the sign-in form and comes back. An htmx request must not: its target would
    get the whole sign-in page. It gets 401 and, in ``HX-Sign-In``, the sign-in URL that leads
    back to the page the user is on; the app script keeps what was typed and goes there.
    """
    if is_htmx_request():
        sign_in = url_for("auth.login", next=current_page_path())
        response = error_response(401, "You are no longer signed in. Sign in again: what you typed is kept "
                                       "and saved after you are back.")
        response.headers["HX-Sign-In"] = sign_in
        return response
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, request.url))


def register(app: Flask) -> None:
    login_manager.unauthorized_handler(not_signed_in)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        if is_htmx_request() and not current_user.is_authenticated:
            # The session ended and its CSRF token with it: the problem is signing in again.
            return not_signed_in()
        message = "The form had expired or was sent from elsewhere. Reload the page and try again."
        return error_response(400, message)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        from app.api.problems import from_domain_error, is_api_request

        if is_api_request():
            return from_domain_error(error)
        # A refusal no view caught came from the request itself (a query parameter, a path, a
        # target state no form offers): 400, unless it says the record is missing, forbidden
        # or changed meanwhile. Forms and the API answer their own refusals with http_status.
        code = error.http_status if isinstance(error, (NotFound, PermissionDenied, ConcurrentUpdate)) else 400
        return error_response(code, error.message)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        message = (f"What was sent is larger than the {limit // 1024} KB a form may be; "
                   "shorten the text (or send fewer items) and try again.")
        return error_response(413, message)

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def value_out_of_range(error: Exception):
        # Numbers and text are checked where they enter (app.services.numbers and text), so
        # this is a last line: a value the database refused to store. Nothing was saved.
        db.session.rollback()
        logger.warning("the database refused a value: %s", str(error).splitlines()[0])
        message = ("A value in the request cannot be stored (out of range, or a character the database "
                   "refuses); check what was typed and try again. Nothing was saved.")
        return error_response(400, message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        from app.api.problems import from_http_exception, is_api_request

        if is_api_request():
            return from_http_exception(error)
        return error_response(error.code, error.description)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        logger.exception("unexpected error")
        message = "Something went wrong on our side; nothing was saved. Try again, and tell an admin if it persists."
        return error_response(500, message)
