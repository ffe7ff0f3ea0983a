"""``chemtrace keys``: the registry's signing keys: list, rotate, mark compromised."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from crypto.keys import KeyStore, b64url, b64url_decode


@click.group("keys")
def keys_group() -> None:
    """Signing keys: list them, rotate them."""


def key_store() -> KeyStore:
    return KeyStore(current_app.config["KEYS_DIR"])


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """Every key with its kid and state (next, current, retired, compromised)."""
    for key in key_store().all_keys():
        since = (
            f"  compromised since {key.compromised_since.isoformat()}"
            if key.compromised_since
            else ""
        )
        click.echo(f"{b64url(key.kid)}  {key.kid.hex()}  {key.state:<8} {key.created_at}{since}")


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Make the next key current, retire the current one, create a new next key."""
    store = key_store()
    current = store.rotate()
    click.echo(f"current key is now {b64url(current.kid)}")
    for key in store.all_keys():
        click.echo(f"{b64url(key.kid)}  {key.state}")


@keys_group.command("compromise")
@click.argument("kid")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d"]),
    help="the earliest moment the key may have been in other hands (UTC unless an offset is "
    "given); labels signed with it from then on are refused",
)
@with_appcontext
def keys_compromise(kid: str, since: datetime) -> None:
    """Mark a key compromised from a moment on: it never signs again, and verification
    refuses any label signed with it that the registry did not issue before that moment.
    A kid that begins with "-" goes after "--", or give its hex form."""
    store = key_store()
    wanted = _kid_bytes(kid)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    try:
        current = store.mark_compromised(wanted, since)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {b64url(wanted)} is compromised since {since.astimezone(UTC).isoformat()}")
    click.echo(f"current key is now {b64url(current.kid)}")


def _kid_bytes(text: str) -> bytes:
    """A kid as `keys list` shows it: base64url (11 characters) or hex (16)."""
    try:
        return bytes.fromhex(text) if len(text) == 16 else b64url_decode(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a kid", param_hint="KID") from None
