"""The alert check: measure every registered metric, raise, repeat, resolve and escalate alerts.

One run (``run_check``) reads each ``AlertCheck`` over the metric window, compares each
reading with the effective thresholds (an admin's, else ``MOTORPOOL_ALERT_THRESHOLDS``, else
the check's own) and keeps one open alert per fingerprint (category + subject):

- a new breach raises a firing alert and tells managers and admins (``alert.firing``);
- the same fingerprint still breaching counts an occurrence; inside the suppression window
  nobody is told again, after it they are; a rise to a higher severity is told at once;
- a reading back within its thresholds (or a subject no longer reported) resolves the alert
  and tells them (``alert.resolved``); a reading of "no data" changes nothing;
- an acknowledged alert is not told again (unless its severity rises) but still resolves;
- a silenced category still records its alerts; only the notifications are left out;
- during quiet hours non-critical notifications are held and the first run after the quiet
  hours end sends them as one ``alert.digest``; critical ones always go at once;
- a critical alert nobody acknowledged within the escalation time goes to the admins once
  (``alert.escalated``).

Everything a run writes and every notification it queues is one transaction. The queries
do not grow with the number of alerts: open alerts, thresholds and silences are read once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from markupsafe import escape
from sqlalchemy import func, select

from app.config import parse_quiet_hours
from app.extensions import db
from app.models import Alert, AlertSetting, AlertSilence, AlertThreshold, User, clock_at, utcnow
from app.plugins.contracts import SEVERITIES, AlertCheck, MetricReading, MetricWindow, Notification
from app.services import local_time, metrics, webhook_subscriptions
from app.services.alert_checks import registered_checks
from app.services.errors import NotFound, ValidationError, ValidationErrors
from app.services.transaction import transaction

logger = logging.getLogger(__name__)

FALLBACK_CATEGORY = "fallback_routing"
ALERT_ROLES = ("manager", "admin")
ESCALATION_ROLES = ("admin",)
_RANK = {name: position for position, name in enumerate(SEVERITIES)}
MAX_SILENCE_MINUTES = 30 * 24 * 60


def _no_readings(window: MetricWindow) -> Sequence[MetricReading]:
    return ()


#: The immediate alert on fallback routing, configured like a check: its value is how many
#: dispatches went to a fallback technician in the metric window.
FALLBACK_CHECK = AlertCheck(
    category=FALLBACK_CATEGORY,
    label="Fallback routing",
    unit="count",
    direction="above",
    warning=0.0,
    critical=5.0,
    measure=_no_readings,
    description="Dispatches rerouted to a fallback technician (declined, technician unavailable) in the window.",
)


def known_checks() -> dict[str, AlertCheck]:
    """Every category an alert can have: the registered checks, then the fallback alert."""
    checks = dict(registered_checks())
    checks.setdefault(FALLBACK_CATEGORY, FALLBACK_CHECK)
    return checks


def metric_window(now: datetime | None = None) -> MetricWindow:
    """The last ``MOTORPOOL_METRIC_WINDOW_HOURS`` hours up to ``now``: the metrics' own window."""
    return metrics.window_ending(now)


def fingerprint(category: str, subject: str | None) -> str:
    return f"{category}:{subject}" if subject else category


# --- Settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSettings:
    quiet_hours: tuple[str, str] | None
    suppression_minutes: int
    escalation_minutes: int
    updated_by: str | None = None  # None: the configured defaults
    updated_at: datetime | None = None

    @property
    def suppression(self) -> timedelta:
        return timedelta(minutes=self.suppression_minutes)

    @property
    def escalation(self) -> timedelta:
        return timedelta(minutes=self.escalation_minutes)


def current_settings() -> AlertSettings:
    """The saved settings, else the configured defaults."""
    row = db.session.scalar(select(AlertSetting).order_by(AlertSetting.id).limit(1))
    if row is None:
        config = current_app.config
        return AlertSettings(parse_quiet_hours(config["MOTORPOOL_ALERT_QUIET_HOURS"]),
                             int(config["MOTORPOOL_ALERT_SUPPRESSION_MINUTES"]),
                             int(config["MOTORPOOL_ALERT_ESCALATION_MINUTES"]))
    quiet = (row.quiet_hours_start, row.quiet_hours_end) if row.quiet_hours_start else None
    who = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
    return AlertSettings(quiet, row.suppression_minutes, row.escalation_minutes,
                         who.name if who else None, row.updated_at)


def _whole_minutes(value: Any, *, label: str, low: int, high: int, field_name: str) -> int:
    text = str(value if value is not None else "").strip()
    try:
        number = int(text)
    except ValueError:
        raise ValidationError(f"{label} must be a whole number of minutes from {low} to {high}; "
                              f"{text or 'nothing'!r} is not.", field=field_name) from None
    if not low <= number <= high:
        raise ValidationError(f"{label} must be from {low} to {high} minutes, not {number}.", field=field_name)
    return number


def _clock_time(value: Any, *, label: str, field_name: str) -> str | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        parsed = datetime.strptime(text, "%H:%M")
    except ValueError:
        raise ValidationError(f"{label} must be a time written HH:MM such as 22:00, not {text!r}.",
                              field=field_name) from None
    return parsed.strftime("%H:%M")


