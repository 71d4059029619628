"""``flask deliveries work|list|retry``: run the delivery worker and handle dead letters.

The commands call the same services as the admin delivery log, as the system user; a
refusal prints the service's message on stderr, exits with status 1 and changes nothing.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli import as_system
from app.cli_fleet import plain_text
from app.extensions import db

deliveries_cli = AppGroup("deliveries", help="Send queued notifications, list them, retry dead letters.")

STATUSES = ("pending", "sending", "delivered", "dead")


@deliveries_cli.command("work")
@click.option("--once", is_flag=True, help="Send what is due now and exit, instead of running until stopped.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Deliveries claimed per round.")
@as_system
def work(once: bool, limit: int) -> None:
    """Run the delivery worker (until Ctrl-C or SIGTERM), or one round with --once."""
    from app.services.delivery_worker import deliver_due, run_worker

    if once:
        report = deliver_due(limit=limit)
        click.echo(f"Claimed {report.claimed}: {report.delivered} delivered, {report.retried} to retry, "
                   f"{report.dead} dead, {report.deferred} waiting for their channel.")
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        return
    click.echo("Delivery worker running; Ctrl-C or SIGTERM stops it.")
    run_worker(limit=limit)
    click.echo("Delivery worker stopped.")


@deliveries_cli.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries in this state.")
@click.option("--channel", help="Only deliveries on this channel.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@plain_text
def list_deliveries(status: str | None, channel: str | None, limit: int) -> None:
    """The latest deliveries, newest first, with their last error."""
    from app.models import NotificationDelivery as Row

    query = select(Row).order_by(Row.created_at.desc(), Row.id.desc()).limit(limit)
    if status:
        query = query.where(Row.status == status)
    if channel:
        query = query.where(Row.channel == channel.strip())
    rows = db.session.scalars(query).all()
    if not rows:
        click.echo("No deliveries.")
        return
    for row in rows:
        click.echo(f"{row.public_id}  {row.created_at:%Y-%m-%d %H:%M:%S}  {row.channel:<10} {row.status:<9} "
                   f"tries {row.attempts}  {row.kind}  {row.notification.get('subject', '')}")
        if row.last_error and row.status != "delivered":
            click.echo(f"    last error: {row.last_error}")


@deliveries_cli.command("retry")
@click.argument("delivery_id", required=False)
@click.option("--all-dead", is_flag=True, help="Retry every dead letter.")
@as_system
@plain_text
def retry(delivery_id: str | None, all_dead: bool) -> None:
    """Send a dead delivery again now (by its id), or every dead one with --all-dead."""
    from app.services.delivery_worker import retry_all_dead, retry_now

    if bool(delivery_id) == all_dead:
        raise click.UsageError("Give one delivery id, or --all-dead, not both and not neither.")
    if all_dead:
        count = retry_all_dead()
        click.echo(f"{count} dead {'delivery is' if count == 1 else 'deliveries are'} due again now.")
        return
    row = retry_now(delivery_id)
    click.echo(f"Delivery {row.public_id} ({row.channel}) is due again now.")


def register(app: Flask) -> None:
    app.cli.add_command(deliveries_cli)
