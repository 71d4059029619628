"""Read-side queries for pages: constant query counts whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Asset, Dispatch, DispatchStatus, Role, User

OPEN_STATUSES = (DispatchStatus.CREATED, DispatchStatus.ASSIGNED, DispatchStatus.EN_ROUTE, DispatchStatus.IN_PROGRESS)


@dataclass
class Page:
    items: list[Dispatch]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def visible_dispatches(user: User) -> Select:
    """Dispatches this user may see: all for admins and managers, their own for technicians."""
    query = select(Dispatch)
    if user.role == Role.TECHNICIAN:
        query = query.where(Dispatch.assigned_user_id == user.id)
    return query


def dispatch_page(user: User, *, status: str | None, page: int, per_page: int) -> Page:
    query = visible_dispatches(user)
    if status:
        query = query.where(Dispatch.status == status)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    last_page = max(1, -(-total // per_page))
    page = min(max(1, page), last_page)  # a page past the end shows the last one
    items = db.session.scalars(
        query.options(
            joinedload(Dispatch.asset).joinedload(Asset.asset_type),
            joinedload(Dispatch.assigned_user),
        )
        .order_by(Dispatch.created_date.desc(), Dispatch.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total or 0)


def status_counts(user: User) -> dict[str, int]:
    query = visible_dispatches(user).with_only_columns(Dispatch.status, func.count()).group_by(Dispatch.status)
    counts = dict(db.session.execute(query).all())
    return {status.value: counts.get(status.value, 0) for status in DispatchStatus}


def my_open_work(user: User, limit: int = 50) -> list[Dispatch]:
    return list(
        db.session.scalars(
            select(Dispatch)
            .where(Dispatch.assigned_user_id == user.id, Dispatch.status.in_(OPEN_STATUSES))
            .options(joinedload(Dispatch.asset))
            .order_by(Dispatch.due_date.is_(None), Dispatch.due_date, Dispatch.id)
            .limit(limit)
        )
    )
