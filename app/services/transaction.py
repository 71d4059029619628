"""The unit of work: services own the transaction, callers never commit by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.services import lifecycle
from app.services.errors import ConcurrentUpdate

_DEPTH_KEY = "motorpool_transaction_depth"
_FAILED_KEY = "motorpool_transaction_failed"


@contextmanager
def transaction() -> Iterator[None]:
    """Commit when the outermost block ends, roll everything back if any block raises.

    Nested blocks join the outer one, so a service that calls another service, or a batch
    that creates thousands of dispatches, commits once. Lifecycle hooks queued inside fire
    after the outermost commit. A write conflict with another worker (a stale version, a
    locked SQLite database, a PostgreSQL serialization failure) becomes ``ConcurrentUpdate``.
    """
    session = db.session
    depth = session.info.get(_DEPTH_KEY, 0)
    session.info[_DEPTH_KEY] = depth + 1
    if depth == 0:
        session.info.pop(_FAILED_KEY, None)
    try:
        try:
            yield
        except BaseException:
            if depth > 0:
                # The outer block may catch this, but the session holds the inner block's
                # partial work: it must not be committed.
                session.info[_FAILED_KEY] = True
            raise
        if depth == 0:
            if session.info.pop(_FAILED_KEY, False):
                raise RuntimeError(
                    "a nested transaction block failed and its error was caught; "
                    "the whole transaction is rolled back to avoid committing partial work"
                )
            session.commit()
    except (StaleDataError, OperationalError) as exc:
        if depth == 0:
            session.rollback()
            lifecycle.discard()
        if isinstance(exc, OperationalError) and not _is_write_conflict(exc):
            raise
        raise ConcurrentUpdate(
            "This record was changed by someone else while you were working on it. "
            "Reload it and try again."
        ) from exc
    except BaseException:
        if depth == 0:
            session.rollback()
            lifecycle.discard()
        raise
    finally:
        session.info[_DEPTH_KEY] = depth
    if depth == 0:
        lifecycle.fire_pending()


def _is_write_conflict(exc: OperationalError) -> bool:
    """SQLite's "database is locked" and PostgreSQL's serialization failures and deadlocks."""
    code = getattr(exc.orig, "sqlstate", None)
    return "database is locked" in str(exc.orig) or code in {"40001", "40P01", "55P03"}


def require_own_transactions(name: str) -> None:
    """Refuse to run a service that commits step by step inside someone else's transaction.

    Such services try one candidate after another and rely on a refusal rolling back only
    that attempt; inside an outer block it would doom the whole outer transaction instead.
    """
    if db.session.info.get(_DEPTH_KEY, 0):
        raise RuntimeError(f"{name} commits each attempt on its own; call it outside transaction()")
