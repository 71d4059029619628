"""Daily and weekly summaries: the business metrics over one local day or one ISO week.

A **daily** summary covers one calendar day in the organisation's zone
(``MOTORPOOL_TIMEZONE``), local midnight to local midnight — 23 or 25 hours on the days the
clocks change. A **weekly** summary covers the ISO week (Monday to Sunday, local) that
*contains* the given day, so any day of a week names that week. The scheduler asks for the
day before it runs (daily at 08:00: yesterday; weekly on Monday: Sunday, the week just
ended). A period that has not ended yet is summarised up to now ("so far"); a period that
has not begun is refused.

Every figure comes from one function of ``app.services.metrics``; nothing is recomputed
here. ``send_summary`` sends the text, HTML and JSON figures through
``app.services.notifications.notify`` to managers and admins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import render_template

from app.models import utcnow
from app.plugins.contracts import MetricWindow, Notification
from app.services import alerting, local_time, metrics
from app.services.errors import ValidationError

KINDS = ("daily", "weekly")
# ASCII digits only, the whole text: one spelling per day (\d would take other scripts' digits).
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Summary:
    kind: str  # "daily" or "weekly"
    first_day: date  # local dates, inclusive
    last_day: date
    zone: str  # the organisation's zone the days are in
    window: MetricWindow  # UTC; ends now when the period is not over
    complete: bool  # False: the period is still running ("so far")
    counts: metrics.DispatchCounts
    sla: metrics.SlaCompliance
    routing: metrics.RoutingSpeed
    cost: metrics.OperationalCost
    first_time_fix: metrics.FirstTimeFix
    burnout: metrics.Burnout
    utilisation: metrics.Utilisation
    #: Alerts open when the summary is made (by severity, firing, acknowledged, total): a
    #: summary of a past period still says what needs attention now.
    open_alerts: dict[str, int]

    @property
    def open_alerts_text(self) -> str:
        return open_alerts_text(self.open_alerts)

    @property
    def period(self) -> str:
        """"Tuesday 1 December 2026", or "week 49 of 2026 (30 November – 6 December 2026)"."""
        if self.kind == "daily":
            return f"{self.first_day:%A} {_day_text(self.first_day)}"
        year, week, _ = self.first_day.isocalendar()
        first, last = self.first_day, self.last_day
        if (first.year, first.month) == (last.year, last.month):
            days = f"{first.day}–{_day_text(last)}"
        elif first.year == last.year:
            days = f"{first.day} {first:%B} – {_day_text(last)}"
        else:
            days = f"{_day_text(first)} – {_day_text(last)}"
        return f"week {week} of {year} ({days})"

    @property
    def title(self) -> str:
        return f"{self.kind.capitalize()} summary, {self.period}" + ("" if self.complete else " (so far)")


def _day_text(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


# --- Which days --------------------------------------------------------------------------------


def parse_day(text: str | None, *, field: str = "date") -> date:
    """A date written YYYY-MM-DD; anything else is refused with how to write it."""
    value = text or ""
    if _DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    shown = value if len(value) <= 40 else value[:40] + "…"
    raise ValidationError(f"{shown!r} is not a date: write it as YYYY-MM-DD, such as 2026-12-01.", field=field)


def today() -> date:
    """Today in the organisation's zone."""
    return local_time.to_local(utcnow(), local_time.organisation_zone()).date()


def period_days(kind: str, day: date) -> tuple[date, date]:
    """The first and last local day a summary of ``kind`` for ``day`` covers."""
    if kind == "daily":
        return day, day
    if kind == "weekly":
        monday = day - timedelta(days=day.isoweekday() - 1)  # 0001-01-01 is a Monday: never before it
        return monday, min(monday, date.max - timedelta(days=6)) + timedelta(days=6)
    raise ValidationError(f"{kind!r} is not a kind of summary; choose daily or weekly.", field="kind")


def _midnight(day: date) -> datetime:
    # The first instant of the local day: a midnight the clocks skip becomes the moment of
    # the jump (fold 0 takes the offset before it), so consecutive days always touch.
    return datetime.combine(day, time(0), tzinfo=local_time.organisation_zone()).astimezone(UTC)


def period_window(kind: str, day: date) -> tuple[MetricWindow, bool, date, date]:
    """The UTC window of the period, whether it is over, and its first and last day."""
    first, last = period_days(kind, day)
    try:
        start = _midnight(first)
    except OverflowError:  # the first days of year 1, east of UTC
        raise ValidationError(f"{day.isoformat()} is too far in the past; choose a day from 1900 on.",
                              field="date") from None
    now = utcnow()
    if start > now:
        zone = local_time.zone_label(local_time.organisation_zone())
        raise ValidationError(
            f"{day.isoformat()} has not begun yet in {zone}; choose today ({today().isoformat()}) or an earlier day.",
            field="date",
        )
    end = _midnight(last + timedelta(days=1))  # begun, so not the last day of year 9999
    return MetricWindow(start, min(end, now)), end <= now, first, last


# --- The summary ------------------------------------------------------------------------------


