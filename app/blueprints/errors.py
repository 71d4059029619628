"""Error pages: every refusal says what went wrong, nothing ends in a bare 500 page."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app.extensions import db
from app.services.errors import ConcurrentUpdate, DomainError, NotFound, PermissionDenied

logger = logging.getLogger(__name__)


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = "The form had expired or was sent from elsewhere. Reload the page and try again."
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        code = 404 if isinstance(error, NotFound) else 403 if isinstance(error, PermissionDenied) \
            else 409 if isinstance(error, ConcurrentUpdate) else 400
        return render_template("errors/error.html", code=code, message=error.message), code

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        message = (f"What was sent is larger than the {limit // 1024} KB a form may be; "
                   "shorten the text (or send fewer items) and try again.")
        if request.headers.get("HX-Request") == "true":
            return render_template("errors/_too_large.html", code=413, message=message), 413
        return render_template("errors/error.html", code=413, message=message), 413

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def value_out_of_range(error: Exception):
        # Numbers and text are checked where they enter (app.services.numbers and text), so
        # this is a last line: a value the database refused to store. Nothing was saved.
        db.session.rollback()
        logger.warning("the database refused a value: %s", str(error).splitlines()[0])
        message = ("A value in the request cannot be stored (out of range, or a character the database "
                   "refuses); check what was typed and try again. Nothing was saved.")
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_template("errors/error.html", code=error.code, message=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        logger.exception("unexpected error")
        message = "Something went wrong on our side; nothing was saved. Try again, and tell an admin if it persists."
        return render_template("errors/error.html", code=500, message=message), 500
