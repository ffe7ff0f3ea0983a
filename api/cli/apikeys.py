"""``chemtrace apikey``: issue and revoke API keys."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from registry import unit_of_work
from registry.access import credentials
from registry.errors import DomainError
from registry.models import ROLES


@click.group("apikey")
def apikey_group() -> None:
    """Issue and revoke API keys."""


@apikey_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "organization_id", help="the organisation id (enterprise keys)")
@click.option("--name", help="a label to recognise the key by")
@with_appcontext
def apikey_create(role: str, organization_id: str | None, name: str | None) -> None:
    """Print a new API key once, alone on the last line."""
    try:
        issued = credentials.issue_api_key(role, organization_id, name)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    unit_of_work.commit()
    click.echo(f"# API key {issued.api_key.id} ({role}); it is shown only this once:", err=True)
    click.echo(issued.secret)


@apikey_group.command("revoke")
@click.argument("key_id")
@with_appcontext
def apikey_revoke(key_id: str) -> None:
    """Revoke a key by its id; requests with it are refused from now on."""
    try:
        credentials.revoke_api_key(key_id)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    unit_of_work.commit()
    click.echo(f"revoked {key_id}")
