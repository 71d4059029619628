"""``/api/v1/webhook-subscriptions``: admins manage where events are sent (``webhook_subscriptions``).

The same service and rules as Admin → Webhooks. The secret is in the creating answer only,
never again. A subscription's ETag is a digest of its settings; PATCH and DELETE need it in
``If-Match`` (428 without, 412 when someone changed it since).
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import refusals
from app.api.schemas import PageQuerySchema, page_body, page_schema
from app.models import Role
from app.services import webhook_subscriptions as service
from app.services.events_feed import EVENT_TYPES
from app.services.queries import Page

blp = Blueprint("api_webhook_subscriptions", __name__,
                description="Webhook subscriptions (admins): where events are sent, and their deliveries.")
URL_PREFIX = "/webhook-subscriptions"
ADMIN = Role.ADMIN.value
IF_MATCH = versions.if_match_parameter("the subscription")
ETAG_HEADER = versions.etag_header("the subscription")
TYPES = list(EVENT_TYPES)


class SubscriptionSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    active = fields.Boolean(required=True)
    owner = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    secret_rotated_at = fields.DateTime(allow_none=True, required=True)
    last_success_at = fields.DateTime(allow_none=True, required=True)
    last_failure_at = fields.DateTime(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)


class CreatedSubscriptionSchema(SubscriptionSchema):
    secret = fields.String(required=True, metadata={"description": "Shown this once: verify signatures with it."})


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema), required=True)


class SubscriptionCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(1, service.URL_LIMIT))
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPES)), required=True,
                              validate=validate.Length(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=service.DESCRIPTION_LIMIT))


class SubscriptionUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(1, service.URL_LIMIT))
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPES)), validate=validate.Length(min=1))
    description = fields.String(validate=validate.Length(max=service.DESCRIPTION_LIMIT))
    active = fields.Boolean(metadata={"description": "false pauses, true resumes."})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise SchemaError("Send at least one of url, event_types, description, active.", "_schema")


class DeliverySchema(Schema):
    id = fields.String(required=True, metadata={"description": "The delivery's public id (webhook-id)."})
    event_type = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    dispatch_number = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)


DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")


def _body(subscription) -> dict:
    return {"id": subscription.id, "url": subscription.url, "description": subscription.description or "",
            "event_types": list(subscription.event_types or []), "active": bool(subscription.active),
            "owner": subscription.owner.name if subscription.owner is not None else None,
            "created_at": subscription.created_at, "secret_rotated_at": subscription.secret_rotated_at,
            "last_success_at": subscription.last_success_at, "last_failure_at": subscription.last_failure_at,
            "last_error": subscription.last_error}


def etag(subscription) -> str:
    return versions.digest([subscription.url, subscription.description, list(subscription.event_types or []),
                            bool(subscription.active), str(subscription.secret_rotated_at)])


def _require_if_match(subscription) -> None:
    versions.check_if_match(etag(subscription), what=f"subscription #{subscription.id}")


@blp.route("", methods=["GET"])
@require(ADMIN)
@blp.response(200, SubscriptionListSchema)
@refusals(blp, 401, 403, 429)
def list_subscriptions():
    """Every subscription, oldest first (never its secret)."""
    return {"items": [_body(view.subscription) for view in service.list_subscriptions()]}


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(SubscriptionCreateSchema)
@blp.response(201, CreatedSubscriptionSchema, headers={**ETAG_HEADER, "Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_subscription(args):
    """A new active subscription; the answer carries its secret, this once."""
    subscription, secret = service.create_subscription(url=args["url"], event_types=args["event_types"],
                                                       description=args["description"])
    location = url_for("api_webhook_subscriptions.get_subscription", subscription_id=subscription.id)
    return {**_body(subscription), "secret": secret}, 201, {"ETag": etag(subscription), "Location": location}


@blp.route("/<int:subscription_id>", methods=["GET"])
@require(ADMIN)
@blp.response(200, SubscriptionSchema, headers=ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_subscription(subscription_id):
    subscription = service.get_subscription(subscription_id)
    return _body(subscription), 200, {"ETag": etag(subscription)}


@blp.route("/<int:subscription_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(SubscriptionUpdateSchema)
@blp.response(200, SubscriptionSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_subscription(args, subscription_id):
    """Change the URL, event types or description, or pause (``active: false``) and resume it."""
    _require_if_match(service.get_subscription(subscription_id))
    subscription = service.update_subscription(subscription_id, **args)
    return _body(subscription), 200, {"ETag": etag(subscription)}


@blp.route("/<int:subscription_id>", methods=["DELETE"])
@require(ADMIN)
@blp.response(204)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, 401, 403, 404, 412, 428, 429)
@guarded
def delete_subscription(subscription_id):
    """Delete the subscription with its deliveries (its log and anything still queued)."""
    _require_if_match(service.get_subscription(subscription_id))
    service.delete_subscription(subscription_id)
    return "", 204


@blp.route("/<int:subscription_id>/deliveries", methods=["GET"])
@require(ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, DeliveryPageSchema, headers=PAGE_HEADERS)
@refusals(blp, 401, 403, 404, 422, 429)
def list_deliveries(args, subscription_id):
    """The subscription's deliveries, newest first: status, attempts, last error."""
    log = service.delivery_log(subscription_id, page=args["page"], per_page=args["per_page"])
    if args["page"] > log.pages:
        log = Page(items=[], page=args["page"], per_page=args["per_page"], total=log.total)
    rows = [{"id": d.public_id, "event_type": d.kind, "status": d.status, "attempts": d.attempts,
             "dispatch_number": d.dispatch_number, "created_at": d.created_at, "next_attempt_at": d.next_attempt_at,
             "delivered_at": d.delivered_at, "last_error": d.last_error} for d in log.items]
    return paged(page_body(log.items, log, rows), log)
