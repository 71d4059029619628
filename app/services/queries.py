"""Read-side queries for pages: constant query counts whatever the page size."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Generic, TypeVar

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db
from app.services.numbers import canonical_int, parse_int
from app.services import local_time
from app.services.errors import ValidationError
from app.services.text import check_text, contains_text
from app.models import Asset, AssetType, Dispatch, DispatchPriority, DispatchStatus, MajorLocation, Role, User, utcnow
from app.services.local_time import to_local

OPEN_STATUSES = (DispatchStatus.CREATED, DispatchStatus.ASSIGNED, DispatchStatus.EN_ROUTE, DispatchStatus.IN_PROGRESS)


T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list, with what the pager needs."""

    items: list[T]
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
            .options(joinedload(Dispatch.asset), joinedload(Dispatch.dispatch_location))
            .order_by(Dispatch.due_date.is_(None), Dispatch.due_date, Dispatch.id)
            .limit(limit)
        )
    )


# --- The dispatch list: filters, sort, pagination ------------------------------------------

PRIORITY_ORDER = case({"Critical": 0, "High": 1, "Normal": 2, "Low": 3}, value=Dispatch.priority, else_=4)
DUE_FILTERS = {"overdue": "Overdue", "24h": "Due within 24 h", "7d": "Due within 7 days"}
#: Sort keys a request may name (a leading "-" sorts descending); anything else is ignored.
SORT_COLUMNS = {
    "number": "Number", "title": "Title", "asset": "Asset", "priority": "Priority", "status": "Status",
    "technician": "Technician", "created": "Created", "due": "Due (SLA)",
}
DEFAULT_SORT = "-created"
NULLABLE_SORTS = {"asset", "technician", "due"}


@dataclass
class DispatchFilters:
    """What the dispatch list is narrowed to and ordered by, parsed leniently from a query string."""

    status: str | None = None
    priority: str | None = None
    asset: str | None = None  # asset tag, exact
    asset_type: int | None = None
    technician: str | None = None  # a technician's id, or "none" for unassigned
    due: str | None = None
    q: str | None = None
    created_from: date | None = None  # local day (MOTORPOOL_TIMEZONE), inclusive
    created_to: date | None = None  # local day, inclusive
    location: int | None = None  # where the work is (the dispatch's location)
    skill: str | None = None  # the required skill's name, exact, or "none" for none named
    sort: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_args(cls, args) -> DispatchFilters:
        """The filters of a query string; a malformed number or an over-long text is refused
        (``ValidationError``: a 400 saying which parameter), an unknown choice is ignored."""

        def text(name: str, limit: int = 200) -> str | None:
            value = (args.get(name) or "").strip()
            check_text(value, label=f"The filter {name!r}", limit=limit, multiline=False, field=name)
            return value or None

        def integer(name: str) -> int | None:
            value = args.get(name)
            return parse_int(value, label=f"The filter {name!r}", field=name) if value else None

        status = text("status")
        priority = text("priority")
        technician = text("technician", 20)
        if technician not in (None, "none"):
            technician = str(integer("technician"))
        due = text("due")
        sort = text("sort") or DEFAULT_SORT
        created_from, created_to = _created_range(text("created_from", 20), text("created_to", 20))
        return cls(
            status=status if status in {s.value for s in DispatchStatus} else None,
            priority=priority if priority in {p.value for p in DispatchPriority} else None,
            asset=text("asset", 50),
            asset_type=integer("asset_type"),
            technician=technician,
            due=due if due in DUE_FILTERS else None,
            q=text("q"),
            created_from=created_from,
            created_to=created_to,
            location=integer("location"),
            skill=text("skill", 100),
            sort=sort if sort.lstrip("-") in SORT_COLUMNS else DEFAULT_SORT,
            page=integer("page") or 1,
        )

    def args(self, **changes) -> dict:
        """Query-string arguments for links (only what is set; the default sort and page 1 left out)."""
        values = {
            "status": self.status, "priority": self.priority, "asset": self.asset, "asset_type": self.asset_type,
            "technician": self.technician, "due": self.due, "q": self.q,
            "created_from": self.created_from.isoformat() if self.created_from else None,
            "created_to": self.created_to.isoformat() if self.created_to else None,
            "location": self.location, "skill": self.skill, "sort": self.sort, "page": self.page,
        }
        values.update(changes)
        if values["sort"] == DEFAULT_SORT:
            values["sort"] = None
        if values["page"] == 1:
            values["page"] = None
        return {key: value for key, value in values.items() if value not in (None, "")}

    def sort_link(self, column: str) -> str:
        """The sort value a column header links to: ascending first, descending when already ascending."""
        return f"-{column}" if self.sort == column else column

    @property
    def active(self) -> bool:
        return any((self.status, self.priority, self.asset, self.asset_type, self.technician, self.due, self.q,
                    self.created_from, self.created_to, self.location, self.skill))


