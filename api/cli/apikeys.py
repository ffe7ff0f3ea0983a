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
@click.option(
    "--force",
    is_flag=True,
    help="revoke it even if it is the last active admin key (a leaked one, say)",
)
@with_appcontext
def apikey_revoke(key_id: str, force: bool) -> None:
    """Revoke a key by its id; requests with it are refused from now on.

    The last active admin key is kept unless --force is given, as over HTTP. The command
    line is the recovery path: `chemtrace apikey create --role admin` makes a new one.
    """
    try:
        api_key = credentials.revoke_api_key(key_id, allow_last_admin=force)
    except DomainError as exc:
        if exc.code == "last_admin_key":
            raise click.ClickException(
                f"{key_id} is the last active admin key. Issue another first (chemtrace "
                "apikey create --role admin), or pass --force to revoke it anyway."
            ) from None
        raise click.ClickException(exc.detail) from None
    unit_of_work.commit()
    click.echo(f"revoked {key_id}")
    if force and api_key.role == "admin" and not credentials.active_admin_key_ids():
        click.echo(
            "no active admin key is left: issue one with chemtrace apikey create --role admin",
            err=True,
        )
