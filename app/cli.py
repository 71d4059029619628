"""Command-line interface: ``flask users …``, ``flask seed-demo``, ``flask demo-logins``.

Commands run as the system user so that what they write is attributed to it.
"""

from __future__ import annotations

import copy
import functools
import time
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db
from app.services.errors import DomainError


def as_system(command: Callable) -> Callable:
    """Run the command as the system user; a refusal becomes a clear error, exit code 1."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        from app.services.actors import acting_as, system_user

        try:
            # Not committed on its own: the system user is created together with the
            # command's first change, so a refused command leaves nothing behind.
            user = system_user()
            with acting_as(user):
                return command(*args, **kwargs)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error

    return wrapped


users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--role", type=click.Choice(["admin", "manager", "technician"]), required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.password_option(help="Prompted for (hidden, twice) when not given.")
@as_system
def create_user(role: str, email: str, name: str, password: str) -> None:
    """Create a user who can sign in."""
    from app.services.users import create_user

    user = create_user(email=email, name=name, role=role, password=password)
    click.echo(f"Created {user.role} {user.email}.")


@users_cli.command("list")
def list_users() -> None:
    """List users with their roles."""
    from app.models import User

    for user in db.session.scalars(select(User).where(User.is_system.is_(False)).order_by(User.role, User.email)):
        state = "" if user.is_active else " (inactive)"
        click.echo(f"{user.role:<11} {user.email:<40} {user.name}{state}")


@click.command("seed-demo")
@click.option("--dispatches", "count", default=200, show_default=True, type=click.IntRange(min=0),
              help="How many dispatches to create.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users or dispatches.")
@click.option("--seed", default=2026, show_default=True, help="Random seed, for repeatable demo data.")
@as_system
def seed_demo(count: int, if_empty: bool, seed: int) -> None:
    """Load demo data: locations, asset types with checklists, models, assets, people, dispatches."""
    from app.models import AssetType
    from app.services import demo

    if if_empty and not demo.database_is_empty():
        click.echo("The database already has data; demo data not loaded.")
        _print_demo_logins()
        return
    started = time.perf_counter()
    if db.session.scalar(select(AssetType.id).limit(1)) is None:
        logins = demo.seed_fleet()
        click.echo(f"Created the demo fleet and {len(logins)} demo users.")
    if count:
        with click.progressbar(length=count, label=f"Creating {count} dispatches") as bar:
            report = demo.seed_dispatches(count, seed=seed, progress=bar.update)
        states = ", ".join(f"{report.by_status[s]} {s.lower()}" for s in DEMO_STATUS_ORDER if report.by_status.get(s))
        click.echo(f"Created {report.created} demo work orders; the demo now holds {states}.")
        if report.notifications_held:
            click.echo(f"No notifications were sent for the demo's {report.notifications_held} assignments.")
    from app.services import warm_days

    # So the demo's first read of a long range finds its finished days kept.
    click.echo(f"Day sums: {warm_days.warm()}.")
    click.echo(f"Demo data loaded in {time.perf_counter() - started:.1f} s.")
    _print_demo_logins()


DEMO_STATUS_ORDER = ("Created", "Assigned", "En Route", "In Progress", "Completed", "Cancelled")


def _print_demo_logins() -> None:
    from app.models import User
    from app.services.demo import DEMO_PASSWORD
    from app.services.users import password_matches

    users = db.session.scalars(
        select(User).where(User.email.like("%@motorpool.example"), User.is_system.is_(False)).order_by(User.id)
    ).all()
    usable = [user for user in users if user.is_active and password_matches(user, DEMO_PASSWORD)]
    if not usable:
        click.echo("No demo logins (the demo accounts are absent or their passwords were changed).")
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for user in usable:
        click.echo(f"  {user.role:<11} {user.email}")


@click.command("demo-logins")
def demo_logins() -> None:
    """Print the demo accounts that still sign in with the demo password."""
    _print_demo_logins()


def _migration_commands() -> click.Group:
    """Flask-Migrate's ``flask db`` group, with ``upgrade`` going to every head by default.

    Plugins ship their own Alembic branches, so there can be several heads; plain
    ``flask db upgrade`` must apply core and every plugin branch together.
    """
    from flask_migrate.cli import db as migrate_group

    group = click.Group(
        "db", callback=migrate_group.callback, params=migrate_group.params, help=migrate_group.help
    )
    for name, command in migrate_group.commands.items():
        if name == "upgrade":
            command = copy.copy(command)
            command.params = [copy.copy(param) for param in command.params]
            for param in command.params:
                if param.name == "revision":
                    param.default = "heads"
        group.add_command(command, name)
    return group


def register(app: Flask) -> None:
    from app.cli_scheduler import doctor, scheduler_cli

    app.cli.add_command(scheduler_cli)
    app.cli.add_command(doctor)
    app.cli.add_command(_migration_commands())
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo_logins)
    app.cli.add_command(plugins_cli)
    app.cli.add_command(dispatch_cli)
    app.cli.add_command(technicians_cli)
    from app import cli_fleet  # imports ``as_system`` from here

    cli_fleet.register(app)
    from app import cli_alerts

    cli_alerts.register(app)
    from app import cli_reports

    cli_reports.register(app)
    from app import cli_deliveries

    cli_deliveries.register(app)
    from app import cli_tokens

    cli_tokens.register(app)
    from app import cli_rollups

    cli_rollups.register(app)
    from app import cli_analyze

    cli_analyze.register(app)


plugins_cli = AppGroup("plugins", help="List, enable and disable plugins.")


@plugins_cli.command("list")
def list_plugins() -> None:
    """Each plugin's name, package, version and state, what it provides, its hooks and any error."""
    from app.services.plugins import plugin_inventory

    for entry in plugin_inventory():
        record = entry.record
        state = "enabled" if record.enabled else "disabled"
        if entry.restart_needed:
            state += f" ({entry.next_state} at the next restart)"
        click.echo(f"{record.name}  {record.version or '-'}  {record.package}  {state}")
        for kind, names in entry.provides:
            click.echo(f"    {kind}: {', '.join(names)}")
        click.echo(f"    hooks: {', '.join(record.hooks) or '-'}")
        if record.error:
            click.echo(f"    error: {record.error}")


