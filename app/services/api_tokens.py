"""Personal API tokens: made, named, revoked by their owner; checked on every API request.

A token is ``mp_`` followed by 43 random URL-safe characters (32 bytes from ``secrets``).
Only the SHA-256 of the whole token is stored: with that much entropy a fast hash is as safe
as a slow one (nobody can guess 256 bits), and it keeps each request's check cheap; a slow
password hash would cost tens of milliseconds per API call. The first ``PREFIX_LENGTH``
characters are stored as they are, to find the row and to show which token a list line is.

A token acts as its owner with the owner's role, so it can do no more than the owner could
on the pages; a deactivated owner's tokens stop working with the owner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, User, utcnow
from app.services import text as text_rules
from app.services.errors import DomainError, NotFound, ValidationError
from app.services.transaction import transaction

TOKEN_PREFIX = "mp_"
PREFIX_LENGTH = 12  # "mp_" and 9 random characters: shown in lists, used to find the row
#: ``last_used_at`` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_EXPIRY_DAYS = 366 * 2
NAME_MAX = text_rules.column_limit(text_rules.column_of(ApiToken, "name"))


class NotAuthenticated(DomainError):
    """The request's token is missing, unknown, expired or revoked (401)."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def check_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Give the token a name that says where it is used (for example \"nightly import\").",
                              field="name")
    text_rules.check_text(name, label="The token's name", limit=NAME_MAX, multiline=False, field="name")
    return name


def expiry_in(days: int | None, now: datetime | None = None) -> datetime | None:
    """The expiry ``days`` days from now (``None``: the token does not expire)."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days; leave it empty for no expiry.",
                              field="expires_in_days")
    return (now or utcnow()) + timedelta(days=days)


def create_token(owner: User, name: str | None, *, expires_in_days: int | None = None) -> NewToken:
    """A new token for ``owner``; the returned secret is the only copy there will ever be."""
    if owner is None or not owner.is_active or owner.is_system:
        raise ValidationError("Tokens are made for active people only.", field="owner")
    name = check_name(name)
    expires_at = expiry_in(expires_in_days)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction():
        token = ApiToken(owner_id=owner.id, name=name, prefix=secret[:PREFIX_LENGTH], secret_hash=hash_secret(secret),
                         expires_at=expires_at)
        db.session.add(token)
        db.session.flush()
    return NewToken(token, secret)


def tokens_of(owner: User) -> list[ApiToken]:
    """The owner's tokens, newest first, revoked ones included (they say when)."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.owner_id == owner.id)
                                   .order_by(ApiToken.id.desc())))


def all_tokens() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.id)))


def _own(owner: User | None, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or (owner is not None and token.owner_id != owner.id):
        raise NotFound(f"Token #{token_id} does not exist, or is not yours.")
    return token


def rename_token(owner: User, token_id: int, name: str | None) -> ApiToken:
    token = _own(owner, token_id)
    name = check_name(name)
    with transaction():
        token.name = name
    return token


def revoke_token(owner: User | None, token_id: int) -> ApiToken:
    """Revoke one of ``owner``'s tokens (any token when ``owner`` is None: the command line)."""
    token = _own(owner, token_id)
    if token.revoked_at is not None:
        raise ValidationError(f"Token {token.prefix}… ({token.name}) is already revoked.", field="token")
    with transaction():
        token.revoked_at = utcnow()
    return token


def state(token: ApiToken, now: datetime | None = None) -> str:
    """"active", "expired" or "revoked"."""
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "active"


def authenticate(secret: str) -> ApiToken:
    """The live token ``secret`` names, its use noted; else ``NotAuthenticated`` saying why."""
    now = utcnow()
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise NotAuthenticated("The token is not a Motorpool API token; make one on your account page.")
    digest = hash_secret(secret)
    candidates = db.session.scalars(select(ApiToken).where(ApiToken.prefix == secret[:PREFIX_LENGTH]))
    token = next((t for t in candidates if hmac.compare_digest(t.secret_hash, digest)), None)
    if token is None:
        raise NotAuthenticated("The token is unknown; make one on your account page.")
    if token.revoked_at is not None:
        raise NotAuthenticated("The token was revoked; make a new one on your account page.")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated("The token has expired; make a new one on your account page.")
    owner = token.owner
    if owner is None or not owner.is_active:
        raise NotAuthenticated("The token's owner is deactivated.")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        with transaction():
            token.last_used_at = now
    return token
