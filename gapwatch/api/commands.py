"""`gapwatch token create|revoke|list`: agencies' API tokens from the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gapwatch import db
from gapwatch import operations as ops
from gapwatch.errors import DomainError
from gapwatch.models import TokenScope
from gapwatch.operations.tokens import DEFAULT_DAYS, MAX_DAYS, list_tokens


def _fail(message: str) -> None:
    click.echo(f"gapwatch: {message}", err=True)
    raise SystemExit(1)


@click.group("token")
def token_group():
    """Manage agencies' API tokens."""


@token_group.command("create")
@click.option("--agency", required=True, help="The agency code the token acts for.")
@click.option("--name", default=None, help="A name to recognise it by (default: made up).")
@click.option("--scope", type=click.Choice([s.value for s in TokenScope]), default="read-write",
              show_default=True, help="read: only GET; read-write: also post events.")
@click.option("--expires-in-days", type=click.IntRange(1, MAX_DAYS), default=DEFAULT_DAYS,
              show_default=True, help="Days until the token stops working.")
@with_appcontext
def create(agency: str, name: str | None, scope: str, expires_in_days: int):
    """Create a token; its secret is printed once, as the last line."""
    session = db.new_session(db.get_engine())
    try:
        with ops.unit_of_work(session, ops.Actor.system("cli")) as uow:
            token, secret = ops.create_token(uow, agency=agency, name=name, scope=scope,
                                             expires_in_days=expires_in_days)
    except DomainError as error:
        _fail(error.message)
    finally:
        session.close()
    click.echo(f"Created token {token.name} (id {token.id}, scope {token.scope}, expires "
               f"{token.expires_at:%Y-%m-%d}) for {agency}; it is shown once, here:", err=True)
    click.echo(secret)


@token_group.command("revoke")
@click.argument("token")
@with_appcontext
def revoke(token: str):
    """Revoke the token with this id or name."""
    session = db.new_session(db.get_engine())
    try:
        with ops.unit_of_work(session, ops.Actor.system("cli")) as uow:
            found = ops.revoke_token(uow, token=token)
    except DomainError as error:
        _fail(error.message)
    finally:
        session.close()
    click.echo(f"Revoked token {found.name} (id {found.id})")


@token_group.command("list")
@with_appcontext
def list_command():
    """List the tokens: id, name, agency, created, last used, state."""
    session = db.new_session(db.get_engine())
    rows = list_tokens(session)
    session.close()
    if not rows:
        click.echo("No tokens.")
    for token, agency in rows:
        used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
        state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
        expires = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "no expiry"
        click.echo(f"{token.id}\t{token.name}\t{agency.code}\t{token.scope}\t{expires}\t"
                   f"created {token.created_at:%Y-%m-%d %H:%M}\t{used}\t{state}")
