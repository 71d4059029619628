"""``/api/v1/technicians``: technicians with their profiles, skills and availability, and the
position a technician's device reports.

Managers and admins read every technician; a technician reads their own (another's is a
404). Admins change them, through the services Admin → Technicians and ``flask technicians``
use (``app.services.technicians``, ``app.services.matching``), with their rules: values in
range (every refused one named at once), a home base at a location with coordinates or typed
coordinates, a capacity not below the work already held, levels 1–5 of skills in the
catalogue, a reason for being unavailable and an end in the future; the dispatches of a
technician made unavailable that have not started go to their fallbacks.

``PUT /me/position`` goes through ``technicians.report_position``, the rules of My work's
"Share my location": only technicians, their own position, latitude and longitude in range,
accuracy 0…100 km, and the time it was taken neither in the future nor more than a day old.
"""

from __future__ import annotations

from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api import config_resources as config
from app.api import versions
from app.api.auth import MANAGERS, require
from app.api.dispatches import guarded
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import refusals
from app.api.schemas import ONE_LINE, Id, PageQuerySchema, page_body, page_schema
from app.models import Availability, Role, Skill, TechnicianProfile, User
from app.services import technicians as technician_service
from app.services.errors import NotFound, ValidationError, ValidationErrors, each_error

blp = Blueprint("api_technicians", __name__, description="Technicians: profiles, skills, availability, and the "
                                                         "position their device reports.")
URL_PREFIX = "/technicians"
ADMIN = Role.ADMIN.value
AVAILABILITIES = [a.value for a in Availability]

#: The service's field names as the API calls them, so each refusal names the field that was sent.
API_FIELDS = {"accuracy_m": "accuracy", "reported_at": "recorded_at", "unavailable_reason": "reason",
              "unavailable_until": "until"}


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


# --- Profiles ---------------------------------------------------------------------------


def _number(minimum: float | None = None, maximum: float | None = None, *, integer: bool = False,
            description: str = "", **kwargs):
    """A number whose range the OpenAPI document states; the service refuses one outside it
    with a message that names the field (so the range is not checked twice here)."""
    metadata = {"description": description}
    if minimum is not None:
        metadata["minimum"] = minimum
    if maximum is not None:
        metadata["maximum"] = maximum
    if integer:
        return fields.Integer(strict=True, metadata=metadata, **kwargs)
    return fields.Float(allow_nan=False, metadata=metadata, **kwargs)


class HeldSkillSchema(Schema):
    skill_id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True)
    level = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 5})


class ProfileSchema(Schema):
    home_latitude = fields.Float(allow_none=True, required=True)
    home_longitude = fields.Float(allow_none=True, required=True)
    hourly_rate = fields.Float(required=True)
    overtime_multiplier = fields.Float(required=True)
    shift_days = fields.String(required=True, metadata={"description": "ISO weekdays worked: 1 = Monday … 7 = Sunday."})
    shift_start = fields.Time(required=True, metadata={"description": "Wall time in the technician's zone."})
    shift_end = fields.Time(required=True, metadata={"description": "Wall time in the technician's zone."})
    max_concurrent_dispatches = fields.Integer(required=True)
    max_hours_per_week = fields.Float(required=True)
    active_dispatch_count = fields.Integer(required=True, metadata={"description": "Open dispatches counted against "
                                                                                   "the maximum."})
    availability = fields.String(required=True, validate=validate.OneOf(AVAILABILITIES))
    unavailable_reason = fields.String(allow_none=True, required=True)
    unavailable_until = fields.AwareDateTime(allow_none=True, required=True)


class TechnicianSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(required=True)
    active = fields.Boolean(required=True, metadata={"description": "The account (Admin → Users)."})
    time_zone = fields.String(allow_none=True, required=True,
                              metadata={"description": "IANA zone of the shift times; null is the organisation's."})
    profile = fields.Nested(ProfileSchema, allow_none=True, required=True,
                            metadata={"description": "null until an admin saves one (the technician is not matched "
                                                     "before)."})
    skills = fields.List(fields.Nested(HeldSkillSchema), required=True)


class ProfileUpdateSchema(Schema):
    home_location_id = Id(metadata={"description": "The home base is this active location's coordinates "
                                                   "(instead of home_latitude and home_longitude)."})
    home_latitude = _number(-90, 90, allow_none=True)
    home_longitude = _number(-180, 180, allow_none=True)
    hourly_rate = _number(0, 100_000)
    overtime_multiplier = _number(1, 10, description="1.5 = time and a half.")
    shift_days = fields.String(validate=validate.Length(min=1, max=7), metadata={
        "description": "ISO weekday digits, each once: 1 = Monday … 7 = Sunday, e.g. 12345.", "pattern": "^[1-7]+$"})
    shift_start = fields.Time(metadata={"description": "Wall time in the technician's zone, e.g. 07:00."})
    shift_end = fields.Time(metadata={"description": "Wall time in the technician's zone, e.g. 17:00."})
    max_concurrent_dispatches = _number(1, 100, integer=True,
                                        description="Not below the open dispatches the technician holds.")
    max_hours_per_week = _number(0, 168, description="More than 0.")