def summary(kind: str, day: date) -> Summary:
    """Every figure of the summary of ``kind`` ("daily" or "weekly") for ``day``."""
    window, complete, first, last = period_window(kind, day)
    return Summary(
        kind=kind, first_day=first, last_day=last, zone=local_time.zone_label(local_time.organisation_zone()),
        window=window, complete=complete,
        counts=metrics.dispatch_counts(window),
        sla=metrics.sla_compliance(window),
        routing=metrics.routing_speed(window),
        cost=metrics.operational_cost(window),
        first_time_fix=metrics.first_time_fix(window),
        burnout=metrics.burnout(window),
        utilisation=metrics.utilisation(window),
        open_alerts=alerting.open_alert_counts(),
    )


def _percent(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1f} %"


def _money(amount: float | None) -> str:
    from app.blueprints.formatting import money

    return money(amount, "no data")


def text(report: Summary) -> str:
    """The summary as plain text: the console, the log file, an email's text part, ``flask reports``."""
    s = report
    lines = [s.title, f"Times in {s.zone}; from {local_time.format_local(s.window.start, zone=_zone())} "
                      f"to {local_time.format_local(s.window.end, zone=_zone())}.", ""]
    lines.append(f"Dispatches: {s.counts.created} created, {s.counts.completed} completed, "
                 f"{s.counts.cancelled} cancelled")
    sla = f"SLA compliance: {_percent(s.sla.rate)}"
    if s.sla.rate is not None:
        sla += f" ({s.sla.within_sla} of {s.sla.completed} completed within SLA)"
    lines.append(sla + f"; {s.sla.open_past_sla} still open past SLA")
    lines.append(f"Routing speed: p50 {metrics.duration_text(s.routing.p50_seconds)}, p95 {metrics.duration_text(s.routing.p95_seconds)}"
                 + (f" over {s.routing.assignments} assignments" if s.routing.assignments else ""))
    lines.append(f"Operational cost: total {_money(s.cost.total)}, average {_money(s.cost.average)} per dispatch"
                 + (f" over {s.cost.assignments} assignments" if s.cost.assignments else ""))
    ftf = f"First-time-fix rate: {_percent(s.first_time_fix.rate)}"
    if s.first_time_fix.rate is not None:
        ftf += f" ({s.first_time_fix.fixed_first_time} of {s.first_time_fix.completed})"
    lines.append(ftf)
    use = f"Utilisation: {_percent(s.utilisation.rate)}"
    if s.utilisation.rate is not None:
        use += f" ({s.utilisation.booked_hours:.1f} of {s.utilisation.shift_hours:.1f} shift hours booked)"
    lines.append(use)
    if s.burnout.at_risk:
        lines.append(f"At high burnout risk ({s.burnout.at_risk} of {s.burnout.assessed} assessed):")
        lines.extend(f"  - {t.name}" + (f" ({t.risk * 100:.0f} %)" if t.risk is not None else "")
                     for t in s.burnout.technicians)
    else:
        lines.append(f"At high burnout risk: nobody ({s.burnout.assessed} technicians assessed)")
    lines.append(f"Open alerts now: {open_alerts_text(s.open_alerts)}")
    return "\n".join(lines) + "\n"


def open_alerts_text(counts: dict[str, int]) -> str:
    """"none", or "3 (1 critical, 2 warning; 1 acknowledged)"."""
    if not counts["total"]:
        return "none"
    by_severity = ", ".join(f"{counts[name]} {name}" for name in ("critical", "warning", "info") if counts[name])
    acknowledged = f"; {counts['acknowledged']} acknowledged" if counts["acknowledged"] else ""
    return f"{counts['total']} ({by_severity}{acknowledged})"


def _zone():
    return local_time.organisation_zone()


def html(report: Summary) -> str:
    """The summary as a standalone HTML document (an email's HTML part); no links, no scripts."""
    # The organisation's zone, whoever's request sends it: the email goes to many people.
    when = [local_time.format_local(moment, zone=_zone()) for moment in (report.window.start, report.window.end)]
    return render_template("reports/email.html", report=report, start_text=when[0], end_text=when[1])


def figures(report: Summary) -> dict[str, Any]:
    """The summary as JSON-ready figures (webhooks, the delivery record)."""
    s = report
    return {
        "kind": s.kind, "first_day": s.first_day.isoformat(), "last_day": s.last_day.isoformat(), "zone": s.zone,
        "start": s.window.start.isoformat(), "end": s.window.end.isoformat(), "complete": s.complete,
        "dispatches": metrics.jsonable(s.counts),
        "sla_compliance": {**metrics.jsonable(s.sla), "rate": s.sla.rate},
        "routing_speed": metrics.jsonable(s.routing),
        "operational_cost": metrics.jsonable(s.cost),
        "first_time_fix": {"completed": s.first_time_fix.completed,
                           "fixed_first_time": s.first_time_fix.fixed_first_time, "rate": s.first_time_fix.rate},
        "burnout": metrics.jsonable(s.burnout),
        "utilisation": {"booked_hours": s.utilisation.booked_hours, "shift_hours": s.utilisation.shift_hours,
                        "rate": s.utilisation.rate},
        "open_alerts": dict(s.open_alerts),
    }


def notification(report: Summary) -> Notification:
    """What ``send_summary`` sends: text, HTML and figures, to managers and admins."""
    return Notification(
        kind=f"report.{report.kind}", subject=report.title, body=text(report), roles=("manager", "admin"),
        html=html(report), data=figures(report),
    )


def send_summary(kind: str, day: date) -> None:
    """Send the summary of ``kind`` ("daily" or "weekly") for ``day`` through every routed channel."""
    from app.services.notifications import notify

    notify(notification(summary(kind, day)))
