"""Counting the SQL statements a block of code sends, for tests that pages do not grow with the data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from app.extensions import db


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """Collect every statement sent on the app's engine inside the block."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
