"""ETags and ``If-Match``: how every API change refuses to overwrite what someone changed since.

A resource's ETag is its ``version_id`` where it has one (dispatches), else a digest of what
it holds as the API shows it (checklists, webhook subscriptions, asset types, makes/models,
locations), so that any change, from a page or the API, makes an old ETag stale. A change
needs ``If-Match`` with the ETag it was read with: 428 without it, 412 when it is stale (the
answer carries the current ETag).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from flask import request

from app.api.problems import problem


class Precondition(Exception):
    """A refused ``If-Match`` (or another precondition); ``response`` is the problem to answer."""

    def __init__(self, response) -> None:
        super().__init__(response.status)
        self.response = response


def if_match_parameter(what: str) -> dict:
    """The OpenAPI header parameter of a change to ``what``."""
    return {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": f"The ETag {what} was read with (428 without it, 412 when it changed since)."}


def etag_header(what: str) -> dict:
    """The OpenAPI ``ETag`` response header of ``what``."""
    return {"ETag": {"description": f"{what[:1].upper()}{what[1:]}'s version; send it in If-Match to change it.",
                     "schema": {"type": "string"}}}


IF_MATCH = if_match_parameter("the record")
ETAG_HEADER = etag_header("the record")


def digest(state) -> str:
    """A quoted ETag from what a record holds (anything ``json`` can write, dates as text)."""
    text = json.dumps(state, sort_keys=True, default=str, separators=(",", ":"))
    return '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"'


def etag(body: dict) -> str:
    """The ETag of a record without a version column: a digest of the body the API shows."""
    return digest(body)


def check_if_match(current: str, *, what: str, stale: Callable[[], str] | None = None) -> None:
    """``If-Match`` names ``current`` (or ``*``), else a 428 (missing) or 412 (stale) problem.

    ``what`` names the record in the 428 message ("D-2026-000001"); ``stale()`` gives the 412
    message (by default "<what> changed since you read it"), called only when it is needed
    since it may read what the record is now.
    """
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise Precondition(problem(428, f"Send If-Match with the ETag of {what} (read it with GET first), so that "
                                        "a change made meanwhile is not overwritten.", kind="precondition-required"))
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" not in tags and current not in tags:
        message = stale() if stale else f"{what[:1].upper()}{what[1:]} changed since you read it"
        raise Precondition(problem(412, f"{message} (ETag {current}). Read it again and retry.",
                                   kind="precondition-failed", headers={"ETag": current}))


def require_if_match(body: dict, what: str) -> None:
    """``check_if_match`` for a record whose ETag is the digest of ``body``."""
    check_if_match(etag(body), what=what)
