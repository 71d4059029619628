"""``flask analyze``: the assignment analytics and the fleet's metrics for a range of days,
as text tables, one JSON document or CSV blocks.

Every figure comes from ``app.services.analytics`` (the figures of ``/dashboard/assignments``,
through the same ``TABLES`` its CSV downloads use) or ``app.services.metrics`` (routing speed,
cost, SLA compliance, burnout, narrowed by the same filters: ``AnalyticsFilters.metric_scope``),
so a number here is the number on the page and in ``GET /reports/metrics``.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, or_, select

from app.extensions import db

#: Ranges longer than this many days show a progress bar on stderr (when it is a terminal).
PROGRESS_DAYS = 31
FORMATS = ("text", "json", "csv")


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    header: tuple[str, ...]
    rows: list[Sequence[object]]
    note: str | None = None


class Refused(click.UsageError):
    """Bad input: the message on stderr, exit status 2, nothing written."""


def _named(kind: str, option: str, text: str | None, model, *conditions, email: bool = False) -> int | None:
    """The id of the record named ``text`` (case-insensitively; a technician also by e-mail)."""
    if text is None:
        return None
    wanted = text.strip().casefold()
    if not wanted:
        raise Refused(f"{option} is empty: give a {kind}'s name, or leave {option} out for every {kind}.")
    matches = [model.name.is_not(None) & (func.lower(model.name) == wanted)]
    if email:
        matches.append(func.lower(model.email) == wanted)
    rows = db.session.execute(select(model.id, model.name).where(or_(*matches), *conditions)
                              .order_by(model.id)).all()
    if not rows:
        raise Refused(f"There is no {kind} named {text.strip()!r}: check the spelling (any case), or leave {option} "
                      f"out for every {kind}.")
    if len(rows) > 1:
        raise Refused(f"{len(rows)} {kind}s are named {text.strip()!r}; give the e-mail address instead.")
    return rows[0][0]


def _filters(since: str | None, until: str | None, location: str | None, asset_type: str | None,
             skill: str | None, technician: str | None):
    from app.models import AssetType, MajorLocation, Role, Skill, User
    from app.services import analytics, reports
    from app.services.errors import ValidationError

    try:
        args: dict[str, Any] = {}
        if since is not None or until is not None:
            end = reports.parse_day(until, field="--until") if until is not None else reports.today()
            start = (reports.parse_day(since, field="--since") if since is not None
                     else end - timedelta(days=analytics.RANGE_DAYS[analytics.DEFAULT_RANGE] - 1))
            args.update(range="custom", since=start.isoformat(), until=end.isoformat())
        args.update(
            location=_named("location", "--location", location, MajorLocation),
            asset_type=_named("asset type", "--asset-type", asset_type, AssetType),
            skill=_named("skill", "--skill", skill, Skill),
            technician=_named("technician", "--technician", technician, User, User.role == Role.TECHNICIAN.value,
                              User.is_system.is_(False), email=True),
        )
        return analytics.AnalyticsFilters.from_args(args)
    except ValidationError as error:
        # The service names the page's parameters; the command's are options.
        raise Refused(error.message.replace("since (", "--since (").replace("until (", "--until (")) from error


def _sections(filters) -> list[Callable[[], list[Section]]]:
    """Each step computes one figure once and gives its tables (the progress bar counts steps)."""
    from app.services import analytics, metrics

    def table(name: str) -> Callable[[], list[Section]]:
        def step() -> list[Section]:
            spec, rows = analytics.table(name, filters)
            return [Section(name, spec.title, spec.header, rows)]
        return step

    def skills() -> list[Section]:
        spec = analytics.TABLES["skills"]
        figure = spec.compute(filters)
        return [
            Section("skills", spec.title, spec.header, list(spec.rows(figure))),
            Section("skill-match", "Skill match rate",
                    ("assigned dispatches needing a skill", "technician holds the skill", "match rate %"),
                    [(figure.assigned, figure.matched, figure.match_rate)]),
        ]

    window, scope = filters.metric_window, filters.metric_scope

    def costs() -> list[Section]:
        breakdowns = analytics.cost_breakdowns(filters)  # the three tables from one query
        return [Section(name, spec.title, spec.header, list(spec.rows(breakdowns[by])))
                for name, by in (("cost-asset-type", "asset_type"), ("cost-location", "location"),
                                 ("cost-priority", "priority"))
                for spec in (analytics.TABLES[name],)]

    def routing() -> list[Section]:
        r = metrics.routing_speed(window, scope=scope)
        return [Section("routing", "Routing speed (creation to assignment)",
                        ("assignments", "p50 seconds", "p95 seconds", "worst seconds", "unassigned waiting over p95"),
                        [(r.assignments, r.p50_seconds, r.p95_seconds, r.worst_seconds, r.waiting_over)])]

    def cost() -> list[Section]:
        c = metrics.operational_cost(window, scope=scope)
        return [Section("cost", "Operational cost per assignment",
                        ("assignments", "total cost", "average cost", "worst cost", "limit", "above limit"),
                        [(c.assignments, _round(c.total), _round(c.average), _round(c.worst), c.limit, c.above)])]

    def sla() -> list[Section]:
        s = metrics.sla_compliance(window, scope=scope)
        return [Section("sla", "SLA compliance", ("completed", "within SLA", "rate %", "open past SLA"),
                        [(s.completed, s.within_sla, _round(s.rate), s.open_past_sla)])]

    def burnout() -> list[Section]:
        # A location, asset type or skill means nothing to a technician's burnout: empty
        # tables that say why, never the whole fleet's figures under a narrowed heading.
        why = metrics.not_narrowable("burnout", scope)
        b = None if why else metrics.burnout(window, scope=scope)
        return [
            Section("burnout", "Burnout risk", ("technicians assessed", "at risk"),
                    [(b.assessed, b.at_risk)] if b else [], why),
            Section("burnout-technicians", "Technicians at risk of burnout", ("technician", "risk", "latest dispatch"),
                    [(t.name, t.risk, t.dispatch_number) for t in b.technicians] if b else [], why),
        ]

    return [table("priority"), skills, table("status"), table("workload"), routing,
            costs, cost,
            table("sla-day"), table("sla-priority"), sla, burnout, table("recent")]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _describe(filters) -> dict[str, Any]:
    def name(choice) -> str | None:
        return choice.name if choice else None

    return {"since": filters.since.isoformat(), "until": filters.until.isoformat(), "label": filters.label,
            "location": name(filters.location), "asset_type": name(filters.asset_type),
            "skill": name(filters.skill), "technician": name(filters.technician)}


def _json(filters, sections: list[Section]) -> str:
    document = {
        "range": _describe(filters),
        "sections": {s.name: {"title": s.title, "columns": list(s.header),
                              "rows": [dict(zip(s.header, row, strict=True)) for row in s.rows], "note": s.note}
                     for s in sections},
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def _csv(filters, sections: list[Section]) -> str:
    from app.services.exports import csv_text

    # One block per table: its title, its header and rows, a blank line between blocks.
    blocks = [csv_text(("range",), [(filters.label,)])]
    blocks += [csv_text((s.title,), []) + csv_text(s.header, s.rows) for s in sections]
    return "\r\n".join(blocks)


def _cell(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _text(filters, sections: list[Section]) -> str:
    from rich.console import Console
    from rich.table import Table

    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False, color_system=None, highlight=False)
    described = _describe(filters)
    narrowed = [f"{key.replace('_', ' ')}: {described[key]}" for key in ("location", "asset_type", "skill", "technician")
                if described[key]]
    console.print(f"Assignment analytics, {filters.label}" + (f" — {', '.join(narrowed)}" if narrowed else ""))
    for s in sections:
        table = Table(title=s.title, title_justify="left", caption=s.note, caption_justify="left")
        for column in s.header:
            table.add_column(column, overflow="fold")
        for row in s.rows:
            table.add_row(*(_cell(v) for v in row))
        if not s.rows:
            table.add_row("no data", *([""] * (len(s.header) - 1)))
        console.print()
        console.print(table)
    return out.getvalue()


def _check_output(path: str) -> str:
    """Refuse an output file that cannot be written before any figure is computed."""
    full = os.path.abspath(path)
    folder = os.path.dirname(full)
    if os.path.isdir(full):
        raise Refused(f"--output {path!r} is a folder; give a file name in it.")
    if not os.path.isdir(folder):
        raise Refused(f"--output {path!r}: the folder {folder!r} does not exist; create it or choose another.")
    if not os.access(folder, os.W_OK) or (os.path.exists(full) and not os.access(full, os.W_OK)):
        raise Refused(f"--output {path!r} cannot be written (permission denied); choose a file you can write.")
    return full


def _write(path: str, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, renamed over it."""
    folder = os.path.dirname(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".analyze-")
    except OSError as error:
        raise Refused(f"--output {path!r} cannot be written ({error.strerror}); choose another file.") from error
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise Refused(f"--output {path!r} cannot be written ({error.strerror}); choose another file.") from error


