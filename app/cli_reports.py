"""``flask reports daily|weekly [--date YYYY-MM-DD] [--send]``: a summary printed, and sent if asked."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app.cli import as_system

reports_cli = AppGroup("reports", help="Daily and weekly summaries of the business metrics.")


def _summary_command(kind: str) -> click.Command:
    period = "day" if kind == "daily" else "ISO week (Monday to Sunday) containing the day"

    @click.option("--date", "day_text", metavar="YYYY-MM-DD",
                  help="The day, in the organisation's time zone (default: today).")
    @click.option("--send", is_flag=True, help="Also send it to managers and admins through the channels.")
    @as_system
    def command(day_text: str | None, send: bool) -> None:
        from app.services import reports

        day = reports.parse_day(day_text, field="--date") if day_text is not None else reports.today()
        report = reports.summary(kind, day)
        click.echo(reports.text(report), nl=False)
        if send:
            from app.services.notifications import notify

            notify(reports.notification(report))
            click.echo(f"Sent to managers and admins: {report.title}.")

    command.__doc__ = f"Print the {kind} summary of a {period}; --send also sends it."
    return reports_cli.command(kind)(command)


daily = _summary_command("daily")
weekly = _summary_command("weekly")


def register(app: Flask) -> None:
    app.cli.add_command(reports_cli)
