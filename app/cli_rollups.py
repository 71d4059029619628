"""``flask rollups warm``: keep the finished days ahead of their first reader (``app.services.warm_days``)."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.services import warm_days

rollups_cli = AppGroup("rollups", help="The kept sums of finished days (day trends and cost sums).")


@rollups_cli.command("warm")
@click.option("--days", type=click.IntRange(1, warm_days.MAX_DAYS), default=None,
              help="How many finished days before today to keep (default MOTORPOOL_WARM_DAYS).")
def warm(days: int | None) -> None:
    """Keep every finished day of the last N not kept yet, as the warm-days job does."""
    started = time.perf_counter()
    result = warm_days.warm(days if days is not None else current_app.config["MOTORPOOL_WARM_DAYS"])
    click.echo(f"{str(result).capitalize()} in {time.perf_counter() - started:.1f} s.")


def register(app: Flask) -> None:
    app.cli.add_command(rollups_cli)
