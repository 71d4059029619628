"""``Idempotency-Key`` on creating requests: the same key and body within 24 hours get the first answer.

Keys are scoped per caller (a token, or a signed-in user), so one caller's key never returns
another's answer. The key is claimed in the same transaction that creates the record: of two
concurrent requests with one key, one creates and the other is refused (409) until the first
has answered. The same key with another body is refused (422). Only a successful answer is
kept: a refused request changed nothing, so it may be sent again with the same key.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import delete, select

from app.api.auth import caller_scope
from app.api.problems import problem
from app.extensions import db
from app.models import IdempotencyKey, utcnow
from app.services.actors import current_actor_id

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
KEY_PATTERN = re.compile(r"[!-~]{1,200}")  # visible ASCII, no spaces


@dataclass
class Claim:
    row: IdempotencyKey | None


class Answer(Exception):
    """A ready response for this key (the first answer, or a refusal)."""

    def __init__(self, response) -> None:
        super().__init__(response.status)
        self.response = response


def _request_hash() -> str:
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def claim() -> Claim:
    """Inside the creating transaction: the key's row (flushed), or ``Answer`` with what to send."""
    key = request.headers.get(HEADER)
    if key is None:
        return Claim(None)
    if not KEY_PATTERN.fullmatch(key):
        raise Answer(problem(400, f"{HEADER} must be 1 to 200 visible ASCII characters (a UUID is a good key)."))
    scope = caller_scope()
    digest = _request_hash()
    db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key,
                                                    IdempotencyKey.created_at < utcnow() - LIFETIME))
    existing = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope,
                                                              IdempotencyKey.key == key))
    if existing is not None:
        raise Answer(_replay(existing, digest))
    row = IdempotencyKey(scope=scope, key=key, user_id=current_actor_id(), request_hash=digest, status_code=0,
                         response_body="")
    db.session.add(row)
    db.session.flush()  # a concurrent claim of the same key fails here (IntegrityError: see in_progress)
    return Claim(row)


def in_progress():
    return problem(409, f"Another request with this {HEADER} is being answered; send it again in a moment.",
                   kind="idempotency-in-progress")


def _replay(existing: IdempotencyKey, digest: str):
    if existing.request_hash != digest:
        return problem(422, f"This {HEADER} was used with another request body; use a new key for a new request.",
                       kind="idempotency-key-reused", errors={HEADER: ["used with another body"]})
    if not existing.status_code:
        return problem(409, f"The first request with this {HEADER} is still being answered; send it again in a moment.",
                       kind="idempotency-in-progress")
    response = current_app.response_class(existing.response_body, status=existing.status_code,
                                          mimetype="application/json")
    if existing.location:
        response.headers["Location"] = existing.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def remember(claimed: Claim, response) -> None:
    """Keep the answer to send again (called with the response, in a transaction of its own)."""
    if claimed.row is None:
        return
    from app.services.transaction import transaction

    with transaction():
        claimed.row.status_code = response.status_code
        claimed.row.response_body = response.get_data(as_text=True)
        claimed.row.location = response.headers.get("Location")