def _created_range(since: str | None, until: str | None) -> tuple[date | None, date | None]:
    """The created-date filter's days (YYYY-MM-DD); a malformed date or an end before the start is refused."""
    from app.services.reports import parse_day  # reports reads metrics, which reads this module

    first = parse_day(since, field="created_from") if since else None
    last = parse_day(until, field="created_to") if until else None
    if first and last and last < first:
        raise ValidationError(f"The created-to date ({last.isoformat()}) is before the created-from date "
                              f"({first.isoformat()}); choose a created-to on or after it.", field="created_to")
    for day, name in ((first, "created_from"), (last, "created_to")):
        if day is not None and not (date(1900, 1, 1) <= day <= date(9998, 12, 31)):
            raise ValidationError(f"The date {day.isoformat()} is out of range; choose one from 1900 on.", field=name)
    return first, last


def _list_conditions(filters: DispatchFilters, now: datetime) -> list:
    conditions = []
    if filters.status:
        conditions.append(Dispatch.status == filters.status)
    if filters.priority:
        conditions.append(Dispatch.priority == filters.priority)
    if filters.asset:
        conditions.append(Dispatch.asset_id.in_(select(Asset.id).where(Asset.asset_tag == filters.asset)))
    if filters.asset_type is not None:
        conditions.append(Dispatch.asset_id.in_(select(Asset.id).where(Asset.asset_type_id == filters.asset_type)))
    if filters.technician == "none":
        conditions.append(Dispatch.assigned_user_id.is_(None))
    elif filters.technician:
        conditions.append(Dispatch.assigned_user_id == int(filters.technician))
    if filters.due:
        conditions.append(Dispatch.status.in_(OPEN_STATUSES))
        if filters.due == "overdue":
            conditions.append(Dispatch.sla_due_at < now)
        else:
            horizon = now + (timedelta(hours=24) if filters.due == "24h" else timedelta(days=7))
            conditions.append(Dispatch.sla_due_at >= now)
            conditions.append(Dispatch.sla_due_at < horizon)
    if filters.created_from:
        conditions.append(Dispatch.created_date >= local_time.start_of_day(filters.created_from))
    if filters.created_to:
        conditions.append(Dispatch.created_date < local_time.start_of_day(filters.created_to + timedelta(days=1)))
    if filters.location is not None:
        conditions.append(Dispatch.dispatch_location_id == filters.location)
    if filters.skill == "none":
        conditions.append(Dispatch.required_skill.is_(None))
    elif filters.skill:
        conditions.append(Dispatch.required_skill == filters.skill)
    if filters.q:
        text = filters.q
        matches = [
            contains_text(Dispatch.title, text),
            Dispatch.asset_id.in_(select(Asset.id).where(or_(contains_text(Asset.asset_tag, text),
                                                             contains_text(Asset.name, text)))),
        ]
        if any(character.isdigit() for character in text):  # numbers are D-<year>-<sequence>
            matches.insert(0, contains_text(Dispatch.dispatch_number, text))
        conditions.append(or_(*matches))
    return conditions


