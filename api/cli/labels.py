"""``chemtrace label``: verify a printed label offline, from a token, URL or image."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext

from api.cli.keys import key_store
from crypto import tokens
from crypto.keys import b64url, compromised_since, public_keys_from_jwks
from registry.labels.verification import token_from


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
    jwks = json.loads(jwks_file.read_text()) if jwks_file is not None else key_store().jwks()
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
