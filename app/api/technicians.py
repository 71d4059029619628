"""``/api/v1/technicians/me/position``: a technician's device reports where they are.

Through ``technicians.report_position``, the rules of My work's "Share my location": only
technicians, their own position, latitude and longitude in range, accuracy 0…100 km, and
the time it was taken neither in the future nor more than a day old.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.auth import require
from app.api.problems import refusals
from app.models import Role
from app.services import technicians as technician_service
from app.services.errors import ValidationError, ValidationErrors, each_error

blp = Blueprint("api_technicians", __name__, description="Technicians: the position their device reports.")
URL_PREFIX = "/technicians"

#: The service's field names as the API calls them, so each refusal names the field that was sent.
API_FIELDS = {"accuracy_m": "accuracy", "reported_at": "recorded_at"}


class PositionSchema(Schema):
    latitude = fields.Float(required=True, allow_nan=False, metadata={"description": "−90 … 90"})
    longitude = fields.Float(required=True, allow_nan=False, metadata={"description": "−180 … 180"})
    accuracy = fields.Float(allow_none=True, allow_nan=False, load_default=None,
                            metadata={"description": "Metres, 0 … 100,000; null when unknown."})
    recorded_at = fields.AwareDateTime(required=True, metadata={
        "description": "When the device took the position (with its zone): not in the future, at most a day old."})


class ReportedPositionSchema(PositionSchema):
    received_at = fields.AwareDateTime(required=True)


def _renamed(error: ValidationError) -> ValidationError:
    errors = [ValidationError(one.message, field=API_FIELDS.get(one.field, one.field)) for one in each_error(error)]
    return errors[0] if len(errors) == 1 else ValidationErrors(errors)


@blp.route("/me/position", methods=["PUT"])
@require(Role.TECHNICIAN.value)
@blp.arguments(PositionSchema)
@blp.response(200, ReportedPositionSchema)
@refusals(blp, 400, 401, 403, 415, 422, 429)
def report_position(args):
    """Report the technician's current position; for a while new work is matched from there."""
    try:
        position = technician_service.report_position(current_user, args["latitude"], args["longitude"],
                                                      args["accuracy"], args["recorded_at"])
    except ValidationError as error:
        raise _renamed(error) from None
    return {"latitude": position.latitude, "longitude": position.longitude, "accuracy": position.accuracy_m,
            "recorded_at": position.reported_at, "received_at": position.received_at}