def _set_plugin(name: str, enabled: bool) -> None:
    from app.services.plugins import set_enabled

    restart = set_enabled(name, enabled)
    click.echo(f"{name} {'enabled' if enabled else 'disabled'}." + (" Restart Motorpool for it to take effect." if restart else ""))


@plugins_cli.command("enable")
@click.argument("name")
@as_system
def enable_plugin(name: str) -> None:
    """Enable a plugin (takes effect at the next start)."""
    _set_plugin(name, True)


@plugins_cli.command("disable")
@click.argument("name")
@as_system
def disable_plugin(name: str) -> None:
    """Disable a plugin (takes effect at the next start)."""
    _set_plugin(name, False)


dispatch_cli = AppGroup("dispatch", help="Create and assign dispatches.")


#: How the command line reads a moment, for the options' help.
MOMENT_HELP = "in the organisation's time zone (MOTORPOOL_TIMEZONE) unless an offset is given"


def _parse_due(value: str | None):
    """A moment typed on the command line: wall time in the organisation's zone, or with an offset."""
    from datetime import datetime

    from app.services import local_time
    from app.services.errors import DomainError

    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(
            f"{value!r} is not a date and time like 2026-12-01T14:00 or 2026-12-01T14:00+01:00"
        ) from error
    try:
        return local_time.to_utc(parsed, local_time.organisation_zone(), label="The time")
    except DomainError as error:
        raise click.BadParameter(error.message) from None


@dispatch_cli.command("create")
@click.option("--asset", "asset_tag", required=True, help="Asset tag, e.g. TRK-0001.")
@click.option("--title", required=True)
@click.option("--priority", default="Normal", show_default=True)
@click.option("--description")
@click.option("--due", help=f"Due date and time, {MOMENT_HELP}, e.g. 2026-12-01T14:00.")
@click.option("--skill", "required_skill", help="Required skill (default: the asset type's).")
@click.option("--hours", "estimated_duration_hours", type=float, help="Estimated duration in hours.")
@click.option("--auto-assign/--no-auto-assign", default=None, help="Override MOTORPOOL_AUTO_ASSIGN.")
@as_system
def create_dispatch(asset_tag, title, priority, description, due, required_skill, estimated_duration_hours, auto_assign):
    """Create a dispatch (with its checklists) for an asset."""
    from app.models import Asset
    from app.services.dispatches import create_dispatch
    from app.services.errors import ValidationError

    asset = db.session.scalar(select(Asset).where(Asset.asset_tag == asset_tag))
    if asset is None:
        some = db.session.scalars(select(Asset.asset_tag).order_by(Asset.asset_tag).limit(5)).all()
        hint = f" Known tags include: {', '.join(some)}." if some else " There are no assets yet."
        raise ValidationError(f"There is no asset tagged {asset_tag!r}.{hint}")
    dispatch = create_dispatch(title=title, asset_id=asset.id, priority=priority, description=description,
                               due_date=_parse_due(due), required_skill=required_skill,
                               estimated_duration_hours=estimated_duration_hours, auto_assign=auto_assign)
    db.session.refresh(dispatch)
    checklists = ", ".join(d.display_label for d in dispatch.all_details) or "none"
    click.echo(f"Created {dispatch.dispatch_number} ({dispatch.status}); checklists: {checklists}.")
    if dispatch.assigned_user is not None:
        click.echo(f"Assigned to {dispatch.assigned_user.name}.")