class TechnicianQuerySchema(PageQuerySchema):
    active = fields.Boolean()
    availability = fields.String(validate=validate.OneOf(AVAILABILITIES))
    skill = Id(strict=False, metadata={"description": "A skill's id: technicians who hold it (an unknown id is a "
                                                     "422)."})
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Text in the name or email."})


class SkillLevelSchema(Schema):
    level = fields.Integer(strict=True, required=True, metadata={"minimum": 1, "maximum": 5})


class AvailabilitySchema(Schema):
    available = fields.Boolean(required=True, metadata={"description": "false takes the technician out of "
                                                                       "matching; true brings them back."})
    reason = fields.String(validate=[validate.Length(max=500), validate.Regexp(ONE_LINE)], metadata={
        "description": "Why (required with available false).", "pattern": ONE_LINE})
    until = fields.AwareDateTime(allow_none=True, metadata={
        "description": "With available false: back by itself at this time (in the future); null or left out: "
                       "until made available again."})


class AvailabilityResultSchema(Schema):
    technician = fields.Nested(TechnicianSchema, required=True)
    dispatches = fields.List(fields.String(), required=True, metadata={
        "description": "Made unavailable: their dispatches not yet started (Assigned ones went to the fallbacks, "
                       "En Route ones are left to a manager)."})


TechnicianPageSchema = page_schema(TechnicianSchema, "TechnicianPage")


def dump_skills(profile: TechnicianProfile | None) -> list[dict]:
    held = sorted(profile.skills if profile is not None else [], key=lambda one: (one.skill.name, one.skill_id))
    return [{"skill_id": one.skill_id, "name": one.skill.name, "category": one.skill.category, "level": one.level}
            for one in held]


def dump(user: User, profile: TechnicianProfile | None) -> dict:
    body = {"id": user.id, "name": user.name, "email": user.email, "active": bool(user.is_active_user),
            "time_zone": user.time_zone, "profile": None, "skills": dump_skills(profile)}
    if profile is not None:
        body["profile"] = {
            name: getattr(profile, name) for name in (
                "home_latitude", "home_longitude", "hourly_rate", "overtime_multiplier", "shift_days", "shift_start",
                "shift_end", "max_concurrent_dispatches", "max_hours_per_week", "active_dispatch_count",
                "availability", "unavailable_reason", "unavailable_until")}
    return body


def _visible(user_id: int) -> User:
    """The technician, when the caller may see them: managers and admins any, a technician themself."""
    if current_user.role == Role.TECHNICIAN and current_user.id != user_id:
        raise NotFound(f"There is no technician #{user_id} that you can see; technicians see their own profile "
                       "only.")
    return technician_service.find_technician(user_id)


def _answer(user: User) -> tuple[dict, int, dict]:
    body = dump(user, technician_service.profile_of(user))
    return body, 200, {"ETag": _etag(body)}


def _etag(body: dict) -> str:
    # The work held changes with every assignment, not with the profile an admin edits.
    state = {**body, "profile": body["profile"] and {k: v for k, v in body["profile"].items()
                                                       if k != "active_dispatch_count"}}
    return versions.etag(state)


