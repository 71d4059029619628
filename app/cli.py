"""Command-line interface: ``flask users …``, ``flask seed-demo``, ``flask demo-logins``.

Commands run as the system user so that what they write is attributed to it.
"""

from __future__ import annotations

import functools
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
            user = system_user()
            db.session.commit()
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
    if db.session.scalar(select(AssetType.id).limit(1)) is None:
        logins = demo.seed_fleet()
        click.echo(f"Created the demo fleet and {len(logins)} demo users.")
    if count:
        with click.progressbar(length=count, label=f"Creating {count} dispatches") as bar:
            demo.seed_dispatches(count, seed=seed, progress=bar.update)
    _print_demo_logins()


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


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(demo_logins)
