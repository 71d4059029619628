"""``/api/v1/events``: the events feed (``events_feed.events_after``), oldest first, by cursor.

A follower passes the ``next`` of each page back as ``after``; ``Link: rel="next"`` carries
it too. Technicians see the events of their own dispatches, managers and admins all.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import request
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.auth import require
from app.api.problems import refusals
from app.services import events_feed

blp = Blueprint("api_events", __name__, description="The events feed: what happened, in order, by cursor.")
URL_PREFIX = "/events"


_NAME = r"[a-z][a-z_]*\.[a-z][a-z_]*"
TYPES_PATTERN = rf"^ *({_NAME})? *(, *({_NAME})? *)*$"


class EventsQuerySchema(Schema):
    # The patterns say what events_feed reads (a cursor's alphabet, event type names); it checks them.
    after = fields.String(validate=validate.Length(max=200),
                          metadata={"description": "The `next` of the previous page; leave out to start from the oldest.",
                                    "pattern": r"^[A-Za-z0-9_-]{1,40}$"})
    types = fields.String(validate=validate.Length(max=2000),
                          metadata={"description": "Comma-separated event types, e.g. dispatch.created,checklist.signed_off.",
                                    "pattern": TYPES_PATTERN})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, events_feed.MAX_LIMIT))


class ActorSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True)


class EventDispatchSchema(Schema):
    number = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.String(required=True)
    priority = fields.String(required=True)


class EventDataSchema(Schema):
    description = fields.String(allow_none=True, required=True)
    asset_tag = fields.String(allow_none=True, required=True)
    dispatch = fields.Nested(EventDispatchSchema, allow_none=True, required=True)


class EventSchema(Schema):
    id = fields.String(required=True)
    cursor = fields.String(required=True)
    type = fields.String(required=True)
    occurred_at = fields.String(allow_none=True, required=True, metadata={"description": "UTC ISO 8601."})
    dispatch_number = fields.String(allow_none=True, required=True)
    actor = fields.Nested(ActorSchema, allow_none=True, required=True)
    data = fields.Nested(EventDataSchema, required=True)


class FeedSchema(Schema):
    items = fields.List(fields.Nested(EventSchema), required=True)
    next = fields.String(allow_none=True, required=True, metadata={"description": "Pass as `after` for what follows."})
    has_more = fields.Boolean(required=True)


@blp.route("", methods=["GET"])
@require()
@blp.arguments(EventsQuerySchema, location="query")
@blp.response(200, FeedSchema, headers={"Link": {"description": 'rel="next": the page after this one.',
                                                 "schema": {"type": "string"}}})
@refusals(blp, 401, 422, 429)
def list_events(args):
    """Events after the cursor, oldest first, that the caller may see."""
    page = events_feed.events_after(args.get("after"), user=current_user, limit=args["limit"], types=args.get("types"))
    headers = {}
    if page.next:
        query = {key: value for key, value in request.args.items() if key != "after"}
        headers["Link"] = f'<{request.base_url}?{urlencode({**query, "after": page.next})}>; rel="next"'
    return page.as_dict(), 200, headers
