"""The declarative base every model shares, and the audit mixin from the data model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column, registry
from sqlalchemy.types import TypeDecorator

# Constraint names that are the same on every database, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: A fixed "now" for the current context (``clock_at``); ``None`` means the real time.
_CLOCK: ContextVar[datetime | None] = ContextVar("motorpool_clock", default=None)


def utcnow() -> datetime:
    """The current time (UTC), or the moment ``clock_at`` holds for this context."""
    return _CLOCK.get() or datetime.now(UTC)


@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Make ``utcnow()`` return ``moment`` inside the block (this thread or task only).

    The demo writes its history through the real services at past times this way, so every
    timestamp, history row and event agrees with the story; tests use it to act at a chosen
    time of day. Everything that asks the time goes through ``utcnow``.
    """
    if moment.tzinfo is None:
        raise ValueError("clock_at needs a timezone-aware moment")
    token = _CLOCK.set(moment.astimezone(UTC))
    try:
        yield
    finally:
        _CLOCK.reset(token)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always returned timezone-aware (UTC).

    SQLite has no time zones and PostgreSQL's ``timestamptz`` converts to the session's
    zone; storing naive UTC on both and attaching UTC on the way out keeps comparisons
    in Python correct on either database.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given; use an aware datetime (UTC)")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a server default
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    # Given as one registry so Flask-SQLAlchemy's subclass of this base keeps both.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class UserCreatedBase:
    """Identity and audit columns shared by every table of the data model.

    The ``*_by_id`` columns are filled when the session flushes, from the user the work is
    done for (see ``app.services.actors``): the logged-in user on the web, the system user
    on the command line. Models never set them themselves.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"), index=True)

    @declared_attr
    def updated_by_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey("users.id"), index=True)