@dispatch_cli.command("rank")
@click.argument("number")
def rank_dispatch(number: str) -> None:
    """Show the ranked technicians for a dispatch and why."""
    from app.models import Dispatch
    from app.services import matching

    dispatch = db.session.scalar(select(Dispatch).where(Dispatch.dispatch_number == number))
    if dispatch is None:
        raise click.ClickException(f"There is no dispatch {number}.")
    ranking = matching.rank(dispatch)
    click.echo(f"{dispatch.dispatch_number}: matcher {ranking.matcher}" + (f" ({ranking.note})" if ranking.note else ""))
    for position, candidate in enumerate(ranking.outcome.ranked, start=1):
        info = ranking.technician(candidate.technician_id)
        click.echo(f"{position:>3}. {info.name if info else candidate.technician_id:<24} {candidate.score:.3f}")
    click.echo(f"Excluded: {ranking.excluded_summary()}")


@dispatch_cli.command("assign-pending")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(min=1))
@as_system
def assign_pending(limit: int) -> None:
    """Assign every waiting dispatch as one batch at minimum total cost."""
    from app.services import matching

    report = matching.assign_pending(limit=limit)
    click.echo(
        f"Considered {report.considered}: assigned {report.assigned}, left Created {report.left_created}, "
        f"conflicts {report.conflicts}; method {report.method}, cost {report.total_cost:.3f} "
        f"(greedy {report.greedy_total_cost:.3f}), {report.elapsed_s * 1000:.0f} ms."
    )


technicians_cli = AppGroup("technicians", help="Technician profiles, skills and availability.")


def _coordinates(value: str | None) -> tuple[float | None, float | None]:
    if not value:
        return None, None
    try:
        latitude, longitude = (float(part) for part in value.split(","))
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not 'latitude,longitude', e.g. 53.80,-1.55") from error
    return latitude, longitude


def _clock(value: str | None):
    from datetime import time

    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a time like 07:00") from error


@technicians_cli.command("profile")
@click.argument("email")
@click.option("--home", help="Home base as latitude,longitude.")
@click.option("--position", help="Current position as latitude,longitude.")
@click.option("--rate", "hourly_rate", type=float, help="Hourly rate.")
@click.option("--overtime", "overtime_multiplier", type=float, help="Overtime multiplier, e.g. 1.5.")
@click.option("--days", "shift_days", help="Shift days as ISO weekday digits, e.g. 12345.")
@click.option("--start", "shift_start",
              help="Shift start on the technician's clock (their time zone, else MOTORPOOL_TIMEZONE), e.g. 07:00.")
@click.option("--end", "shift_end", help="Shift end on the technician's clock, e.g. 17:00.")
@click.option("--max-dispatches", "max_concurrent_dispatches", type=int)
@click.option("--max-hours", "max_hours_per_week", type=float)
@as_system
def technician_profile(email, home, position, shift_start, shift_end, **values):
    """Create or update a technician's profile (only the options given change)."""
    from app.services import technicians

    user = technicians.technician_by_email(email)
    fields = {name: value for name, value in values.items() if value is not None}
    if home:
        fields["home_latitude"], fields["home_longitude"] = _coordinates(home)
    if position:
        fields["current_latitude"], fields["current_longitude"] = _coordinates(position)
    if shift_start:
        fields["shift_start"] = _clock(shift_start)
    if shift_end:
        fields["shift_end"] = _clock(shift_end)
    technicians.save_profile(user, **fields)
    click.echo(f"Saved the profile of {user.name}.")


