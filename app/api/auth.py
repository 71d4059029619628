"""Who calls the API: a personal token (``Authorization: Bearer …``) or a signed-in browser.

A token acts as its owner; a browser session may call the API too, but an unsafe method then
needs the page's CSRF token in ``X-CSRFToken`` (a token-authenticated call needs none: a
browser never adds the Authorization header by itself). Roles are the pages' roles.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError as CSRFInvalid

from app.api.problems import problem, unauthorized
from app.models import Role
from app.services import api_tokens

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refused(Exception):
    """A ready problem response raised from the request checks."""

    def __init__(self, response) -> None:
        super().__init__(response.status)
        self.response = response


def authenticate() -> None:
    """Before each API request: settle who calls, or refuse (401 for a bad token, 403 for CSRF)."""
    g.api_token = None
    g.api_caller = None
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Refused(unauthorized("Send the token as `Authorization: Bearer <token>`.", invalid=True))
        token = api_tokens.authenticate(secret.strip())  # NotAuthenticated: a 401 problem
        # Flask-Login's current user for this request only: nothing is written to the cookie.
        g._login_user = token.owner
        g.api_token = token
        g.api_caller = f"token:{token.id}"
        return
    if current_user.is_authenticated:
        g.api_caller = f"user:{current_user.id}"
        if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
            try:
                validate_csrf(request.headers.get("X-CSRFToken"))
            except CSRFInvalid as error:
                raise Refused(problem(
                    403, f"A signed-in browser must send the page's CSRF token in X-CSRFToken ({error}); "
                         "or call the API with a token.", kind="csrf")) from None


def caller_scope() -> str:
    return g.get("api_caller") or "anonymous"


def require(*roles: str) -> Callable:
    """Signed in (token or session), and one of ``roles`` when given; else 401 / 403 problems."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return unauthorized("Authenticate with `Authorization: Bearer <token>`; make a token on your "
                                    "account page or with `flask tokens create`.")
            if roles and not current_user.has_role(*roles):
                return problem(403, f"This needs the role {' or '.join(roles)}; you are {current_user.role}.",
                               kind="forbidden")
            return view(*args, **kwargs)

        return wrapped

    return decorator


MANAGERS = (Role.ADMIN.value, Role.MANAGER.value)