@click.command("analyze")
@click.option("--since", metavar="YYYY-MM-DD", help="First local day (default: 29 days before --until).")
@click.option("--until", metavar="YYYY-MM-DD", help="Last local day (default: today).")
@click.option("--format", "format_", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Text tables, one JSON document, or CSV with one block per table.")
@click.option("--output", metavar="FILE", help="Write to FILE instead of standard output.")
@click.option("--location", metavar="NAME", help="Only dispatches at this location (by name, any case).")
@click.option("--asset-type", metavar="NAME", help="Only dispatches for assets of this type.")
@click.option("--skill", metavar="NAME", help="Only dispatches needing this skill.")
@click.option("--technician", metavar="NAME", help="Only this technician's work (name or e-mail).")
@with_appcontext
def analyze(since: str | None, until: str | None, format_: str, output: str | None, location: str | None,
            asset_type: str | None, skill: str | None, technician: str | None) -> None:
    """Print the assignment analytics of a range of local days (the last 30 by default)."""
    path = _check_output(output) if output else None
    filters = _filters(since, until, location, asset_type, skill, technician)
    steps = _sections(filters)
    sections: list[Section] = []
    stderr = sys.stderr
    if len(filters.days) > PROGRESS_DAYS and stderr.isatty():
        with click.progressbar(steps, label=f"Analysing {len(filters.days)} days", file=stderr) as bar:
            for step in bar:
                sections += step()
    else:
        for step in steps:
            sections += step()
    text = {"text": _text, "json": _json, "csv": _csv}[format_](filters, sections)
    db.session.rollback()  # read only: end the transaction the figures were read in
    if path:
        _write(path, text)
        click.echo(f"Wrote the analytics of {filters.label} to {output}.", err=True)
    else:
        click.echo(text, nl=False)


def register(app: Flask) -> None:
    app.cli.add_command(analyze)
