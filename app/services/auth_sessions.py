"""Server-side sessions: one ``UserSession`` row per signed-in browser.

The signed Flask cookie only carries a random token; the row found by the token's SHA-256
decides whether the request is signed in. So signing out, a password change or a
deactivation ends sessions for real (a copied cookie stops working), and sign-in always
starts a fresh session. A session also ends after ``MOTORPOOL_SESSION_IDLE_MINUTES``
without a request and ``MOTORPOOL_SESSION_MAX_HOURS`` after sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, has_request_context, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AuthEvent, AuthEventKind, User, UserSession, utcnow
from app.services.errors import NotFound
from app.services.transaction import transaction

#: The cookie key holding the session token.
SESSION_KEY = "_motorpool_session"
#: ``last_seen_at`` is written at most this often per session, not on every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
_CURRENT = "motorpool_user_session"
_EXPIRED = "motorpool_expired_session_id"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_address() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:64] or None


def request_user_agent() -> str | None:
    if not has_request_context():
        return None
    return (request.headers.get("User-Agent") or "")[:300] or None


def record_event(kind: AuthEventKind, *, user: User | None = None, email: str | None = None,
                 detail: str | None = None) -> AuthEvent:
    """Add an event to the session (the caller's transaction commits it)."""
    event = AuthEvent(kind=kind.value, user_id=user.id if user else None,
                      email=(email if email is not None else (user.email if user else None) or "")[:254] or None,
                      address=request_address(), user_agent=request_user_agent(),
                      detail=(detail or "")[:500] or None)
    db.session.add(event)
    return event


def _idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["MOTORPOOL_SESSION_IDLE_MINUTES"])


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["MOTORPOOL_SESSION_MAX_HOURS"])


def is_expired(row: UserSession, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return now - row.last_seen_at > _idle_limit() or now - row.created_at > _max_age()


def _revoke_where(*conditions, reason: str) -> int:
    result = db.session.execute(
        update(UserSession).where(UserSession.revoked_at.is_(None), *conditions)
        .values(revoked_at=utcnow(), revoked_reason=reason[:100], updated_at=utcnow())
    )
    return result.rowcount


# --- Sign-in and sign-out ------------------------------------------------------------------


def sign_in(user: User) -> UserSession:
    """Start a new session for ``user`` in this browser.

    Whatever the cookie held before is dropped (its session row is revoked), so a token or
    CSRF token seen before sign-in is worth nothing after it.
    """
    old_token = session.get(SESSION_KEY)
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the token for the request; make a new one
    token = secrets.token_urlsafe(32)
    with transaction():
        if old_token:
            _revoke_where(UserSession.token_hash == hash_token(old_token), reason="replaced at sign-in")
        row = UserSession(user_id=user.id, token_hash=hash_token(token), address=request_address(),
                          user_agent=request_user_agent())
        db.session.add(row)
        record_event(AuthEventKind.SIGNED_IN, user=user)
    session[SESSION_KEY] = token
    login_user(user)
    g.setdefault(_CURRENT, row)
    return row


def sign_out(user: User | None) -> None:
    """End this browser's session: its row is revoked and the cookie emptied."""
    token = session.get(SESSION_KEY)
    with transaction():
        if token:
            _revoke_where(UserSession.token_hash == hash_token(token), reason="signed out")
        if user is not None and user.is_authenticated:
            record_event(AuthEventKind.SIGNED_OUT, user=user)
    logout_user()
    session.clear()


# --- Loading the signed-in user -------------------------------------------------------------


def user_for_request(user_id: str) -> User | None:
    """Flask-Login's user loader: the user of a live session row named by the cookie, or None.

    Reads only: the loader runs while ``current_user`` is being resolved, and a flush then
    would ask for the acting user again. ``touch_current_session`` writes afterwards.
    """
    token = session.get(SESSION_KEY)
    if not token or not isinstance(token, str):
        return None
    row = db.session.scalar(
        select(UserSession).where(UserSession.token_hash == hash_token(token)).options(joinedload(UserSession.user))
    )
    if row is None or row.revoked_at is not None or str(row.user_id) != str(user_id):
        return None
    if is_expired(row):
        g.setdefault(_EXPIRED, row.id)
        return None
    # A user deactivated by an admin is signed out at their next request.
    if not row.user.is_active:
        return None
    g.setdefault(_CURRENT, row)
    return row.user


def touch_current_session() -> None:
    """After the user is loaded: note activity (at most once a minute) or close an expired row."""
    # ``g`` outlives the request when an application context was already pushed (tests, a
    # request made from a command): what a previous request loaded must not be reused.
    for key in ("_login_user", _CURRENT, _EXPIRED):
        g.pop(key, None)
    # The health check must answer while the database is down: it never loads a user.
    if request.endpoint in ("static", "main.healthz") or SESSION_KEY not in session:
        return
    from flask_login import current_user

    current_user._get_current_object()  # resolves the user, which finds the row
    expired_id = g.pop(_EXPIRED, None)
    if expired_id is not None:
        with transaction():
            _revoke_where(UserSession.id == expired_id, reason="expired")
        session.pop(SESSION_KEY, None)
        return
    row: UserSession | None = g.get(_CURRENT)
    if row is not None:
        now = utcnow()
        if now - row.last_seen_at >= LAST_SEEN_RESOLUTION:
            with transaction():
                row.last_seen_at = now


def current_session() -> UserSession | None:
    return g.get(_CURRENT) if has_request_context() else None


# --- Listing and revoking -------------------------------------------------------------------


def active_sessions(user: User) -> list[UserSession]:
    """The user's live sessions, most recently used first."""
    now = utcnow()
    return list(db.session.scalars(
        select(UserSession).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None),
            UserSession.last_seen_at >= now - _idle_limit(), UserSession.created_at >= now - _max_age(),
        ).order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    ))


def revoke_all(user: User, *, reason: str, keep: UserSession | None = None) -> int:
    """End every session of ``user`` (but ``keep``); joins the caller's transaction."""
    conditions = [UserSession.user_id == user.id]
    if keep is not None:
        conditions.append(UserSession.id != keep.id)
    with transaction():
        count = _revoke_where(*conditions, reason=reason)
        if count:
            record_event(AuthEventKind.SESSIONS_REVOKED, user=user, detail=f"{count} session(s): {reason}")
    return count


def revoke_own_session(user: User, session_id: int) -> None:
    """Sign out one of the user's other sessions (from the account page)."""
    row = db.session.get(UserSession, session_id)
    if row is None or row.user_id != user.id or row.revoked_at is not None:
        raise NotFound("That session has already ended or is not yours; the list below is up to date.")
    current = current_session()
    if current is not None and current.id == row.id:
        raise NotFound("That is this browser's session; use Sign out instead.")
    with transaction():
        _revoke_where(UserSession.id == row.id, reason="signed out from another session")
        record_event(AuthEventKind.SESSIONS_REVOKED, user=user, detail="1 session: signed out from another session")


def recent_events(*, user_id: int | None = None, kind: str | None = None, limit: int = 200) -> list[AuthEvent]:
    """The newest sign-in events, optionally of one user or one kind (one query)."""
    query = select(AuthEvent).options(joinedload(AuthEvent.user))
    if user_id is not None:
        query = query.where(AuthEvent.user_id == user_id)
    if kind:
        query = query.where(AuthEvent.kind == kind)
    return list(db.session.scalars(query.order_by(AuthEvent.created_at.desc(), AuthEvent.id.desc()).limit(limit)))
