"""``chemtrace keys`` and ``chemtrace label``: signing keys and offline label checks."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from crypto import tokens
from crypto.keys import KeyStore, b64url, public_keys_from_jwks
from registry.verification import token_from


@click.group("keys")
def keys_group() -> None:
    """Signing keys: list them, rotate them."""


def _store() -> KeyStore:
    return KeyStore(current_app.config["KEYS_DIR"])


@keys_group.command("list")
@with_appcontext
def keys_list() -> None:
    """Every key with its kid and state (next, current, retired)."""
    for key in _store().all_keys():
        click.echo(f"{b64url(key.kid)}  {key.kid.hex()}  {key.state:<8} {key.created_at}")


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """Make the next key current, retire the current one, create a new next key."""
    store = _store()
    current = store.rotate()
    click.echo(f"current key is now {b64url(current.kid)}")
    for key in store.all_keys():
        click.echo(f"{b64url(key.kid)}  {key.state}")


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
    if jwks_file is not None:
        keys = public_keys_from_jwks(json.loads(jwks_file.read_text()))
    else:
        keys = {key.kid: key.public_key for key in _store().all_keys()}
    try:
        claims, kid = tokens.verify(
            token_from(text), keys.get, issuer or current_app.config["ISSUER"], int(time.time())
        )
    except tokens.TokenError as exc:
        click.echo(
            json.dumps({"verified": False, "failure_reason": exc.reason, "detail": exc.detail})
        )
        raise SystemExit(1) from None
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
