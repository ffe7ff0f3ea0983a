"""Issuing and checking the registry's signed identifiers.

The app binds one ``Signer`` (its key store, issuer and public URL) with ``init_app``;
the domain reaches it through the current app, like the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Flask, current_app

from crypto import tokens
from crypto.keys import KeyStore, SigningKey, b64url
from crypto.tokens import Claims

EXTENSION = "chemtrace_signer"


@dataclass
class Signer:
    keys: KeyStore
    issuer: str
    public_url: str

    def sign(self, subject: str, container: str | None = None) -> tuple[str, SigningKey]:
        key = self.keys.current()
        claims = Claims(self.issuer, subject, int(time.time()), container)
        return tokens.sign(claims, key.private_key, key.kid), key

    def url(self, token: str) -> str:
        return f"{self.public_url}/v/{token}"

    def public_key(self, kid: bytes) -> Ed25519PublicKey | None:
        key = self.keys.by_kid().get(kid)
        return key.public_key if key else None

    def verify(self, token: str) -> tuple[Claims, bytes]:
        return tokens.verify(token, self.public_key, self.issuer, int(time.time()))


def init_app(app: Flask, keys_dir: Path) -> None:
    app.extensions[EXTENSION] = Signer(
        KeyStore(keys_dir), app.config["ISSUER"], app.config["PUBLIC_URL"]
    )


def signer() -> Signer:
    return current_app.extensions[EXTENSION]


def kid_text(kid: bytes) -> str:
    return b64url(kid)