def save_settings(*, quiet_hours_start: Any, quiet_hours_end: Any, suppression_minutes: Any,
                  escalation_minutes: Any) -> AlertSettings:
    """Store the alert settings (who and when come from the acting user); refused values change nothing."""
    problems: list[ValidationError] = []

    def check(rule, *args, **kwargs):
        try:
            return rule(*args, **kwargs)
        except ValidationError as error:
            problems.append(error)
            return None

    start = check(_clock_time, quiet_hours_start, label="Quiet hours start", field_name="quiet_hours_start")
    end = check(_clock_time, quiet_hours_end, label="Quiet hours end", field_name="quiet_hours_end")
    suppression = check(_whole_minutes, suppression_minutes, label="The suppression window", low=0, high=1440,
                        field_name="suppression_minutes")
    escalation = check(_whole_minutes, escalation_minutes, label="The escalation time", low=1, high=10080,
                       field_name="escalation_minutes")
    if not problems:
        if (start is None) != (end is None):
            missing = "quiet_hours_end" if end is None else "quiet_hours_start"
            problems.append(ValidationError(
                "Give both the start and the end of the quiet hours, or leave both empty for none.", field=missing))
        elif start is not None and start == end:
            problems.append(ValidationError(
                "Quiet hours must end at another time than they start (22:00 to 06:00, say).",
                field="quiet_hours_end"))
    if problems:
        raise ValidationErrors(problems)
    with transaction():
        row = db.session.scalar(select(AlertSetting).order_by(AlertSetting.id).limit(1))
        if row is None:
            row = AlertSetting()
            db.session.add(row)
        row.quiet_hours_start, row.quiet_hours_end = start, end
        row.suppression_minutes, row.escalation_minutes = suppression, escalation
        row.updated_at = utcnow()  # saved again unchanged still says who looked last
    return current_settings()


def in_quiet_hours(now: datetime, settings: AlertSettings) -> bool:
    """Whether ``now`` falls in the quiet hours, read on the organisation's wall clock.

    The local time of the instant decides, so a clock change only moves when the hours
    begin and end in UTC; hours spanning midnight (22:00–06:00) work as written.
    """
    if settings.quiet_hours is None:
        return False
    start, end = (int(part[:2]) * 60 + int(part[3:]) for part in settings.quiet_hours)
    local = local_time.to_local(now, local_time.organisation_zone())
    minute = local.hour * 60 + local.minute
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


# --- Thresholds -----------------------------------------------------------------------------


Threshold = float | tuple[float, float]


@dataclass(frozen=True)
class Thresholds:
    warning: Threshold
    critical: Threshold
    source: str  # "database", "configuration" or "default"
    updated_by: str | None = None
    updated_at: datetime | None = None


def _stored_thresholds() -> dict[str, AlertThreshold]:
    return {row.category: row for row in db.session.scalars(select(AlertThreshold))}


def _pair(value: Any) -> Threshold:
    return (float(value[0]), float(value[1])) if isinstance(value, list | tuple) else float(value)


def effective_thresholds(check: AlertCheck, stored: Mapping[str, AlertThreshold] | None = None,
                         users: Mapping[int, str] | None = None) -> Thresholds:
    """The thresholds in force for ``check``: the admin's, else the configured, else its own."""
    stored = _stored_thresholds() if stored is None else stored
    row = stored.get(check.category)
    if row is not None:
        if check.direction == "outside":
            warning: Threshold = (row.warning, row.warning_high or 0.0)
            critical: Threshold = (row.critical, row.critical_high or 0.0)
        else:
            warning, critical = row.warning, row.critical
        who = (users or {}).get(row.updated_by_id) if row.updated_by_id else None
        return Thresholds(warning, critical, "database", who, row.updated_at)
    configured = current_app.config["MOTORPOOL_ALERT_THRESHOLDS"].get(check.category)
    if configured:
        return Thresholds(_pair(configured["warning"]), _pair(configured["critical"]), "configuration")
    return Thresholds(_pair(check.warning), _pair(check.critical), "default")