@technicians_cli.command("skill")
@click.argument("email")
@click.argument("skill")
@click.argument("level", type=int)
@as_system
def technician_skill(email, skill, level):
    """Set a technician's level (1-5) in a skill."""
    from app.services import technicians

    user = technicians.technician_by_email(email)
    technicians.set_skill(user, skill, level)
    click.echo(f"{user.name}: {skill} level {level}.")


@technicians_cli.command("add-skill")
@click.argument("name")
@click.option("--category", required=True, help="Skills in one category count as related.")
@as_system
def add_skill(name, category):
    """Add a skill to the catalogue."""
    from app.services import technicians

    technicians.add_skill(name, category)
    click.echo(f"Added skill {name} ({category}).")


@technicians_cli.command("unavailable")
@click.argument("email")
@click.option("--reason", required=True)
@click.option("--until", help=f"Back at, {MOMENT_HELP}, e.g. 2026-12-01T08:00.")
@as_system
def technician_unavailable(email, reason, until):
    """Mark a technician unavailable; their dispatches not yet started go to the fallbacks."""
    from app.services import matching, technicians

    user = technicians.technician_by_email(email)
    moved = matching.mark_unavailable(user, reason, _parse_due(until))
    click.echo(f"{user.name} is unavailable; {len(moved)} of their dispatches were rerouted or left to a manager.")


@technicians_cli.command("available")
@click.argument("email")
@as_system
def technician_available(email):
    """Mark a technician available again."""
    from app.services import matching, technicians

    user = technicians.technician_by_email(email)
    matching.mark_available(user)
    click.echo(f"{user.name} is available.")


@dispatch_cli.command("decline")
@click.argument("number")
@click.option("--technician", "email", required=True, help="Email of the technician who declines.")
@click.option("--reason")
@as_system
def decline_dispatch(number, email, reason):
    """Record that the assigned technician declines; the dispatch goes to the fallbacks."""
    from app.models import Dispatch
    from app.services import matching, technicians

    dispatch = db.session.scalar(select(Dispatch).where(Dispatch.dispatch_number == number))
    if dispatch is None:
        raise click.ClickException(f"There is no dispatch {number}.")
    metric = matching.decline(dispatch, technicians.technician_by_email(email), reason)
    db.session.refresh(dispatch)
    if metric is not None:
        click.echo(f"{number} rerouted to {dispatch.assigned_user.name}.")
    elif dispatch.status == "Created":
        click.echo(f"Nobody could take {number}; it is back to Created.")
    else:
        click.echo(f"{number} was changed by someone else meanwhile; it is now {dispatch.status}.")


def _dispatch_by_number(number: str):
    from app.models import Dispatch

    dispatch = db.session.scalar(select(Dispatch).where(Dispatch.dispatch_number == number.strip()))
    if dispatch is None:
        raise click.ClickException(f"There is no dispatch {number}.")
    return dispatch


@dispatch_cli.command("assign")
@click.argument("number")
@click.option("--technician", "email", required=True, help="Email of the technician to assign.")
@click.option("--reason", help="Why; required to override the engine (a technician at capacity, off shift, "
                               "over their weekly hours or without the required skill).")
@as_system
def assign_dispatch(number, email, reason):
    """Assign or reassign a dispatch to a chosen technician (recorded with the engine's view of it)."""
    from app.services import matching, technicians

    dispatch = _dispatch_by_number(number)
    technician = technicians.technician_by_email(email)
    metric = matching.assign_to(dispatch, technician.id, mode="manual", reason=reason)
    eta = f", ETC {metric.estimated_completion_hours:.1f} h" if metric.estimated_completion_hours is not None else ""
    click.echo(f"{number} assigned to {technician.name} (score {metric.score or 0:.3f}{eta}).")
    if metric.mode == matching.OVERRIDE:
        click.echo("Recorded as an override of the engine.")
    if metric.note:
        click.echo(f"Note: {metric.note}")


@dispatch_cli.command("priority")
@click.argument("number")
@click.argument("priority")
@click.option("--reason")
@as_system
def set_dispatch_priority(number, priority, reason):
    """Override a dispatch's priority (its SLA moves with it when it has no due date)."""
    from app.services import matching

    dispatch = matching.set_priority(_dispatch_by_number(number), priority, reason)
    from app.services.local_time import format_local

    click.echo(f"{number} is now {dispatch.priority}; SLA due {format_local(dispatch.sla_due_at)}.")
