"""``flask alerts …``: run the alert check, send test alerts, list, acknowledge, resolve and
silence alerts, print the history as JSON, show and set thresholds.

Every command calls the same service the pages call, as the system user; a refusal prints
the service's message on stderr, exits with status 1 and changes nothing.
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask import Flask
from flask.cli import AppGroup

from app.cli import as_system
from app.cli_fleet import plain_text

alerts_cli = AppGroup("alerts", help="Run the alert check and work with alerts, silences and thresholds.")


def _moment(text: str, option: str) -> datetime:
    """An ISO 8601 moment; without an offset it is read in the organisation's zone."""
    from app.services import local_time
    from app.services.errors import ValidationError

    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"{option} must be an ISO 8601 time such as 2026-12-01T08:00 or "
                              f"2026-12-01T08:00+01:00, not {text!r}.") from None
    return local_time.to_utc(parsed, local_time.organisation_zone(), label=option)


@alerts_cli.command("check")
@click.option("--dry-run", is_flag=True, help="Measure and report only: write nothing, tell nobody.")
@as_system
def check(dry_run: bool) -> None:
    """Run one alert check now and print what it found and did."""
    from app.services.alerting import run_check

    report = run_check(dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
    if report.errors:
        raise SystemExit(1)


@alerts_cli.command("test")
@as_system
def send_test() -> None:
    """Send one sample alert per category and severity through every active channel."""
    from app.services.alerting import send_test_alerts
    from app.services.notifications import active_channels

    channels = ", ".join(active_channels()) or "none (set MOTORPOOL_NOTIFIERS)"
    sent = send_test_alerts()
    click.echo(f"Sent {len(sent)} test alert notifications (kind alert.test) through: {channels}.")


@alerts_cli.command("list")
@click.option("--state", type=click.Choice(["open", "firing", "acknowledged", "resolved"]),
              help="Only alerts in this state (open: firing or acknowledged).")
@click.option("--category", help="Only alerts of this category, e.g. sla_compliance.")
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]))
@plain_text
@as_system
def list_alerts(state: str | None, category: str | None, severity: str | None) -> None:
    """List alerts, most recently seen first."""
    from app.services import alerting, local_time

    zone = local_time.organisation_zone()
    rows = alerting.list_alerts(state=state, category=category, severity=severity)
    if not rows:
        click.echo("No alerts.")
    for alert in rows:
        seen = local_time.format_local(alert.last_seen_at, zone=zone)
        subject = f" [{alert.subject_label or alert.subject}]" if alert.subject else ""
        click.echo(f"#{alert.id:<5} {alert.state:<12} {alert.severity:<8} {alert.category}{subject}  "
                   f"x{alert.occurrences}  last {seen}  {alert.message}")


@alerts_cli.command("ack")
@click.argument("alert_id", type=int)
@as_system
def ack(alert_id: int) -> None:
    """Acknowledge an alert: no more repeats, no escalation."""
    from app.services.actors import system_user
    from app.services.alerting import acknowledge

    alert = acknowledge(alert_id, system_user())
    click.echo(f"Alert #{alert.id} acknowledged.")


@alerts_cli.command("resolve")
@click.argument("alert_id", type=int)
@click.option("--note", default="", help="Why it is resolved.")
@plain_text
@as_system
def resolve_alert(alert_id: int, note: str) -> None:
    """Resolve an alert by hand (a new one is raised if the problem persists)."""
    from app.services.actors import system_user
    from app.services.alerting import resolve

    alert = resolve(alert_id, system_user(), note)
    click.echo(f"Alert #{alert.id} resolved.")


