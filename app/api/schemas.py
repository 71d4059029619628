"""Marshmallow schemas shared by the API's resources: problems, pages, people."""

from __future__ import annotations

from apispec import BasePlugin
from marshmallow import Schema, fields, validate

from app.services.numbers import DB_INT_MAX

#: Documented (OpenAPI ``pattern``) on text the app refuses control characters in, so a client knows;
#: the refusal itself stays the services' (app.services.text), whose message names the character.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
MULTILINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
#: ``ONE_LINE`` with at least one character that is not white space: the services strip text and
#: refuse what is left empty (a title of spaces), so the document says so.
NON_BLANK_LINE = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
def up_to(limit: int) -> str:
    """A regular expression (no anchors) for the whole numbers 1 … ``limit`` written without sign or
    leading zero: shorter numbers, then for each leading digit of ``limit`` those below it."""
    text = str(limit)
    branches = [f"[1-9][0-9]{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = "1" if i == 0 else "0"
        high = int(digit) - 1
        if high >= int(low):
            rest = len(text) - i - 1
            branches.append(text[:i] + f"[{low}-{high}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    branches.append(text)
    return "(" + "|".join(branches) + ")"


#: A database id written in a query string, as the services read one (no sign, no leading zero,
#: at most the largest id a column holds).
ID_TEXT = rf"^{up_to(DB_INT_MAX)}$"


class SchemaRules(BasePlugin):
    """A schema's rules across its fields, stated in the OpenAPI document.

    marshmallow checks them in ``@validates_schema``, which apispec cannot see; a schema class
    states the same rule as JSON Schema in ``OPENAPI`` (``minProperties``, ``oneOf``, ``anyOf``),
    merged into its component here, so a client (and the fuzzer) knows the rule.
    """

    def schema_helper(self, name, definition, **kwargs) -> dict | None:
        schema = kwargs.get("schema")
        cls = schema if isinstance(schema, type) else type(schema)
        return dict(getattr(cls, "OPENAPI", None) or {}) or None



class QueryTextRule(BasePlugin):
    """The OpenAPI document states that no query parameter may hold a control character.

    Every request is refused with a 400 for one (``inputs.refuse_control_characters``), so each
    text query parameter a resource declares gets the ``ONE_LINE`` pattern here, once for all,
    rather than in each schema (where a new resource would forget it).
    """

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for operation in (operations or {}).values():
            for parameter in operation.get("parameters", ()):
                if isinstance(parameter, dict) and parameter.get("in") == "query":
                    schema = parameter.get("schema") or {}
                    _one_line(schema.get("items") if schema.get("type") == "array" else schema)


def _one_line(schema: dict | None) -> None:
    if schema and schema.get("type") == "string" and not {"pattern", "enum", "format"} & schema.keys():
        schema["pattern"] = ONE_LINE


MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25


class ProblemSchema(Schema):
    """An RFC 9457 problem."""

    type = fields.String(required=True, metadata={"description": "about:blank, or urn:motorpool:problem:<kind>"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "The refused fields, each with its messages."})
    allowed = fields.List(fields.String(), metadata={"description": "A refused transition: the allowed next states."})


def Id(strict: bool = True, **kwargs) -> fields.Integer:  # noqa: N802 - reads like a field class
    """A database id: a JSON integer (not a string, not a float), 1 … 2,147,483,647."""
    return fields.Integer(strict=strict, validate=validate.Range(1, DB_INT_MAX), **kwargs)


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(1, DB_INT_MAX))
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE))


class PersonSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


def page_body(items: list, page, serialised: list) -> dict:
    return {"items": serialised, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages}


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item), required=True),
        "page": fields.Integer(required=True),
        "per_page": fields.Integer(required=True),
        "total": fields.Integer(required=True),
        "pages": fields.Integer(required=True),
    }, name=name)
