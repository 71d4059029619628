"""Error pages: every refusal says what went wrong, nothing ends in a bare 500 page."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

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

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def value_out_of_range(error: Exception):
        # A number no column can hold (SQLite cannot bind it, PostgreSQL refuses the cast): no
        # stored record has it, so this is the request's mistake, not the server's.
        db.session.rollback()
        logger.warning("refused a value the database cannot hold: %s", str(error).splitlines()[0])
        message = "A number in the request is larger than any record can have; check the link or the value typed."
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
