"""The unit of work: services own the transaction, callers never commit by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.services.errors import ConcurrentUpdate

_DEPTH_KEY = "motorpool_transaction_depth"


@contextmanager
def transaction() -> Iterator[None]:
    """Commit when the outermost block ends, roll everything back if any block raises.

    Nested blocks join the outer one, so a service that calls another service, or a batch
    that creates thousands of dispatches, commits once.
    """
    session = db.session
    depth = session.info.get(_DEPTH_KEY, 0)
    session.info[_DEPTH_KEY] = depth + 1
    try:
        yield
        if depth == 0:
            session.commit()
    except StaleDataError as exc:
        if depth == 0:
            session.rollback()
        raise ConcurrentUpdate(
            "This record was changed by someone else while you were working on it. "
            "Reload it and try again."
        ) from exc
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info[_DEPTH_KEY] = depth
