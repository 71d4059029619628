"""What the technician dashboard shows: one page of technicians and the live tiles.

Every figure comes from ``app.services.metrics`` (the alert checks and summaries read the
same functions); this module only filters, sorts and pages them. The whole fleet's states
are computed in a constant number of queries and then narrowed in Python: the sort is by
state, which is not a column, and 1,000 technicians are a few milliseconds of Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.models import DispatchStatus, utcnow
from app.services import metrics, queries
from app.services.numbers import parse_int
from app.services.text import check_text

PER_PAGE = 50
TREND_DAYS = 30  # the "Trends" table: metrics.daily_trends over the last 30 local days
STATES = metrics.TechnicianState.ALL


@dataclass
class TechnicianFilters:
    state: str | None = None
    q: str | None = None
    page: int = 1

    @classmethod
    def from_args(cls, args) -> TechnicianFilters:
        """An unknown state is ignored; an over-long search or a page that is not a number is refused
        (``ValidationError``: a 400 saying which parameter)."""
        q = (args.get("q") or "").strip()
        check_text(q, label="The name search", limit=100, multiline=False, field="q")
        state = (args.get("state") or "").strip()
        page = args.get("page")
        page = parse_int(page, label="The page", field="page") if page else 1
        return cls(state=state if state in STATES else None, q=q or None, page=max(1, page))

    def args(self, **changes) -> dict:
        values = {"state": self.state, "q": self.q, "page": self.page}
        values.update(changes)
        if values["page"] == 1:
            values["page"] = None
        return {key: value for key, value in values.items() if value not in (None, "")}


def technician_page(filters: TechnicianFilters, *, per_page: int = PER_PAGE,
                    now: datetime | None = None) -> tuple[queries.Page, dict[str, int]]:
    """One page of technicians (by state, then name) and the count in each state of the whole fleet."""
    now = now or utcnow()
    # States for the whole fleet (the counts, the filter and the sort need them); the figures
    # only for the page shown, so their queries read 50 technicians' records, not 1,000.
    everyone = metrics.technicians_now(now, figures=False)
    counts = metrics.state_counts(everyone)
    rows = everyone
    if filters.state:
        rows = [t for t in rows if t.state == filters.state]
    if filters.q:
        needle = filters.q.casefold()
        rows = [t for t in rows if needle in t.name.casefold()]
    order = {state: i for i, state in enumerate(STATES)}
    rows.sort(key=lambda t: (order[t.state], t.name.casefold(), t.technician_id))
    last_page = max(1, -(-len(rows) // per_page))
    page = min(filters.page, last_page)
    items = metrics.with_figures(rows[(page - 1) * per_page:page * per_page], now)
    return queries.Page(items=items, page=page, per_page=per_page, total=len(rows)), counts


@dataclass(frozen=True)
class Tiles:
    open_by_status: dict[str, int]  # open statuses only
    waiting: int  # metrics.pending_queue
    free_now: int  # technicians in the "available" state
    past_sla: int  # metrics.sla_compliance: open work past its SLA due time now

    @property
    def open_total(self) -> int:
        return sum(self.open_by_status.values())


def tiles(user, now: datetime | None = None, *, states: dict[str, int] | None = None) -> Tiles:
    """The live tiles, each counted exactly as the list it links to filters. ``states``: the
    fleet's count per state when the caller has it already (the page, from ``technician_page``)."""
    now = now or utcnow()
    window = metrics.window_ending(now)
    counts = queries.status_counts(user)
    open_statuses = [s.value for s in queries.OPEN_STATUSES]
    free = (states or metrics.technician_states(now))[metrics.TechnicianState.AVAILABLE]
    return Tiles(
        open_by_status={status: counts[status] for status in open_statuses},
        waiting=metrics.pending_queue(window, limit=1).waiting,
        free_now=free,
        past_sla=metrics.sla_compliance(window, limit=1).open_past_sla,
    )


WAITING_FILTER = {"status": DispatchStatus.CREATED.value, "technician": "none"}
