"""``/api/v1/locations``: the organisation's locations (yards, depots), for admins, through
``app.services.assets``: names unique whatever the case, latitude and longitude in range and
given together, and no deactivating a location where active assets are based. Locations are
deactivated, never deleted, as on the admin page.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import func, select

from app.api import config_resources as config
from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.problems import refusals
from app.api.schemas import MULTILINE, ONE_LINE, PageQuerySchema, page_schema
from app.models import MajorLocation, Role
from app.services import assets as asset_service

blp = Blueprint("api_locations", __name__, description="Locations (admins).")
URL_PREFIX = "/locations"
ADMIN = Role.ADMIN.value


class MajorLocationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    address = fields.String(allow_none=True, required=True)
    latitude = fields.Float(allow_none=True, required=True)
    longitude = fields.Float(allow_none=True, required=True)
    active = fields.Boolean(required=True)


class MajorLocationCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={"pattern": ONE_LINE})
    address = fields.String(allow_none=True, validate=validate.Length(max=500), metadata={"pattern": MULTILINE})
    latitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-180, 180))


class MajorLocationUpdateSchema(MajorLocationCreateSchema):
    name = fields.String(validate=validate.Length(min=1, max=200), metadata={"pattern": ONE_LINE})
    active = fields.Boolean(metadata={"description": "false deactivates (refused while active assets are based there)."})


MajorLocationPageSchema = page_schema(MajorLocationSchema, "MajorLocationPage")


def dump(location: MajorLocation) -> dict:
    return {"id": location.id, "name": location.name, "address": location.address,
            "latitude": location.latitude, "longitude": location.longitude, "active": bool(location.is_active)}


def find(location_id: int) -> MajorLocation:
    return config.find_or_404(MajorLocation, location_id, "location")


@blp.route("", methods=["GET"])
@require(ADMIN)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, MajorLocationPageSchema)
@refusals(blp, 401, 403, 422, 429)
def list_locations(args):
    """Every location by name, active or not."""
    query = select(MajorLocation).order_by(func.lower(MajorLocation.name), MajorLocation.id)
    return config.list_answer(config.page_of(query, args), dump)


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(MajorLocationCreateSchema)
@blp.response(201, MajorLocationSchema, headers={"Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_location(args):
    """A new location (the name unique whatever the case)."""
    location = asset_service.create_location(args["name"], (args.get("address") or "").strip() or None,
                                             args.get("latitude"), args.get("longitude"))
    return dump(location), 201, {"Location": url_for("api_locations.get_location", location_id=location.id)}


@blp.route("/<int:location_id>", methods=["GET"])
@require(ADMIN)
@blp.response(200, MajorLocationSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_location(location_id):
    return config.answer(dump(find(location_id)))


@blp.route("/<int:location_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(MajorLocationUpdateSchema)
@blp.response(200, MajorLocationSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_location(args, location_id):
    """Change the name, address, coordinates, or ``active``; fields left out keep their value."""
    location = find(location_id)
    return config.patch(location, args, dump=dump, what=f"location #{location.id}", change=_change,
                        set_active=asset_service.set_location_active)


def _change(location: MajorLocation, args: dict) -> None:
    asset_service.update_location(
        location, name=args.get("name", location.name), address=args.get("address", location.address),
        latitude=args.get("latitude", location.latitude), longitude=args.get("longitude", location.longitude))
