"""Secrets the registry must read back (webhook signing secrets), encrypted at rest.

AES-256-GCM under a key kept in a file beside the signing keys (0600), never in the
database: a copy of the database alone reveals no secret. The row's id is the associated
data, so a ciphertext moved to another row does not decrypt.
"""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unseal(key: bytes, sealed: bytes, context: bytes) -> bytes:
    """The plaintext; ``cryptography.exceptions.InvalidTag`` if the key, row or bytes differ."""
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)


@cache
def key_in(location: str) -> bytes:
    """The 256-bit key in ``location``, created on first use (read once per process)."""
    path = Path(location)
    if not path.exists():
        # Written whole under another name, then linked into place: a racing process either
        # wins (and we read its key) or loses, never reads half a key.
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(AESGCM.generate_key(bit_length=256))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_bytes()
