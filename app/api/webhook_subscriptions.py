"""``/api/v1/webhook-subscriptions``: admins manage where events are sent (``webhook_subscriptions``).

The same service and rules as Admin → Webhooks. The secret is in the creating (or rotating)
answer only, never again. A subscription's ETag is a digest of its settings; PATCH, DELETE and
a secret rotation need it in ``If-Match`` (428 without, 412 when someone changed it since).
Sending a test event and retrying a delivery change no setting, so they need none.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as SchemaError

from app.api import links, versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import refusals
from app.api.schemas import ONE_LINE, PageQuerySchema, page_body, page_schema
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
_ID = {"subscription_id": "$response.body#/id"}
_ONE = "/webhook-subscriptions/{subscription_id}"
#: Where a created subscription leads: its id, and its ETag for If-Match.
SUBSCRIPTION_LINKS = {
    "GetSubscription": links.link(_ONE, "GET", "Read the subscription.", _ID),
    "UpdateSubscription": links.link(_ONE, "PATCH", "Change or pause it, with the ETag of this answer.",
                                     {**_ID, **links.IF_MATCH}),
    "DeleteSubscription": links.link(_ONE, "DELETE", "Delete it.", {**_ID, **links.IF_MATCH}),
    "RotateSecret": links.link(_ONE + "/secret-rotation", "POST", "Give it a new secret.", {**_ID, **links.IF_MATCH}),
    "SendTest": links.link(_ONE + "/test-deliveries", "POST", "Send it a test event.", _ID),
    "ListDeliveries": links.link(_ONE + "/deliveries", "GET", "Its delivery log.", _ID),
}
#: Where a queued test delivery leads: retrying it (it waits, so it can be).
DELIVERY_LINKS = {
    "RetryDelivery": links.link(_ONE + "/deliveries/{delivery_id}/retry", "POST", "Send it again now.",
                                {"subscription_id": "$response.body#/subscription_id",
                                 "delivery_id": "$response.body#/id"}),
}


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


#: What ``webhook_urls.check_url`` takes, as a pattern: http(s), a host (a name or IPv4 address), an
#: optional port, and no space or control character. The service checks it and says what is wrong.
URL_PATTERN = (r"^https?://([A-Za-z0-9._~%!$&'()*+,;=:-]*@)?"
               r"[A-Za-z0-9._~%!$&'()*+,;=-]+"
               r"(:([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
               r"([/?#][^\x00-\x20\x7f-\x9f]*)?$")
URL_DOC = {"pattern": URL_PATTERN, "minLength": 1, "maxLength": service.URL_LIMIT,
           "description": "Where events are sent: http:// or https://, such as https://hooks.example.com/motorpool."}


class SubscriptionCreateSchema(Schema):
    url = fields.String(required=True, metadata=URL_DOC)
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPES)), required=True,
                              validate=validate.Length(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=service.DESCRIPTION_LIMIT),
                                metadata={"pattern": ONE_LINE})


class SubscriptionUpdateSchema(Schema):
    OPENAPI = {"minProperties": 1}  # something to change (``_something``)

    url = fields.String(metadata=URL_DOC)
    event_types = fields.List(fields.String(validate=validate.OneOf(TYPES)), validate=validate.Length(min=1))
    description = fields.String(validate=validate.Length(max=service.DESCRIPTION_LIMIT), metadata={"pattern": ONE_LINE})
    active = fields.Boolean(metadata={"description": "false pauses, true resumes."})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise SchemaError("Send at least one of url, event_types, description, active.", "_schema")


class DeliverySchema(Schema):
    id = fields.String(required=True, metadata={"description": "The delivery's public id (webhook-id)."})
    subscription_id = fields.Integer(required=True)
    event_type = fields.String(required=True)
    status = fields.String(required=True)
    attempts = fields.Integer(required=True)
    dispatch_number = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)


DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")
#: A delivery's public id as the log gives it (a UUID); anything else names no delivery.
DELIVERY_ID = f"^{service.PUBLIC_ID.pattern}$"


def _body(subscription) -> dict:
    return {"id": subscription.id, "url": subscription.url, "description": subscription.description or "",
            "event_types": list(subscription.event_types or []), "active": bool(subscription.active),
            "owner": subscription.owner.name if subscription.owner is not None else None,
            "created_at": subscription.created_at, "secret_rotated_at": subscription.secret_rotated_at,
            "last_success_at": subscription.last_success_at, "last_failure_at": subscription.last_failure_at,
            "last_error": subscription.last_error}


def _delivery(row) -> dict:
    return {"id": row.public_id, "subscription_id": row.subscription_id, "event_type": row.kind,
            "status": row.status, "attempts": row.attempts, "dispatch_number": row.dispatch_number, "created_at": row.created_at,
            "next_attempt_at": row.next_attempt_at, "delivered_at": row.delivered_at, "last_error": row.last_error}


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
@blp.doc(**links.responses(201, **SUBSCRIPTION_LINKS))
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
    return paged(page_body(log.items, log, [_delivery(d) for d in log.items]), log)


@blp.route("/<int:subscription_id>/secret-rotation", methods=["POST"])
@require(ADMIN)
@blp.response(200, CreatedSubscriptionSchema, headers=ETAG_HEADER)
@blp.doc(parameters=[IF_MATCH])
@refusals(blp, 401, 403, 404, 412, 428, 429)
@guarded
def rotate_secret(subscription_id):
    """A new secret at once, in this answer only; the old one stops verifying from now on.

    Every delivery sent from now on, retries of older ones too, is signed with the new secret.
    """
    _require_if_match(service.get_subscription(subscription_id))
    subscription, secret = service.rotate_secret(subscription_id)
    return {**_body(subscription), "secret": secret}, 200, {"ETag": etag(subscription)}


@blp.route("/<int:subscription_id>/test-deliveries", methods=["POST"])
@require(ADMIN)
@blp.response(202, DeliverySchema, headers={"Location": {"schema": {"type": "string"}}})
@blp.doc(**links.responses(202, **DELIVERY_LINKS))
@refusals(blp, 401, 403, 404, 422, 429)
def send_test(subscription_id):
    """Queue a ``webhook.test`` event for this subscription alone, whatever its event types.

    The delivery worker sends it on its next round; follow it in the delivery log. A paused
    subscription is refused (422): resume it first.
    """
    row = service.send_test(subscription_id)
    location = url_for("api_webhook_subscriptions.list_deliveries", subscription_id=subscription_id)
    return _delivery(row), 202, {"Location": location}


@blp.route("/<int:subscription_id>/deliveries/<string:delivery_id>/retry", methods=["POST"])
@require(ADMIN)
@blp.response(200, DeliverySchema)
@blp.doc(parameters=[{"in": "path", "name": "delivery_id", "required": True,
                      "schema": {"type": "string", "pattern": DELIVERY_ID},
                      "description": "The delivery's id from the log (webhook-id)."}])
@refusals(blp, 401, 403, 404, 422, 429)
def retry_delivery(subscription_id, delivery_id):
    """Send a dead or waiting delivery again now, with a fresh set of tries.

    A delivery already sent, or being sent, is refused (422), and so is any delivery of a
    paused subscription: resume it first.
    """
    return _delivery(service.retry_delivery(subscription_id, delivery_id))
