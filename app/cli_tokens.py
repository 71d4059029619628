"""``flask tokens create|list|revoke``: personal API tokens from the command line.

The same service as the account page (``app.services.api_tokens``); the secret is printed
once, on stdout alone, so ``TOKEN=$(flask tokens create …)`` keeps it.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli import as_system
from app.services.text import same_text

tokens_cli = AppGroup("tokens", help="Create, list and revoke personal API tokens.")


@tokens_cli.command("create")
@click.option("--email", required=True, help="The owner: the token acts as this person, with their role.")
@click.option("--name", required=True, help="What the token is for (shown in lists).")
@click.option("--expires-days", type=click.IntRange(1, 732), default=None, help="Days until it expires (default: never).")
@as_system
def create(email: str, name: str, expires_days: int | None) -> None:
    """Make a token and print its secret (shown this once only)."""
    from app.extensions import db
    from app.models import User
    from app.services import api_tokens
    from app.services.errors import NotFound

    owner = db.session.scalar(select(User).where(same_text(User.email, email.strip())))
    if owner is None:
        raise NotFound(f"There is no user with the email {email!r}.")
    new = api_tokens.create_token(owner, name, expires_in_days=expires_days)
    click.echo(f"Token {new.token.id} ({new.token.name}) for {owner.email}; keep the secret now, it is not shown again:",
               err=True)
    click.echo(new.secret)


@tokens_cli.command("list")
@click.option("--email", default=None, help="Only this person's tokens.")
@as_system
def list_tokens(email: str | None) -> None:
    """Every token: id, prefix, owner, name, state, expiry and last use."""
    from app.services import api_tokens

    for token in api_tokens.all_tokens():
        if email and token.owner.email.lower() != email.strip().lower():
            continue
        expires = f"{token.expires_at:%Y-%m-%d}" if token.expires_at else "never"
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
        click.echo(f"{token.id}\t{token.prefix}…\t{token.owner.email}\t{token.name}\t{api_tokens.state(token)}\t"
                   f"expires {expires}\tlast used {used}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2_147_483_647))
@as_system
def revoke(token_id: int) -> None:
    """Revoke a token at once (any owner's)."""
    from app.services import api_tokens

    token = api_tokens.revoke_token(None, token_id)
    click.echo(f"Token {token.id} ({token.prefix}…, {token.name}) is revoked.")


def register(app: Flask) -> None:
    app.cli.add_command(tokens_cli)
