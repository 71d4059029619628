"""Helpers for the admin page tests: signing in, htmx requests, counting queries, snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event, select

from app.extensions import db

HX = {"HX-Request": "true"}


def html(response) -> str:
    return response.get_data(as_text=True)


def rows(model, *columns) -> list[tuple]:
    """Every row of ``model`` as tuples of ``columns``, read fresh from the database."""
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(select(*columns).order_by(model.id)).all()]


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
