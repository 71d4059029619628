"""Each person's in-app notifications: written by the in-app channel, read and marked on /notifications."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.extensions import db
from app.models import Dispatch, User, UserNotification, utcnow
from app.plugins.contracts import SEVERITIES, DeliveryAttempt, Notification
from app.services.errors import NotFound
from app.services.queries import Page
from app.services.transaction import transaction

#: The bell counts up to this many; above, it shows "99+". The count stays a bounded index scan.
BADGE_LIMIT = 99
PER_PAGE = 25
SUBJECT_LIMIT = 300


def _link(notification: Notification) -> str | None:
    if not notification.dispatch_number:
        return None
    from flask import current_app

    dispatch_id = db.session.scalar(select(Dispatch.id).where(Dispatch.dispatch_number == notification.dispatch_number))
    if dispatch_id is None:
        return None
    # A path, built without a request (the worker has none): the page is on the same site.
    return current_app.url_map.bind("localhost").build("dispatches.show", {"dispatch_id": dispatch_id})


def record(notification: Notification, attempt: DeliveryAttempt, users: Sequence[User]) -> int:
    """Write one row per user in one transaction; rows this delivery already wrote are kept as they are.

    Returns how many rows were new. The (user_id, delivery_id) unique key makes a retry of
    a delivery that had in fact been written (at-least-once) a no-op, on both databases.
    """
    if not users:
        return 0
    severity = notification.severity if notification.severity in SEVERITIES else "info"
    with transaction():
        link = _link(notification)
        now = utcnow()
        rows = [
            {
                "user_id": user.id, "delivery_id": attempt.delivery_id, "kind": notification.kind[:50],
                "severity": severity, "category": (notification.category or None) and notification.category[:64],
                "subject": notification.subject[:SUBJECT_LIMIT], "body": notification.body, "link": link,
                "created_at": now, "updated_at": now,
            }
            for user in users
        ]
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # On the table, not the ORM entity: a plain multi-row INSERT whose RETURNING lists
        # exactly the rows that were new (drivers disagree on rowcount after ON CONFLICT).
        statement = (
            insert(UserNotification.__table__).values(rows)
            .on_conflict_do_nothing(index_elements=["user_id", "delivery_id"])
            .returning(UserNotification.__table__.c.id)
        )
        inserted = len(db.session.execute(statement).all())
    return inserted


def unread_count(user: User) -> int:
    """Unread notifications, counted up to ``BADGE_LIMIT + 1`` (one query on the index)."""
    limited = (
        select(UserNotification.id)
        .where(UserNotification.user_id == user.id, UserNotification.read_at.is_(None))
        .limit(BADGE_LIMIT + 1)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(limited)) or 0


def badge(count: int) -> str:
    return f"{BADGE_LIMIT}+" if count > BADGE_LIMIT else str(count)


def page_for(user: User, page: int, per_page: int = PER_PAGE) -> Page[UserNotification]:
    """The user's notifications, newest first; a page past the end shows the last one."""
    query = select(UserNotification).where(UserNotification.user_id == user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    last_page = max(1, -(-total // per_page))
    page = min(max(1, page), last_page)
    items = db.session.scalars(
        query.order_by(UserNotification.created_at.desc(), UserNotification.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def mark_read(user: User, notification_id: int) -> UserNotification:
    """Mark one of the user's own notifications read (already read: unchanged). Another's: NotFound."""
    with transaction():
        row = db.session.scalar(
            select(UserNotification).where(UserNotification.id == notification_id, UserNotification.user_id == user.id)
        )
        if row is None:
            raise NotFound("There is no such notification in your list; it may belong to someone else.")
        if row.read_at is None:
            row.read_at = utcnow()
    return row


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the user read (one UPDATE); returns how many."""
    with transaction():
        result = db.session.execute(
            update(UserNotification)
            .where(UserNotification.user_id == user.id, UserNotification.read_at.is_(None))
            .values(read_at=utcnow(), updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return result.rowcount or 0
