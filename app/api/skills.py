"""``/api/v1/skills``: the skill catalogue technicians are rated in and dispatches ask for.

Managers and admins read it; admins add and change skills, through ``app.services.technicians``:
a name and a category, the name unique whatever the case, and no renaming a skill that asset
types or open dispatches still name. Skills are not deleted: levels and history refer to them.
"""

from __future__ import annotations

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api import versions
from app.api.auth import MANAGERS, require
from app.api.dispatches import guarded
from app.api.paging import PAGE_HEADERS, paged
from app.api.problems import refusals
from app.api.schemas import ONE_LINE, PageQuerySchema, page_body, page_schema
from app.models import Role, Skill
from app.services import technicians as technician_service
from app.services import text as text_rules

blp = Blueprint("api_skills", __name__, description="The skill catalogue (managers read, admins change).")
URL_PREFIX = "/skills"
ADMIN = Role.ADMIN.value
NAME_MAX = text_rules.column_limit(text_rules.column_of(Skill, "name"))
CATEGORY_MAX = text_rules.column_limit(text_rules.column_of(Skill, "category"))


def one_line(limit: int, **kwargs) -> fields.String:
    """A single line of text up to ``limit`` characters with something in it besides spaces."""
    return fields.String(validate=[validate.Length(min=1, max=limit), validate.Regexp(ONE_LINE)],
                         metadata={"pattern": ONE_LINE, **kwargs.pop("metadata", {})}, **kwargs)


class SkillSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    category = fields.String(required=True, metadata={"description": "Skills in one category count as related."})


class SkillCreateSchema(Schema):
    name = one_line(NAME_MAX, required=True, metadata={"description": "Unique whatever the case."})
    category = one_line(CATEGORY_MAX, required=True)


class SkillUpdateSchema(Schema):
    name = one_line(NAME_MAX, metadata={
        "description": "Refused while asset types default to the skill or open dispatches require it."})
    category = one_line(CATEGORY_MAX)


class SkillQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "Text in the name."})
    category = fields.String(validate=validate.Length(max=CATEGORY_MAX),
                             metadata={"description": "One category, whatever the case."})


SkillPageSchema = page_schema(SkillSchema, "SkillPage")


def dump(skill: Skill) -> dict:
    return {"id": skill.id, "name": skill.name, "category": skill.category}


@blp.route("", methods=["GET"])
@require(*MANAGERS)
@blp.arguments(SkillQuerySchema, location="query")
@blp.response(200, SkillPageSchema, headers=PAGE_HEADERS)
@refusals(blp, 401, 403, 422, 429)
def list_skills(args):
    """The catalogue by name."""
    page = technician_service.skill_page(search=args.get("q"), category=args.get("category"), page=args["page"],
                                         per_page=args["per_page"])
    return paged(page_body(page.items, page, [dump(skill) for skill in page.items]), page)


@blp.route("", methods=["POST"])
@require(ADMIN)
@blp.arguments(SkillCreateSchema)
@blp.response(201, SkillSchema, headers={"Location": {"schema": {"type": "string"}}})
@refusals(blp, 400, 401, 403, 415, 422, 429)
def create_skill(args):
    """A new skill (the name unique whatever the case)."""
    skill = technician_service.add_skill(args["name"], args["category"])
    return dump(skill), 201, {"Location": url_for("api_skills.get_skill", skill_id=skill.id)}


@blp.route("/<int:skill_id>", methods=["GET"])
@require(*MANAGERS)
@blp.response(200, SkillSchema, headers=versions.ETAG_HEADER)
@refusals(blp, 401, 403, 404, 429)
def get_skill(skill_id):
    body = dump(technician_service.find_skill(skill_id))
    return body, 200, {"ETag": versions.etag(body)}


@blp.route("/<int:skill_id>", methods=["PATCH"])
@require(ADMIN)
@blp.arguments(SkillUpdateSchema)
@blp.response(200, SkillSchema, headers=versions.ETAG_HEADER)
@blp.doc(parameters=[versions.IF_MATCH])
@refusals(blp, 400, 401, 403, 404, 412, 415, 422, 428, 429)
@guarded
def update_skill(args, skill_id):
    """Rename a skill or change its category; what is left out keeps its value."""
    skill = technician_service.find_skill(skill_id)
    versions.require_if_match(dump(skill), f"skill #{skill.id}")
    technician_service.update_skill(skill, name=args.get("name"), category=args.get("category"))
    body = dump(skill)
    return body, 200, {"ETag": versions.etag(body)}
