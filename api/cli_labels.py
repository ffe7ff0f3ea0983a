"""``chemtrace keys`` and ``chemtrace label``: signing keys and offline label checks."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from crypto import tokens
from crypto.keys import (
    KeyStore,
    b64url,
    b64url_decode,
    compromised_since,
    public_keys_from_jwks,
)
from registry.verification import token_from


@click.group("keys")
def keys_group() -> None:
    """Signing keys: list them, rotate them."""


def _store() -> KeyStore:
    return KeyStore(current_app.config["KEYS_DIR"])


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """Every key with its kid and state (next, current, retired, compromised)."""
    for key in _store().all_keys():
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
    store = _store()
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
    refuses any label signed with it that the registry did not issue before that moment."""
    store = _store()
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


@click.group("label")
def label_group() -> None:
    """Printed labels."""


def read_image(path: Path) -> str:
    """The text of the QR code in a PNG, JPEG or SVG image."""
    import io

    import zxingcpp
    from PIL import Image

    data = path.read_bytes()
    if path.suffix.lower() == ".svg":
        try:
            import cairosvg
        except OSError as exc:  # the Cairo library itself is missing
            raise click.ClickException(f"cannot rasterise SVG here: {exc}") from None
        data = cairosvg.svg2png(bytestring=data, scale=2)
    image = Image.open(io.BytesIO(data)).convert("L")
    found = zxingcpp.read_barcodes(image)
    if not found:
        raise click.ClickException(f"no QR code found in {path}")
    return found[0].text


def _refuse(reason: str, detail: str) -> NoReturn:
    click.echo(json.dumps({"verified": False, "failure_reason": reason, "detail": detail}))
    raise SystemExit(1)


@label_group.command("verify")
@click.argument("subject")
@click.option(
    "--jwks",
    "jwks_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a saved /.well-known/jwks.json (default: this registry's own keys)",
)
@click.option("--issuer", help="the expected issuer (default: CHEMTRACE_ISSUER)")
@with_appcontext
def label_verify(subject: str, jwks_file: Path | None, issuer: str | None) -> None:
    """Verify a label offline from a token, a label URL or a label image; exit 0 if genuine."""
    path = Path(subject)
    text = read_image(path) if len(subject) < 4096 and path.is_file() else subject
    jwks = json.loads(jwks_file.read_text()) if jwks_file is not None else _store().jwks()
    keys = public_keys_from_jwks(jwks)
    try:
        claims, kid = tokens.verify(
            token_from(text), keys.get, issuer or current_app.config["ISSUER"], int(time.time())
        )
    except tokens.TokenError as exc:
        _refuse(exc.reason, exc.detail)
    since = compromised_since(jwks).get(kid)
    if since:
        # Offline, a stolen key's signature cannot be told from the registry's own, whatever
        # issue time it claims: only the registry's records can (POST /api/v1/verify).
        _refuse(
            "key_compromised",
            f"The signing key was compromised on {since}; verify this label online.",
        )
    click.echo(
        json.dumps(
            {
                "verified": True,
                "kid": b64url(kid),
                "claims": {
                    "iss": claims.issuer,
                    "sub": claims.subject,
                    "iat": claims.issued_at,
                    "container": claims.container,
                },
            },
            indent=2,
        )
    )
