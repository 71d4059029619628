"""Helpers for the admin page tests: signing in, htmx requests, counting queries, snapshots."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from tests.support.query_counter import counting_queries  # noqa: F401  (the admin tests import it from here)

HX = {"HX-Request": "true"}


def html(response) -> str:
    return response.get_data(as_text=True)


def rows(model, *columns) -> list[tuple]:
    """Every row of ``model`` as tuples of ``columns``, read fresh from the database."""
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(select(*columns).order_by(model.id)).all()]