@alerts_cli.command("silence")
@click.argument("category")
@click.option("--minutes", type=int, help="How long, in minutes (at most 30 days).")
@click.option("--reason", default="", help="Why; shown with the silence.")
@click.option("--lift", is_flag=True, help="End the category's active silences now instead.")
@plain_text
@as_system
def silence_category(category: str, minutes: int | None, reason: str, lift: bool) -> None:
    """Silence a category's notifications for a while (alerts are still recorded), or --lift."""
    from app.services import alerting, local_time
    from app.services.errors import ValidationError

    if lift:
        active = [s for s in alerting.active_silences() if s.category == category]
        if not active:
            raise ValidationError(f"{category} has no active silence to lift.")
        for row in active:
            alerting.lift_silence(row.id)
        click.echo(f"Lifted {len(active)} silence{'s' if len(active) != 1 else ''} of {category}.")
        return
    if minutes is None:
        raise ValidationError("Give --minutes N (how long to silence), or --lift to end a silence.")
    row = alerting.silence(category, minutes, reason)
    until = local_time.format_local(row.ends_at, zone=local_time.organisation_zone())
    click.echo(f"Silenced {category} until {until}: {row.reason}")


@alerts_cli.command("silences")
@as_system
def list_silences() -> None:
    """List the silences in force."""
    from app.services import alerting, local_time

    rows = alerting.active_silences()
    if not rows:
        click.echo("No active silences.")
    for row in rows:
        click.echo(f"#{row.id:<4} {row.category:<20} until "
                   f"{local_time.format_local(row.ends_at, zone=local_time.organisation_zone())}  {row.reason}")


@alerts_cli.command("history")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the alert_history.json shape).")
@click.option("--since", help="Only alerts seen since this ISO 8601 time.")
@plain_text
@as_system
def history(as_json: bool, since: str | None) -> None:
    """The alert history, oldest first."""
    from app.services.alerting import alert_history

    rows = alert_history(_moment(since, "--since") if since else None)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        click.echo(f"{row['timestamp']}  {row['priority']:<8} {row['category']}: {row['message']} "
                   f"({row['metric_value'] or 'no value'}; {row['state']})")


@alerts_cli.group("thresholds", invoke_without_command=True)
@click.pass_context
def thresholds(context: click.Context) -> None:
    """Show the thresholds in force (or ``set`` one category's)."""
    if context.invoked_subcommand is None:
        _print_thresholds()


@as_system
def _print_thresholds() -> None:
    from app.services import alerting

    for check, values in alerting.threshold_table():
        who = f" by {values.updated_by}" if values.updated_by else ""
        click.echo(f"{check.category:<20} {check.direction:<8} warning {alerting.format_threshold(check.unit, values.warning):<14}"
                   f" critical {alerting.format_threshold(check.unit, values.critical):<14} ({values.source}{who})")


def _value(text: str | None, option: str, banded: bool):
    from app.services.errors import ValidationError

    if text is None:
        raise ValidationError(f"Give {option}" + (" as LOW-HIGH, e.g. 50-90." if banded else "."))
    if not banded:
        return text
    low, sep, high = text.partition("-")
    if not sep:
        raise ValidationError(f"{option} of a band is written LOW-HIGH, e.g. 50-90, not {text!r}.")
    return (low, high)


@thresholds.command("set")
@click.argument("category")
@click.option("--warning", help="The warning threshold (LOW-HIGH for a band).")
@click.option("--critical", help="The critical threshold (LOW-HIGH for a band).")
@plain_text
@as_system
def set_thresholds(category: str, warning: str | None, critical: str | None) -> None:
    """Set one category's thresholds; refused values say why and change nothing."""
    from app.services import alerting
    from app.services.errors import NotFound

    check = alerting.known_checks().get(category)
    if check is None:
        raise NotFound(f"There is no alert check {category!r}; choose one of "
                       f"{', '.join(sorted(alerting.known_checks()))}.")
    banded = check.direction == "outside"
    alerting.set_thresholds(category, _value(warning, "--warning", banded), _value(critical, "--critical", banded))
    values = alerting.effective_thresholds(check)
    click.echo(f"{category}: warning {alerting.format_threshold(check.unit, values.warning)}, "
               f"critical {alerting.format_threshold(check.unit, values.critical)}.")


def register(app: Flask) -> None:
    app.cli.add_command(alerts_cli)

