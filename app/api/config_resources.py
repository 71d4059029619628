"""What the configuration resources (asset types, makes/models, locations, assets) share.

Each is a list, a create, a read with an ``ETag`` (a digest of the record as shown) and a
PATCH that needs that ETag in ``If-Match``. Records are deactivated, never deleted, and
``active`` goes in a PATCH of its own: changing fields and activity are two services and two
transactions, so together a refused second step would leave the first one done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from app.api import versions
from app.api.paging import paged
from app.api.schemas import page_body
from app.extensions import db
from app.services.errors import NotFound, ValidationError
from app.services.queries import Page

T = TypeVar("T")


def find_or_404(model: type[T], record_id: int, what: str) -> T:
    """The record, or a 404 problem "There is no <what> #<id>."."""
    record = db.session.get(model, record_id)
    if record is None:
        raise NotFound(f"There is no {what} #{record_id}.")
    return record


def reference(model: type[T], record_id: int | None, what: str, field: str, hint: str) -> T | None:
    """A record a body names by id (None stays None); a missing one is a 422 on ``field``."""
    if record_id is None:
        return None
    record = db.session.get(model, record_id)
    if record is None:
        raise ValidationError(f"There is no {what} #{record_id}; {hint} lists them.", field=field)
    return record


def page_of(query: Select, args: dict) -> Page:
    """One page of ``query`` (already ordered); a page past the last is empty, not the last one."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])).all()
    return Page(items=list(rows), page=args["page"], per_page=args["per_page"], total=total)


def list_answer(page: Page, dump: Callable[[Any], dict]) -> tuple[dict, int, dict]:
    """The page as a list answer, with ``Link`` and ``X-Total-Count``."""
    return paged(page_body(page.items, page, [dump(record) for record in page.items]), page)


def answer(body: dict, status: int = 200, headers: dict | None = None) -> tuple[dict, int, dict]:
    """A record's answer with its ``ETag``."""
    return body, status, {"ETag": versions.etag(body), **(headers or {})}


def refuse_active_with_others(args: dict) -> None:
    """A PATCH sends ``active`` alone: changing fields and activity are two services and two
    transactions, so together a refused second step would leave the first one done."""
    if "active" in args and args.keys() - {"active"}:
        raise ValidationError("Send active on its own: change the other fields in one PATCH and active in "
                              "another.", field="active")


def patch(record, args: dict, *, dump: Callable[[Any], dict], what: str,
          change: Callable[[Any, dict], Any], set_active: Callable[[Any, bool], Any]) -> tuple[dict, int, dict]:
    """A PATCH: ``active`` alone or the other fields, with the ETag it was read with.

    ``change(record, args)`` applies the fields sent (those left out keep their value);
    ``set_active(record, active)`` runs only when ``active`` differs from what it is.
    """
    refuse_active_with_others(args)
    versions.require_if_match(dump(record), what)
    if args.keys() - {"active"}:
        change(record, args)
    if "active" in args and args["active"] != record.is_active:
        set_active(record, args["active"])
    return answer(dump(record))