def threshold_table() -> list[tuple[AlertCheck, Thresholds]]:
    """Every known check with its thresholds in force, for the settings page and the CLI."""
    stored = _stored_thresholds()
    ids = {row.updated_by_id for row in stored.values() if row.updated_by_id}
    users = {user.id: user.name for user in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    return [(check, effective_thresholds(check, stored, users)) for check in known_checks().values()]


def _breaches(direction: str, threshold: Threshold, value: float) -> bool:
    if direction == "below":
        return value < threshold
    if direction == "above":
        return value > threshold
    low, high = threshold
    return value < low or value > high


def severity_of(check: AlertCheck, thresholds: Thresholds, value: float | None) -> str | None:
    """"critical", "warning" or None (within the thresholds, or no data)."""
    if value is None:
        return None
    if _breaches(check.direction, thresholds.critical, value):
        return "critical"
    if _breaches(check.direction, thresholds.warning, value):
        return "warning"
    return None


_UNIT_RANGES = {"%": (0.0, 100.0, "a percentage from 0 to 100")}


def _number(value: Any, *, label: str, field_name: str, unit: str) -> float:
    try:
        number = float(str(value).strip()) if value is not None and str(value).strip() else None
    except ValueError:
        number = None
    if number is None or number != number or number in (float("inf"), float("-inf")):
        raise ValidationError(f"{label} must be a number; {value!r} is not.", field=field_name)
    low, high, words = _UNIT_RANGES.get(unit, (0.0, float("inf"), "a number of 0 or more"))
    if not low <= number <= high:
        raise ValidationError(f"{label} must be {words}, not {number:g}.", field=field_name)
    return number


def set_thresholds(category: str, warning: Any, critical: Any) -> AlertThreshold:
    """Store an admin's thresholds for ``category``; refused values say why and change nothing.

    ``warning`` and ``critical`` are numbers, or ``(low, high)`` bands for a check whose
    direction is "outside". Who and when come from the acting user.
    """
    check = known_checks().get(category)
    if check is None:
        raise NotFound(f"There is no alert check {category!r}; choose one of {', '.join(sorted(known_checks()))}.",
                       field="category")
    problems: list[ValidationError] = []

    def number(value: Any, label: str, field_name: str) -> float | None:
        try:
            return _number(value, label=label, field_name=field_name, unit=check.unit)
        except ValidationError as error:
            problems.append(error)
            return None

    if check.direction == "outside":
        bands = {}
        for name, given in (("warning", warning), ("critical", critical)):
            if not isinstance(given, list | tuple) or len(given) != 2:
                problems.append(ValidationError(f"The {name} band must be a low and a high value.", field=f"{name}_low"))
                bands[name] = (None, None)
                continue
            bands[name] = (number(given[0], f"The {name} band's low end", f"{name}_low"),
                           number(given[1], f"The {name} band's high end", f"{name}_high"))
        if not problems:
            (w_low, w_high), (c_low, c_high) = bands["warning"], bands["critical"]
            if w_low >= w_high:
                problems.append(ValidationError(f"The warning band's low end ({w_low:g}) must be below its high end "
                                                f"({w_high:g}).", field="warning_high"))
            if c_low >= c_high:
                problems.append(ValidationError(f"The critical band's low end ({c_low:g}) must be below its high end "
                                                f"({c_high:g}).", field="critical_high"))
            if not problems and not (c_low < w_low and w_high < c_high):
                problems.append(ValidationError(
                    f"The critical band ({c_low:g}–{c_high:g}) must be wider than the warning band ({w_low:g}–"
                    f"{w_high:g}) on both sides: a value leaves the warning band before the critical one.",
                    field="critical_low"))
        values = (bands["warning"][0], bands["critical"][0], bands["warning"][1], bands["critical"][1])
    else:
        w = number(warning, "The warning threshold", "warning")
        c = number(critical, "The critical threshold", "critical")
        if not problems:
            if check.direction == "below" and not c < w:
                problems.append(ValidationError(
                    f"{check.label} alerts when the value falls below a threshold, so the critical threshold "
                    f"({c:g}) must be lower than the warning one ({w:g}).", field="critical"))
            if check.direction == "above" and not c > w:
                problems.append(ValidationError(
                    f"{check.label} alerts when the value rises above a threshold, so the critical threshold "
                    f"({c:g}) must be higher than the warning one ({w:g}).", field="critical"))
        values = (w, c, None, None)
    if problems:
        raise ValidationErrors(problems)
    with transaction():
        row = db.session.scalar(select(AlertThreshold).where(AlertThreshold.category == category))
        if row is None:
            row = AlertThreshold(category=category)
            db.session.add(row)
        row.warning, row.critical, row.warning_high, row.critical_high = values
        row.updated_at = utcnow()
    return row


def reset_thresholds(category: str) -> None:
    """Back to the configured (or the check's own) thresholds."""
    if category not in known_checks():
        raise NotFound(f"There is no alert check {category!r}.", field="category")
    with transaction():
        row = db.session.scalar(select(AlertThreshold).where(AlertThreshold.category == category))
        if row is not None:
            db.session.delete(row)


# --- Formatting -----------------------------------------------------------------------------


def format_value(unit: str, value: float | None) -> str:
    """A metric value as people read it: "68.5%", "95 s", "12 min", "7.5 h", "$512.00", "12".

    Seconds go through ``metrics.duration_text``, so an alert says "1.5 h" where the
    dashboards and reports say it, not "5412 s"."""
    if value is None:
        return "no data"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "s":
        return metrics.duration_text(value)
    if unit == "h":
        return f"{value:.1f} h"
    if unit == "money":
        from babel.numbers import format_currency

        return format_currency(value, current_app.config["MOTORPOOL_CURRENCY"], locale="en")
    return f"{value:g}"


def format_threshold(unit: str, threshold: Threshold) -> str:
    if isinstance(threshold, tuple):
        return f"{format_value(unit, threshold[0])}–{format_value(unit, threshold[1])}"
    return format_value(unit, threshold)


def _label(category: str) -> str:
    check = known_checks().get(category)
    return check.label if check else category.replace("_", " ").capitalize()


def _unit(category: str) -> str:
    check = known_checks().get(category)
    return check.unit if check else "count"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as JSON-ready data: the seed's history fields first, then the rest."""
    unit = _unit(alert.category)
    return {
        "priority": alert.severity.upper(),
        "category": _label(alert.category),
        "message": alert.message,
        "metric_value": format_value(unit, alert.value) if alert.value is not None else None,
        "timestamp": _iso(alert.first_seen_at),
        "id": alert.id,
        "category_key": alert.category,
        "severity": alert.severity,
        "state": alert.state,
        "subject": alert.subject,
        "subject_label": alert.subject_label,
        "value": alert.value,
        "unit": unit,
        "details": dict(alert.details or {}),
        "fingerprint": alert.fingerprint,
        "occurrences": alert.occurrences,
        "first_seen_at": _iso(alert.first_seen_at),
        "last_seen_at": _iso(alert.last_seen_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by.name if alert.acknowledged_by else None,
        "resolved_at": _iso(alert.resolved_at),
        "resolved_by": alert.resolved_by.name if alert.resolved_by else None,
        "resolution_note": alert.resolution_note,
        "escalated_at": _iso(alert.escalated_at),
    }


def _detail_text(details: Mapping[str, Any]) -> str:
    return "; ".join(f"{key}: {value}" for key, value in details.items()) if details else ""


def _alert_block(alert: Alert, headline: str) -> list[str]:
    """The seed's human-readable alert block: headline, time, message, value, details."""
    zone = local_time.organisation_zone()
    lines = [
        headline,
        f"Time: {local_time.format_local(alert.last_seen_at, 'seconds', zone=zone)}",
        f"Message: {alert.message}",
        f"Metric Value: {format_value(_unit(alert.category), alert.value)}",
    ]
    if alert.subject_label or alert.subject:
        lines.append(f"Subject: {alert.subject_label or alert.subject}")
    if alert.details:
        lines.append(f"Details: {_detail_text(alert.details)}")
    if alert.occurrences > 1:
        lines.append(f"Seen {alert.occurrences} times since "
                     f"{local_time.format_local(alert.first_seen_at, 'datetime', zone=zone)}")
    return lines


def _html(lines: Sequence[str]) -> str:
    head, *rest = lines
    items = "".join(f"<li>{escape(line)}</li>" for line in rest)
    return f"<p><strong>{escape(head)}</strong></p><ul>{items}</ul>"


def alert_notification(kind: str, alert: Alert, *, roles: Sequence[str] = ALERT_ROLES,
                       note: str | None = None) -> Notification:
    label = _label(alert.category)
    words = {"alert.firing": f"{alert.severity.upper()} ALERT", "alert.resolved": "RESOLVED",
             "alert.escalated": "ESCALATED (not acknowledged)", "alert.test": f"TEST {alert.severity.upper()} ALERT"}
    headline = f"{words.get(kind, kind)} - {label}"
    lines = _alert_block(alert, headline)
    if note:
        lines.append(note)
    return Notification(
        kind=kind,
        subject=f"[{words.get(kind, kind)}] {label}: {alert.message}",
        body="\n".join(lines),
        severity=alert.severity,
        category=alert.category,
        roles=tuple(roles),
        html=_html(lines),
        data={"kind": kind, "alert": alert_dict(alert)},
    )


def _digest_notification(alerts: Sequence[Alert], quiet: tuple[str, str] | None) -> Notification:
    worst = max((a.severity for a in alerts), key=_RANK.__getitem__)
    hours = f" ({quiet[0]}–{quiet[1]})" if quiet else ""
    head = f"{len(alerts)} alert notification{'s' if len(alerts) != 1 else ''} held during quiet hours{hours}"
    blocks: list[str] = [head]
    html_blocks = [f"<p><strong>{escape(head)}</strong></p>"]
    for alert in alerts:
        state = "RESOLVED" if alert.state == "resolved" else f"{alert.severity.upper()} ({alert.state})"
        block = _alert_block(alert, f"{state} - {_label(alert.category)}")
        blocks.extend(["", *block])
        html_blocks.append(_html(block))
    return Notification(
        kind="alert.digest",
        subject=f"[DIGEST] {head}",
        body="\n".join(blocks),
        severity=worst,
        roles=ALERT_ROLES,
        html="".join(html_blocks),
        data={"kind": "alert.digest", "alerts": [alert_dict(a) for a in alerts]},
    )


def _send(notification: Notification) -> None:
    from app.services.notifications import notify

    notify(notification)


# --- The report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadingResult:
    category: str
    label: str
    subject: str | None
    subject_label: str | None
    value: float | None
    shown: str  # the value as people read it ("no data" for None)
    severity: str | None  # None: within the thresholds, or no data
    message: str


@dataclass(frozen=True)
class Outcome:
    fingerprint: str
    category: str
    severity: str
    message: str
    alert_id: int | None  # None in a dry run for an alert not yet written

    def __str__(self) -> str:
        ref = f"#{self.alert_id} " if self.alert_id else ""
        return f"{ref}{self.severity} {self.fingerprint}: {self.message}"


@dataclass
class CheckReport:
    """What one check found and did (or, in a dry run, would do)."""

    checked_at: datetime
    window: MetricWindow
    dry_run: bool = False
    quiet_hours: bool = False
    readings: list[ReadingResult] = field(default_factory=list)
    raised: list[Outcome] = field(default_factory=list)
    renotified: list[Outcome] = field(default_factory=list)
    resolved: list[Outcome] = field(default_factory=list)
    suppressed: list[Outcome] = field(default_factory=list)  # still breaching, not told again
    silenced: list[Outcome] = field(default_factory=list)  # not told: the category is silenced
    held: list[Outcome] = field(default_factory=list)  # kept for the quiet-hours digest
    escalated: list[Outcome] = field(default_factory=list)
    digest: list[Outcome] = field(default_factory=list)  # sent in this run's digest
    errors: list[str] = field(default_factory=list)  # checks that failed to measure

    def __str__(self) -> str:
        """One line for the job runs' summary and ``flask doctor``; ``lines()`` has the whole report."""
        severities = [r.severity for r in self.readings]
        no_data = sum(1 for r in self.readings if r.value is None)
        counted = ", ".join(f"{n} {label}" for n, label in (
            (severities.count("critical"), "critical"), (severities.count("warning"), "warning"),
            (no_data, "no data")) if n)
        readings = f"{len(self.readings)} reading{'' if len(self.readings) == 1 else 's'}"
        readings += f" ({counted})" if counted else " (all ok)" if self.readings else ""
        done = ", ".join(f"{label} {len(items)}" for label, items in (
            ("raised", self.raised), ("re-notified", self.renotified), ("resolved", self.resolved),
            ("suppressed", self.suppressed), ("silenced", self.silenced), ("held", self.held),
            ("escalated", self.escalated), ("in the digest", self.digest), ("errors", self.errors)) if items)
        return f"{readings}; {done or 'nothing raised or resolved'}"

    def lines(self) -> list[str]:
        zone = local_time.organisation_zone()
        head = ("Dry run (nothing written, nobody told): " if self.dry_run else "") + (
            f"alert check at {local_time.format_local(self.checked_at, 'seconds', zone=zone)} over "
            f"{local_time.format_local(self.window.start, 'datetime', zone=zone)} – "
            f"{local_time.format_local(self.window.end, 'datetime', zone=zone)}"
            + (" (quiet hours)" if self.quiet_hours else ""))
        out = [head, "Readings:"]
        for reading in self.readings:
            who = f" [{reading.subject_label or reading.subject}]" if reading.subject else ""
            state = reading.severity.upper() if reading.severity else ("no data" if reading.value is None else "ok")
            out.append(f"  {reading.category}{who}: {reading.shown} — {state} — {reading.message}")
        if not self.readings:
            out.append("  (no checks registered)")
        for title, items in (("Raised", self.raised), ("Re-notified", self.renotified), ("Resolved", self.resolved),
                             ("Suppressed", self.suppressed), ("Silenced", self.silenced), ("Held", self.held),
                             ("Escalated", self.escalated), ("Sent in the digest", self.digest)):
            out.append(f"{title}: {len(items)}")
            out.extend(f"  {item}" for item in items)
        for error in self.errors:
            out.append(f"Error: {error}")
        return out


# --- The engine -----------------------------------------------------------------------------


def _fit(text: str | None, limit: int) -> str | None:
    """A check's text as a column holds it: control characters become spaces, and a text
    longer than the column is shortened with an ellipsis (it is the program's own wording,
    not something a person typed, so it is not refused)."""
    if text is None:
        return None
    from app.services.text import _CONTROL_SINGLE_LINE

    clean = _CONTROL_SINGLE_LINE.sub(" ", str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


class _Engine:
    """Applies the alert rules to the open alerts loaded once; writes nothing in a dry run."""

    def __init__(self, report: CheckReport, open_alerts: dict[str, Alert], settings: AlertSettings,
                 silenced: set[str], now: datetime) -> None:
        self.report = report
        self.open = open_alerts
        self.settings = settings
        self.silenced = silenced
        self.now = now
        self.dry_run = report.dry_run
        self.quiet = report.quiet_hours

    def _outcome(self, alert: Alert | None, fp: str, category: str, severity: str, message: str) -> Outcome:
        return Outcome(fp, category, severity, message, alert.id if alert is not None else None)

    def breach(self, category: str, severity: str, message: str, *, value: float | None,
               details: Mapping[str, Any], subject: str | None, subject_label: str | None) -> Alert | None:
        message = _fit(message, 500) or ""
        subject, subject_label = _fit(subject, 200), _fit(subject_label, 200)
        fp = fingerprint(category, subject)
        alert = self.open.get(fp)
        if alert is None:
            if self.dry_run:
                self.report.raised.append(Outcome(fp, category, severity, message, None))
                self._tell_preview(category, severity, Outcome(fp, category, severity, message, None))
                return None
            alert = Alert(category=category, subject=subject, subject_label=subject_label, severity=severity,
                          message=message, value=value, details=dict(details), fingerprint=fp,
                          first_seen_at=self.now, last_seen_at=self.now, occurrences=1, state="firing",
                          critical_since=self.now if severity == "critical" else None)
            db.session.add(alert)
            db.session.flush()
            self.open[fp] = alert
            outcome = self._outcome(alert, fp, category, severity, message)
            self.report.raised.append(outcome)
            # Integrations hear of every new alert: quiet hours and silences are for people.
            webhook_subscriptions.publish("alert.raised", actor=None, occurred_at=self.now,
                                          data=lambda: {"alert": alert_dict(alert)})
            self._tell(alert, "alert.firing", outcome)
            return alert
        previous = alert.severity
        rising = _RANK[severity] > _RANK[previous]
        outcome = self._outcome(alert, fp, category, severity, message)
        if not self.dry_run:
            alert.occurrences += 1
            alert.last_seen_at = self.now
            alert.severity, alert.message, alert.value = severity, message, value
            alert.details, alert.subject_label = dict(details), subject_label or alert.subject_label
            if severity == "critical" and previous != "critical":
                alert.critical_since = self.now
            elif severity != "critical":
                alert.critical_since = None
        if rising:
            # Worse than what people acknowledged: it is news, so it fires again.
            if not self.dry_run and alert.state == "acknowledged":
                alert.state, alert.acknowledged_at, alert.acknowledged_by_id = "firing", None, None
            self.report.renotified.append(outcome)
            self._tell(alert, "alert.firing", outcome, severity=severity)
            return alert
        if alert.state == "acknowledged":
            self.report.suppressed.append(outcome)
        elif alert.held_since is not None:
            self.report.held.append(outcome)
        elif alert.last_notified_at is None or self.now - alert.last_notified_at >= self.settings.suppression:
            self.report.renotified.append(outcome)
            self._tell(alert, "alert.firing", outcome, severity=severity)
        else:
            self.report.suppressed.append(outcome)
        return alert

    def clear(self, alert: Alert, note: str | None = None, *, by: User | None = None) -> None:
        outcome = self._outcome(alert, alert.fingerprint, alert.category, alert.severity, note or alert.message)
        self.report.resolved.append(outcome)
        if not self.dry_run:
            alert.state = "resolved"
            alert.resolved_at = self.now
            alert.resolved_by_id = by.id if by is not None else None
            alert.resolution_note = note
            self.open.pop(alert.fingerprint, None)
        who = f"Resolved by {by.name}" if by is not None else "Resolved by the alert check"
        self._tell(alert, "alert.resolved", outcome, note=f"{who}{f': {note}' if note else ''}.")

    def _held(self, severity: str) -> bool:
        return self.quiet and severity != "critical"

    def _tell_preview(self, category: str, severity: str, outcome: Outcome) -> None:
        if category in self.silenced:
            self.report.silenced.append(outcome)
        elif self._held(severity):
            self.report.held.append(outcome)

    def _tell(self, alert: Alert, kind: str, outcome: Outcome, *, severity: str | None = None,
              note: str | None = None) -> None:
        severity = severity or alert.severity
        if alert.category in self.silenced:
            self.report.silenced.append(outcome)
            return
        if self._held(severity):
            self.report.held.append(outcome)
            if not self.dry_run and alert.held_since is None:
                alert.held_since = self.now
            return
        if self.dry_run:
            return
        _send(alert_notification(kind, alert, note=note))
        alert.last_notified_at = self.now
        alert.held_since = None

    def escalate_due(self) -> None:
        for alert in list(self.open.values()):
            if (alert.state != "firing" or alert.severity != "critical" or alert.escalated_at is not None
                    or alert.critical_since is None or self.now - alert.critical_since < self.settings.escalation):
                continue
            outcome = self._outcome(alert, alert.fingerprint, alert.category, alert.severity, alert.message)
            if alert.category in self.silenced:
                self.report.silenced.append(outcome)
                continue
            self.report.escalated.append(outcome)
            if self.dry_run:
                continue
            minutes = self.settings.escalation_minutes
            _send(alert_notification("alert.escalated", alert, roles=ESCALATION_ROLES,
                                     note=f"Critical and not acknowledged for {minutes} minutes or more."))
            alert.escalated_at = self.now

    def send_digest(self) -> None:
        """After quiet hours: everything held, as one notification (silenced categories left out)."""
        held = list(db.session.scalars(select(Alert).where(Alert.held_since.is_not(None)).order_by(Alert.id)))
        telling = [alert for alert in held if alert.category not in self.silenced]
        for alert in telling:
            self.report.digest.append(self._outcome(alert, alert.fingerprint, alert.category, alert.severity,
                                                    alert.message))
        if self.dry_run:
            return
        if telling:
            _send(_digest_notification(telling, self.settings.quiet_hours))
        for alert in held:
            alert.held_since = None
            if alert in telling:
                alert.last_notified_at = self.now


def _active_silenced_categories(now: datetime, category: str | None = None) -> set[str]:
    query = select(AlertSilence.category).where(AlertSilence.starts_at <= now, AlertSilence.ends_at > now)
    if category is not None:
        query = query.where(AlertSilence.category == category)
    return set(db.session.scalars(query))


def _open_alerts(category: str | None = None, fp: str | None = None) -> dict[str, Alert]:
    query = select(Alert).where(Alert.state != "resolved")
    if fp is not None:
        query = query.where(Alert.fingerprint == fp)
    return {alert.fingerprint: alert for alert in db.session.scalars(query)}


@contextmanager
def _at(now: datetime | None) -> Iterator[datetime]:
    if now is None:
        yield utcnow()
        return
    with clock_at(now):
        yield utcnow()


def run_check(now: datetime | None = None, *, dry_run: bool = False) -> CheckReport:
    """One full alert check: measure, raise and resolve, escalate, send the digest when due.

    One transaction for the whole run; ``dry_run`` computes and reports, writing and telling
    nothing. A check whose ``measure`` raises is reported and skipped; its open alerts stay.
    When another writer opened the same alert meanwhile (the unique index refuses the second
    open alert, or the database reports a write conflict), the run starts again once from
    fresh reads, so the other's alert is counted instead of duplicated.
    """
    from sqlalchemy.exc import IntegrityError

    from app.services.errors import ConcurrentUpdate

    if dry_run or db.session.info.get("motorpool_transaction_depth", 0):
        return _run_check(now, dry_run=dry_run)  # inside someone's transaction: theirs to retry
    for attempt in (1, 2):
        try:
            return _run_check(now, dry_run=dry_run)
        except (IntegrityError, ConcurrentUpdate):
            db.session.rollback()
            if attempt == 2:
                raise
            logger.info("alert check conflicted with another writer; running it again")
    raise AssertionError("unreachable")


def _run_check(now: datetime | None, *, dry_run: bool) -> CheckReport:
    with _at(now) as moment:
        settings = current_settings()
        window = metric_window(moment)
        report = CheckReport(checked_at=moment, window=window, dry_run=dry_run,
                             quiet_hours=in_quiet_hours(moment, settings))
        checks = registered_checks()
        with (nullcontext() if dry_run else transaction()):
            engine = _Engine(report, _open_alerts(), settings, _active_silenced_categories(moment), moment)
            stored = _stored_thresholds()
            for category, check in checks.items():
                _run_one(engine, check, effective_thresholds(check, stored), window)
            for alert in list(engine.open.values()):
                # Immediate alerts have no check to clear them: they resolve once they stop recurring.
                if alert.category not in checks and moment - alert.last_seen_at >= max(
                        settings.suppression, timedelta(minutes=1)):
                    engine.clear(alert, f"not seen again for {settings.suppression_minutes} minutes")
            engine.escalate_due()
            if not report.quiet_hours:
                engine.send_digest()
        if dry_run and not db.session.info.get("motorpool_transaction_depth", 0):
            db.session.rollback()  # end the read; nothing was changed
    return report


def _run_one(engine: _Engine, check: AlertCheck, thresholds: Thresholds, window: MetricWindow) -> None:
    try:
        readings = list(check.measure(window))
    except Exception as error:
        if current_app.config.get("MOTORPOOL_STRICT_PLUGINS"):
            raise
        logger.exception("alert check %s failed to measure", check.category)
        engine.report.errors.append(f"{check.category}: {type(error).__name__}: {error}")
        return
    seen: set[str] = set()
    for reading in readings:
        fp = fingerprint(check.category, reading.subject)
        seen.add(fp)
        severity = severity_of(check, thresholds, reading.value)
        engine.report.readings.append(ReadingResult(
            check.category, check.label, reading.subject, reading.subject_label, reading.value,
            format_value(check.unit, reading.value), severity, reading.message))
        if reading.value is None:
            continue  # no data: nothing to raise, and no evidence that an open alert cleared
        if severity is not None:
            engine.breach(check.category, severity, reading.message, value=reading.value,
                          details=reading.details or {}, subject=reading.subject,
                          subject_label=reading.subject_label)
        elif fp in engine.open:
            engine.clear(engine.open[fp], f"back within the thresholds at {format_value(check.unit, reading.value)}")
    for fp, alert in list(engine.open.items()):
        if alert.category == check.category and fp not in seen:
            engine.clear(alert, "no longer reported by the check")


# --- Immediate alerts and people's actions --------------------------------------------------


def _check_category(category: str) -> None:
    from app.services.alert_checks import _CATEGORY

    if not isinstance(category, str) or not _CATEGORY.match(category):
        raise ValidationError(f"{category!r} is not an alert category: lower-case letters, digits and underscores.",
                              field="category")


def raise_alert(category: str, severity: str, message: str, *, value: float | None = None,
                details: Mapping[str, Any] | None = None, subject: str | None = None,
                subject_label: str | None = None) -> Alert:
    """Raise (or repeat) an alert now, inside the caller's transaction, by the same rules as a check."""
    _check_category(category)
    if severity not in SEVERITIES:
        raise ValidationError(f"Severity must be one of {', '.join(SEVERITIES)}, not {severity!r}.", field="severity")
    now = utcnow()
    with transaction():
        settings = current_settings()
        report = CheckReport(checked_at=now, window=metric_window(now), quiet_hours=in_quiet_hours(now, settings))
        engine = _Engine(report, _open_alerts(fp=fingerprint(category, subject)), settings,
                         _active_silenced_categories(now, category), now)
        alert = engine.breach(category, severity, message, value=value, details=details or {}, subject=subject,
                              subject_label=subject_label)
    assert alert is not None
    return alert


def raise_fallback_alert(dispatch_number: str, reason: str, technician: str, source: str) -> Alert | None:
    """The immediate alert on fallback routing; its value counts the window's fallbacks.

    Called inside the reroute's transaction (after the new metric row is flushed), so a
    rolled-back reroute leaves no alert behind.
    """
    from app.models import DispatchMetric

    now = utcnow()
    window = metric_window(now)
    count = db.session.scalar(select(func.count(DispatchMetric.id)).where(
        DispatchMetric.fallback_used.is_(True), DispatchMetric.created_at >= window.start,
        DispatchMetric.created_at <= now)) or 0
    severity = severity_of(FALLBACK_CHECK, effective_thresholds(known_checks()[FALLBACK_CATEGORY]), float(count))
    if severity is None:
        return None
    hours = current_app.config["MOTORPOOL_METRIC_WINDOW_HOURS"]
    return raise_alert(
        FALLBACK_CATEGORY, severity,
        f"Fallback routing used for {dispatch_number} ({reason}); {count} in the last {hours:g} h",
        value=float(count),
        details={"dispatch_number": dispatch_number, "reason": reason, "technician": technician, "source": source},
    )


def get_alert(alert_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"There is no alert #{alert_id}; it may have been removed. List them with flask alerts list.")
    return alert


def acknowledge(alert_id: int, user: User) -> Alert:
    """Someone is on it: no more repeats; a critical one no longer escalates."""
    alert = get_alert(alert_id)
    if alert.state == "resolved":
        raise ValidationError(f"Alert #{alert.id} is already resolved; there is nothing to acknowledge.")
    if alert.state == "acknowledged":
        who = alert.acknowledged_by.name if alert.acknowledged_by else "someone"
        raise ValidationError(f"Alert #{alert.id} is already acknowledged by {who}.")
    with transaction():
        alert.state = "acknowledged"
        alert.acknowledged_by_id = user.id
        alert.acknowledged_at = utcnow()
    return alert


def resolve(alert_id: int, user: User, note: str | None = None) -> Alert:
    """Close an open alert by hand; if the problem persists the next check raises a new one."""
    from app.services import text as text_rules

    alert = get_alert(alert_id)
    if alert.state == "resolved":
        raise ValidationError(f"Alert #{alert.id} is already resolved.")
    note = (note or "").strip() or None
    text_rules.check_text(note, label="The note", limit=500, multiline=False, field="note")
    now = utcnow()
    with transaction():
        settings = current_settings()
        report = CheckReport(checked_at=now, window=metric_window(now), quiet_hours=in_quiet_hours(now, settings))
        engine = _Engine(report, {alert.fingerprint: alert}, settings,
                         _active_silenced_categories(now, alert.category), now)
        engine.clear(alert, note, by=user)
    return alert


def silence(category: str, minutes_or_until: int | datetime | str, reason: str, user: User | None = None
            ) -> AlertSilence:
    """No notifications for ``category`` for a number of minutes or until a moment (at most 30 days)."""
    from app.services import text as text_rules

    checks = known_checks()
    problems: list[ValidationError] = []
    if category not in checks:
        problems.append(ValidationError(f"There is no alert category {category!r}; choose one of "
                                        f"{', '.join(sorted(checks))}.", field="category"))
    now = utcnow()
    ends_at = None
    if isinstance(minutes_or_until, datetime):
        ends_at = minutes_or_until
        if ends_at.tzinfo is None:
            problems.append(ValidationError("The end of the silence needs a time zone.", field="minutes"))
            ends_at = None
        elif ends_at <= now:
            problems.append(ValidationError("The end of the silence must be in the future.", field="minutes"))
            ends_at = None
        elif ends_at - now > timedelta(minutes=MAX_SILENCE_MINUTES):
            problems.append(ValidationError("A silence lasts at most 30 days.", field="minutes"))
            ends_at = None
    else:
        try:
            minutes = _whole_minutes(minutes_or_until, label="The silence", low=1, high=MAX_SILENCE_MINUTES,
                                     field_name="minutes")
            ends_at = now + timedelta(minutes=minutes)
        except ValidationError as error:
            problems.append(error)
    reason = (reason or "").strip()
    if not reason:
        problems.append(ValidationError("Say why the category is silenced, so others know.", field="reason"))
    else:
        try:
            text_rules.check_text(reason, label="The reason", limit=500, multiline=False, field="reason")
        except ValidationError as error:
            problems.append(error)
    if problems:
        raise ValidationErrors(problems)
    with transaction():
        row = AlertSilence(category=category, starts_at=now, ends_at=ends_at, reason=reason)
        db.session.add(row)
    return row


def lift_silence(silence_id: int, user: User | None = None) -> AlertSilence:
    """End an active silence now."""
    row = db.session.get(AlertSilence, silence_id)
    if row is None:
        raise NotFound(f"There is no silence #{silence_id}.")
    now = utcnow()
    if not row.starts_at <= now < row.ends_at:
        raise ValidationError(f"Silence #{row.id} is not active (it ended "
                              f"{local_time.format_local(row.ends_at, zone=local_time.organisation_zone())}).")
    with transaction():
        row.ends_at = max(now, row.starts_at)
        row.lifted_at = now
    return row


def active_silences(now: datetime | None = None) -> list[AlertSilence]:
    """Silences in force now, ending soonest first; expired ones drop out by themselves."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(AlertSilence).where(AlertSilence.starts_at <= now, AlertSilence.ends_at > now)
        .order_by(AlertSilence.ends_at, AlertSilence.id)))


def open_alert_counts() -> dict[str, int]:
    """Open alerts by severity and by state (firing, acknowledged), plus ``total``: one query."""
    counts = {name: 0 for name in (*SEVERITIES, "firing", "acknowledged", "total")}
    rows = db.session.execute(
        select(Alert.state, Alert.severity, func.count()).where(Alert.state != "resolved")
        .group_by(Alert.state, Alert.severity))
    for state, severity, number in rows:
        counts[state] += number
        counts[severity] += number
        counts["total"] += number
    return counts


def firing_count() -> int:
    """Firing (not yet acknowledged) alerts: the navigation's badge, one cheap query."""
    return db.session.scalar(select(func.count()).select_from(Alert).where(Alert.state == "firing")) or 0


def list_alerts(*, state: str | None = None, severity: str | None = None, category: str | None = None,
                limit: int = 200) -> list[Alert]:
    """Alerts newest first, filtered; unknown filter values are refused with the choices."""
    from sqlalchemy.orm import selectinload

    from app.models import ALERT_STATES

    query = select(Alert).options(selectinload(Alert.acknowledged_by), selectinload(Alert.resolved_by))
    if state == "open":
        query = query.where(Alert.state != "resolved")
    elif state:
        if state not in ALERT_STATES:
            raise ValidationError(f"State must be open or one of {', '.join(ALERT_STATES)}, not {state!r}.",
                                  field="state")
        query = query.where(Alert.state == state)
    if severity:
        if severity not in SEVERITIES:
            raise ValidationError(f"Severity must be one of {', '.join(SEVERITIES)}, not {severity!r}.",
                                  field="severity")
        query = query.where(Alert.severity == severity)
    if category:
        _check_category(category)
        query = query.where(Alert.category == category)
    return list(db.session.scalars(query.order_by(Alert.last_seen_at.desc(), Alert.id.desc()).limit(limit)))


def alert_history(since: datetime | None = None) -> list[dict[str, Any]]:
    """Alerts seen since ``since`` (all without it), oldest first, as the seed's history JSON."""
    from sqlalchemy.orm import selectinload

    query = select(Alert).options(selectinload(Alert.acknowledged_by), selectinload(Alert.resolved_by))
    if since is not None:
        query = query.where(Alert.last_seen_at >= since)
    return [alert_dict(alert) for alert in db.session.scalars(query.order_by(Alert.first_seen_at, Alert.id))]


def send_test_alerts() -> list[Notification]:
    """One sample ``alert.test`` notification per known category and severity, through ``notify``.

    Nothing is stored: the samples are unsaved alerts.
    """
    sent = []
    now = utcnow()
    for category, check in known_checks().items():
        for severity in SEVERITIES:
            sample = Alert(category=category, severity=severity, state="firing", occurrences=1,
                           message=f"Test {severity} alert for {check.label}; nothing is wrong.",
                           value=None, details={"test": True}, fingerprint=fingerprint(category, None),
                           first_seen_at=now, last_seen_at=now)
            notification = alert_notification("alert.test", sample)
            _send(notification)
            sent.append(notification)
    return sent