def dispatch_list(filters: DispatchFilters, *, per_page: int, now: datetime | None = None) -> Page:
    """One page of every dispatch (the manager list): a count and a page query, whatever the size."""
    now = now or utcnow()
    conditions = _list_conditions(filters, now)
    total = db.session.scalar(select(func.count(Dispatch.id)).where(*conditions)) or 0
    last_page = max(1, -(-total // per_page))
    page = min(filters.page, last_page)
    query, order = _list_order(filters, select(Dispatch))
    # The page's ids first (on the sort's index when there is one, without joining the rows
    # skipped by the offset), then those rows with their asset and technician: one query.
    page_ids = (query.with_only_columns(Dispatch.id).where(*conditions).order_by(*order)
                .limit(per_page).offset((page - 1) * per_page))
    items = db.session.scalars(
        query.where(Dispatch.id.in_(page_ids.scalar_subquery()))
        .options(
            joinedload(Dispatch.asset).joinedload(Asset.asset_type),
            joinedload(Dispatch.assigned_user),
        )
        .order_by(*order)
    ).unique().all()
    return Page(items=list(items), page=page, per_page=per_page, total=total)


def _list_order(filters: DispatchFilters, query: Select) -> tuple[Select, list]:
    """The list's order (its sort, then id), with the join the sort needs added to ``query``."""
    descending = filters.sort.startswith("-")
    key = filters.sort.lstrip("-")
    if key == "asset":
        query = query.outerjoin(Asset, Asset.id == Dispatch.asset_id)
        column = Asset.asset_tag
    elif key == "technician":
        query = query.outerjoin(User, User.id == Dispatch.assigned_user_id)
        column = User.name
    else:
        column = {
            "number": Dispatch.dispatch_number, "title": Dispatch.title, "priority": PRIORITY_ORDER,
            "status": Dispatch.status, "created": Dispatch.created_date, "due": Dispatch.sla_due_at,
        }[key]
    first = column.desc() if descending else column.asc()
    if key in NULLABLE_SORTS:  # the same on SQLite and PostgreSQL: rows without a value last
        first = first.nulls_last()
    order = [first, Dispatch.id.desc() if descending else Dispatch.id.asc()]
    return query, order


EXPORT_HEADER = ("Number", "Title", "Status", "Priority", "Asset", "Location", "Technician",
                 "Created", "Due", "Completed", "SLA due")
#: Rows fetched from the database at a time while an export streams.
EXPORT_BATCH = 1000


def export_header(zone: tzinfo) -> tuple[str, ...]:
    """The export's column names, the moments naming the zone they are written in."""
    label = getattr(zone, "key", None) or str(zone)
    return tuple(f"{name} ({label})" if name in ("Created", "Due", "Completed", "SLA due") else name
                 for name in EXPORT_HEADER)


def dispatch_export_rows(filters: DispatchFilters, user: User, *, zone: tzinfo,
                         now: datetime | None = None) -> Iterator[tuple]:
    """Every row the list shows for ``filters`` (all its pages, in its order), as the CSV export
    writes them: plain columns read ``EXPORT_BATCH`` at a time (``yield_per``), moments as
    wall-clock time in ``zone``. A technician gets their own dispatches only, as everywhere."""
    now = now or utcnow()
    conditions = _list_conditions(filters, now)
    if user.role == Role.TECHNICIAN:
        conditions.append(Dispatch.assigned_user_id == user.id)
    query, order = _list_order(filters, select(Dispatch))
    key = filters.sort.lstrip("-")  # the sort joined its own table already
    if key != "technician":
        query = query.outerjoin(User, User.id == Dispatch.assigned_user_id)
    if key != "asset":
        query = query.outerjoin(Asset, Asset.id == Dispatch.asset_id)
    query = (query.outerjoin(MajorLocation, MajorLocation.id == Dispatch.major_location_id)
             .with_only_columns(Dispatch.dispatch_number, Dispatch.title, Dispatch.status, Dispatch.priority,
                                Asset.asset_tag, MajorLocation.name, User.name, Dispatch.created_date,
                                Dispatch.due_date, Dispatch.completed_date, Dispatch.sla_due_at)
             .where(*conditions).order_by(*order)
             .execution_options(yield_per=EXPORT_BATCH))

    def moment(value: datetime | None) -> str:
        if value is None:
            return ""
        return to_local(value, zone).strftime("%Y-%m-%d %H:%M")

    for number, title, status, priority, asset, location, name, created, due, completed, sla in db.session.execute(query):
        yield (number, title, status, priority, asset or "", location or "", name or "",
               moment(created), moment(due), moment(completed), moment(sla))


TECHNICIAN_CHOICES = 50


def technician_choices(search: str | None = None, selected: str | None = None,
                       limit: int = TECHNICIAN_CHOICES) -> tuple[list, bool]:
    """Technicians for the list's filter, by name: those whose name contains ``search`` (all
    without one), at most ``limit``, and the ``selected`` one whatever the search (one query).

    Returns the rows and whether more technicians match than are shown.
    """
    chosen = canonical_int(selected) if selected else None
    conditions = [User.role == Role.TECHNICIAN.value, User.is_system.is_(False)]
    wanted = [contains_text(User.name, search)] if search else []
    if chosen is not None and wanted:
        wanted = [or_(User.id == chosen, *wanted)]
    first = [case((User.id == chosen, 0), else_=1)] if chosen is not None else []
    rows = db.session.execute(
        select(User.id, User.name).where(*conditions, *wanted).order_by(*first, User.name, User.id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = sorted(rows[:limit], key=lambda row: (row.name.lower(), row.id))
    return rows, more


def filter_choices(technician_search: str | None = None, technician: str | None = None) -> dict:
    """Options of the list's filter form: asset types, locations and technicians (three queries).

    A fleet has too many technicians for one drop-down: it offers the first
    ``TECHNICIAN_CHOICES`` by name, or those matching the "find technician" text.
    """
    technicians, more = technician_choices(technician_search, technician)
    return {
        "asset_types": db.session.execute(select(AssetType.id, AssetType.name).order_by(AssetType.name)).all(),
        "locations": db.session.execute(select(MajorLocation.id, MajorLocation.name).order_by(MajorLocation.name)).all(),
        "technicians": technicians,
        "more_technicians": more,
        "technician_search": technician_search or "",
    }


# --- Checklist progress, for a page of dispatches at once ------------------------------------


@dataclass(frozen=True)
class Progress:
    signed: int
    total: int


def checklist_progress(dispatch_ids: list[int]) -> dict[int, Progress]:
    """Signed-off and total checklists per dispatch: one query over the master rows.

    The master rows carry the sign-off, so rows whose plugin is not loaded count too.
    """
    from app.models import AllDispatchDetail

    ids = sorted(set(dispatch_ids))
    if not ids:
        return {}
    result = db.session.execute(
        select(AllDispatchDetail.dispatch_id, func.count(), func.count(AllDispatchDetail.signed_off_at))
        .where(AllDispatchDetail.dispatch_id.in_(ids))
        .group_by(AllDispatchDetail.dispatch_id)
    )
    return {dispatch_id: Progress(int(signed), int(total)) for dispatch_id, total, signed in result}


# --- My work ---------------------------------------------------------------------------------

MY_WORK_STATUSES = (DispatchStatus.ASSIGNED, DispatchStatus.EN_ROUTE, DispatchStatus.IN_PROGRESS)
RECENT_COMPLETED_DAYS = 3


@dataclass
class MyWork:
    open: list[Dispatch]
    completed: list[Dispatch]
    progress: dict[int, Progress]
    recent_days: int


def my_work(user: User, *, limit: int = 100, now: datetime | None = None) -> MyWork:
    """A technician's open dispatches, most urgent first, and what they completed lately (4 queries)."""
    now = now or utcnow()
    options = (
        joinedload(Dispatch.asset).joinedload(Asset.asset_type),
        joinedload(Dispatch.asset).joinedload(Asset.make_model),
        joinedload(Dispatch.dispatch_location),
    )
    open_work = db.session.scalars(
        select(Dispatch)
        .where(Dispatch.assigned_user_id == user.id, Dispatch.status.in_(MY_WORK_STATUSES))
        .options(*options)
        .order_by(PRIORITY_ORDER, Dispatch.sla_due_at.is_(None), Dispatch.sla_due_at, Dispatch.id)
        .limit(limit)
    ).unique().all()
    completed = db.session.scalars(
        select(Dispatch)
        .where(Dispatch.assigned_user_id == user.id, Dispatch.status == DispatchStatus.COMPLETED.value,
               Dispatch.completed_date >= now - timedelta(days=RECENT_COMPLETED_DAYS))
        .options(*options)
        .order_by(Dispatch.completed_date.desc(), Dispatch.id.desc())
        .limit(limit)
    ).unique().all()
    progress = checklist_progress([d.id for d in [*open_work, *completed]])
    return MyWork(list(open_work), list(completed), progress, RECENT_COMPLETED_DAYS)


# --- The dispatch page -----------------------------------------------------------------------


def dispatch_for_page(dispatch_id: int, user: User) -> Dispatch:
    """The dispatch with everything its page shows, in a fixed number of queries.

    Technicians only reach dispatches assigned to them; anything else is "not found".
    """
    from app.models import DispatchMetric, DispatchStatusHistory, Event
    from app.services.errors import NotFound

    query = (
        select(Dispatch)
        .where(Dispatch.id == dispatch_id)
        .options(
            joinedload(Dispatch.asset).joinedload(Asset.asset_type),
            joinedload(Dispatch.asset).joinedload(Asset.make_model),
            joinedload(Dispatch.asset).joinedload(Asset.major_location),
            joinedload(Dispatch.assigned_user),
            joinedload(Dispatch.dispatch_location),
            joinedload(Dispatch.major_location),
            selectinload(Dispatch.status_history).joinedload(DispatchStatusHistory.changed_by),
            selectinload(Dispatch.events).joinedload(Event.user),
            selectinload(Dispatch.metrics).joinedload(DispatchMetric.technician),
        )
        .execution_options(populate_existing=True)
    )
    if user.role == Role.TECHNICIAN:
        query = query.where(Dispatch.assigned_user_id == user.id)
    dispatch = db.session.scalars(query).unique().one_or_none()
    if dispatch is None:
        raise NotFound(f"Dispatch #{dispatch_id} does not exist, or is not yours to see.")
    return dispatch


def active_assets(search: str | None = None, limit: int | None = None) -> list[Asset]:
    """Active assets for the new work order's asset choice, by tag; ``search`` matches tag or name."""
    query = select(Asset).where(Asset.is_active.is_(True)).order_by(Asset.asset_tag)
    if search:
        query = query.where(or_(Asset.asset_tag.icontains(search, autoescape=True),
                                Asset.name.icontains(search, autoescape=True)))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))
