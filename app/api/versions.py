"""ETags for records without a version column (asset types, makes/models, locations).

The ETag is a digest of the record as the API shows it, so any change anyone made since the
caller read it (page or API) makes it stale: a PATCH needs it in ``If-Match`` like a
dispatch's (428 without, 412 when stale), and no change is silently overwritten.
"""

from __future__ import annotations

import hashlib
import json

from flask import request

from app.api.dispatches import Precondition
from app.api.problems import problem

IF_MATCH = {"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
            "description": "The ETag the record was read with (428 without it, 412 when it changed since)."}
ETAG_HEADER = {"ETag": {"description": "The record's version; send it in If-Match to change it.",
                        "schema": {"type": "string"}}}


def etag(body: dict) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:20]
    return f'"{digest}"'


def require_if_match(body: dict, what: str) -> None:
    header = request.headers.get("If-Match")
    if header is None or not header.strip():
        raise Precondition(problem(428, f"Send If-Match with the ETag of {what} (read it with GET first), so that "
                                        "a change made meanwhile is not overwritten.", kind="precondition-required"))
    tags = [tag.strip().removeprefix("W/") for tag in header.split(",")]
    if "*" not in tags and etag(body) not in tags:
        raise Precondition(problem(412, f"{what} changed since you read it (ETag {etag(body)}). Read it again and "
                                        "retry.", kind="precondition-failed", headers={"ETag": etag(body)}))
