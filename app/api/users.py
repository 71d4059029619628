"""``/api/v1/users``: accounts, for admins, through ``app.services.users`` with the rules of
Admin → Users: a real email unique whatever the case, a known role, the password rule
(``validate_password``; a password is taken, never shown), nobody changes their own role or
deactivates themselves, the last active admin stays one, and a technician holding open
dispatches keeps the role and the account until they are reassigned. The system user (who
command-line work is recorded as) is not listed and cannot be read or changed.
"""

from __future__ import annotations

from flask import url_for
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api import config_resources as config
from app.api import versions
from app.api.auth import require
from app.api.dispatches import guarded
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import refusals
from app.api.schemas import ONE_LINE, PageQuerySchema, page_body, page_schema
from app.models import Role, User
from app.services import text as text_rules
from app.services import users as user_service

blp = Blueprint("api_users", __name__, description="User accounts (admins).")
URL_PREFIX = "/users"
ADMIN = Role.ADMIN.value
ROLES = [role.value for role in Role]
EMAIL_MAX = text_rules.column_limit(text_rules.column_of(User, "email"))
NAME_MAX = text_rules.column_limit(text_rules.column_of(User, "name"))
ZONE_MAX = text_rules.column_limit(text_rules.column_of(User, "time_zone"))
#: Long enough for any passphrase; argon2 is not asked to hash a megabyte.
PASSWORD_MAX = 200


def _line(limit: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=limit), validate.Regexp(ONE_LINE)],
                         metadata={"pattern": ONE_LINE, **kwargs.pop("metadata", {})}, **kwargs)


def _password(description: str = "", **kwargs) -> fields.String:
    return fields.String(load_only=True, validate=validate.Length(min=1, max=PASSWORD_MAX), metadata={
        "description": f"{description}At least {user_service.MIN_PASSWORD_LENGTH} characters, not easy to guess, "
                       "without the name or email in it. Never shown back."}, **kwargs)


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = fields.Boolean(required=True, metadata={"description": "false: cannot sign in, tokens refused."})
    time_zone = fields.String(allow_none=True, required=True,
                              metadata={"description": "IANA zone; null is the organisation's."})
    last_login_at = fields.AwareDateTime(allow_none=True, required=True)


class UserCreateSchema(Schema):
    email = _line(EMAIL_MAX, required=True, metadata={"description": "Unique whatever the case; stored lower-case."})
    name = _line(NAME_MAX, required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    password = _password(required=True)


class UserUpdateSchema(Schema):
    email = _line(EMAIL_MAX)
    name = _line(NAME_MAX)
    role = fields.String(validate=validate.OneOf(ROLES), metadata={
        "description": "Not your own; not the last active admin's; not a technician's holding open dispatches."})
    time_zone = fields.String(allow_none=True, validate=[validate.Length(max=ZONE_MAX), validate.Regexp(ONE_LINE)],
                              metadata={"description": "An IANA zone such as Europe/London; null or empty for the "
                                                       "organisation's.", "pattern": ONE_LINE})
    password = _password("A new password; the person's sessions end. ")
    active = fields.Boolean(metadata={"description": "Sent alone. false: not yourself, not the last active admin, "
                                                     "not a technician holding open dispatches."})


class UserQuerySchema(PageQuerySchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean()
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Text in the name or email."})


UserPageSchema = page_schema(UserSchema, "UserPage")


def dump(user: User) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "active": bool(user.is_active_user), "time_zone": user.time_zone, "last_login_at": user.last_login_at}


def _etag(user: User) -> str:
    # Signing in is not a change to the account: it must not make an admin's If-Match stale.
    body = dump(user)
    body.pop("last_login_at")
    return versions.etag(body)


@blp.route("", methods=["GET"])
@require(ADMIN)
@blp.arguments(UserQuerySchema, location="query")
@blp.response(200, UserPageSchema, headers=PAGE_HEADERS)
@refusals(blp, 401, 403, 422, 429)
def list_users(args):
    """Accounts by name, narrowed by role, active and a text in the name or email."""
    page = user_service.user_page(role=args.get("role"), active=args.get("active"), search=args.get("q"),
                                  page=args["page"], per_page=args["per_page"])
    return paged(page_body(page.items, page, [dump(user) for user in page.items]), page)


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(UserCreateSchema)
@blp.response(201, UserSchema, headers={"Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_user(args):
    """A new account; a technician's profile is then set with PATCH /technicians/{id}."""
    user = user_service.create_user(email=args["email"], name=args["name"], role=args["role"],
                                    password=args["password"])
    return dump(user), 201, {"Location": url_for("api_users.get_user", user_id=user.id), "ETag": _etag(user)}


@blp.route("/<int:user_id>", methods=["GET"])
@require(ADMIN)
@blp.response(200, UserSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_user(user_id):
    user = user_service.find_user(user_id)
    return dump(user), 200, {"ETag": _etag(user)}


@blp.route("/<int:user_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_user(args, user_id):
    """Change the email, name, role, time zone or password, or ``active`` (alone); fields left out keep
    their value."""
    user = user_service.find_user(user_id)
    config.refuse_active_with_others(args)
    versions.check_if_match(_etag(user), what=f"user #{user.id}")
    if args.keys() - {"active"}:
        user_service.update_user(
            user, email=args.get("email", user.email), name=args.get("name", user.name),
            role=args.get("role", user.role), password=args.get("password"), actor=current_user,
            time_zone=(args["time_zone"] or None) if "time_zone" in args else user_service.KEEP)
    if "active" in args and args["active"] != user.is_active_user:
        user_service.set_user_active(user, args["active"], actor=current_user)
    return dump(user), 200, {"ETag": _etag(user)}
