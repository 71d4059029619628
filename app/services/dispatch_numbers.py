"""Human-friendly dispatch numbers: ``D-<year>-<number in that year>``, e.g. ``D-2026-000123``."""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.models.dispatching.dispatch_number_sequence import DispatchNumberSequence


def format_dispatch_number(year: int, number: int) -> str:
    return f"D-{year}-{number:06d}"


def reserve_dispatch_numbers(session: Session, year: int, count: int) -> range:
    """Reserve ``count`` consecutive numbers of ``year`` with one atomic upsert.

    The row lock taken by the upsert serialises concurrent workers on PostgreSQL, and
    SQLite serialises writers anyway; either way no number is handed out twice.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DispatchNumberSequence.__table__
    statement = (
        insert(table)
        .values(year=year, last_number=count)
        .on_conflict_do_update(
            index_elements=[table.c.year],
            set_={"last_number": table.c.last_number + count},
        )
        .returning(table.c.last_number)
    )
    last = session.execute(statement).scalar_one()
    return range(last - count + 1, last + 1)