@blp.route("", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(TechnicianQuerySchema, location="query")
@blp.response(200, TechnicianPageSchema, headers=PAGE_HEADERS)
@refusals(blp, 401, 403, 422, 429)
def list_technicians(args):
    """Technicians by name with their profiles and skills, narrowed by account active, availability,
    a skill held and a text in the name or email; a skill id that names no skill is a 422."""
    config.reference(Skill, args.get("skill"), "skill", "skill", "GET /api/v1/skills")
    page = technician_service.technician_page(active=args.get("active"), availability=args.get("availability"),
                                              skill_id=args.get("skill"), search=args.get("q"), page=args["page"],
                                              per_page=args["per_page"])
    return paged(page_body(page.items, page, [dump(user, profile) for user, profile in page.items]), page)


@blp.route("/<int:user_id>", methods=["GET"])
@require()
@blp.response(200, TechnicianSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 404, 429)
def get_technician(user_id):
    """One technician with profile and skills (a technician: their own only)."""
    return _answer(_visible(user_id))


@blp.route("/<int:user_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(ProfileUpdateSchema)
@blp.response(200, TechnicianSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_profile(args, user_id):
    """Change the profile (created with the defaults by the first change); fields left out keep their value."""
    technician = technician_service.find_technician(user_id)
    versions.check_if_match(_etag(dump(technician, technician_service.profile_of(technician))),
                            what=f"technician #{technician.id}")
    values = dict(args)
    location_id = values.pop("home_location_id", None)
    if location_id is not None:
        if {"home_latitude", "home_longitude"} & values.keys():
            raise ValidationError("Send either home_location_id or home_latitude and home_longitude, not both.",
                                  field="home_location_id")
        values["home_latitude"], values["home_longitude"] = technician_service.home_base(location_id=location_id)
    technician_service.save_profile(technician, **values)
    return _answer(technician)


# --- Skills held --------------------------------------------------------------------------


@blp.route("/<int:user_id>/skills", methods=["GET"])
@require()
@blp.response(200, HeldSkillSchema(many=True))
@refusals(blp, 401, 404, 429)
def list_technician_skills(user_id):
    """The skills a technician holds, by name, with their levels (a technician: their own only)."""
    return dump_skills(technician_service.profile_of(_visible(user_id)))


def dump_held(held) -> dict:
    return {"skill_id": held.skill_id, "name": held.skill.name, "category": held.skill.category, "level": held.level}


@blp.route("/<int:user_id>/skills/<int:skill_id>", methods=["GET"])
@require()
@blp.response(200, HeldSkillSchema, headers=versions.etag_header("the level"))
@refusals(blp, 401, 404, 429)
def get_technician_skill(user_id, skill_id):
    """The technician's level in one skill (404 when not held; a technician: their own only)."""
    body = dump_held(technician_service.held_skill(_visible(user_id), skill_id))
    return body, 200, {"ETag": versions.etag(body)}


@blp.route("/<int:user_id>/skills/<int:skill_id>", methods=["PUT"])
@require(ADMIN)
@blp.arguments(SkillLevelSchema)
@blp.response(200, HeldSkillSchema, headers=versions.etag_header("the level"))
@refusals(blp, 400, 401, 403, 404, 415, 422, 429)
def set_technician_skill(args, user_id, skill_id):
    """Give the technician this skill at a level 1–5, or change the level they hold it at."""
    technician = technician_service.find_technician(user_id)
    skill = technician_service.find_skill(skill_id)
    body = dump_held(technician_service.set_skill(technician, skill.name, args["level"]))
    return body, 200, {"ETag": versions.etag(body)}


@blp.route("/<int:user_id>/skills/<int:skill_id>", methods=["DELETE"])
@require(ADMIN)
@blp.response(204)
@blp.doc(parameters=[versions.if_match_parameter("the level")])
@refusals(blp, 401, 403, 404, 412, 428, 429)
@guarded
def remove_technician_skill(user_id, skill_id):
    """Take the skill from the technician (404 when they do not hold it), with the level's ETag in
    ``If-Match`` so that a level someone set meanwhile is not removed unseen."""
    technician = technician_service.find_technician(user_id)
    held = technician_service.held_skill(technician, skill_id)
    versions.require_if_match(dump_held(held), f"{technician.name}'s level in {held.skill.name}")
    technician_service.remove_skill(technician, skill_id)
    return "", 204


# --- Availability -------------------------------------------------------------------------


@blp.route("/<int:user_id>/availability", methods=["PUT"])
@require(ADMIN)
@blp.arguments(AvailabilitySchema)
@blp.response(200, AvailabilityResultSchema)
@refusals(blp, 400, 401, 403, 404, 415, 422, 429)
def set_availability(args, user_id):
    """Take a technician out of matching (their dispatches not yet started go to the fallbacks), or
    bring them back — as Admin → Technicians and ``flask technicians unavailable|available`` do."""
    technician = technician_service.find_technician(user_id)
    dispatches = []
    try:
        if args["available"]:
            if args.keys() & {"reason", "until"}:
                raise ValidationError("Leave out reason and until when making a technician available.",
                                      field="reason" if "reason" in args else "until")
            technician_service.reactivate_profile(technician)
        else:
            moved = technician_service.deactivate_profile(technician, args.get("reason", ""), args.get("until"))
            dispatches = [dispatch.dispatch_number for dispatch in moved]
    except ValidationError as error:
        raise _renamed(error) from None
    body, _, _ = _answer(technician)
    return {"technician": body, "dispatches": dispatches}


# --- The technician's own position --------------------------------------------------------


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
