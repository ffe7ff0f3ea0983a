"""Ed25519 signing keys kept as PEM files readable only by their owner."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

KEY_FILE_SUFFIX = ".pem"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw)}


def kid_of(public_key: Ed25519PublicKey) -> bytes:
    """The first 8 bytes of the RFC 7638 SHA-256 thumbprint of the key's JWK."""
    canonical = json.dumps(public_jwk(public_key), separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).digest()[:8]


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def write_private_key(directory: Path, key: Ed25519PrivateKey) -> Path:
    """Write ``key`` as ``<kid hex>.pem`` with mode 0600, created so no one else can read it."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{kid_of(key.public_key()).hex()}{KEY_FILE_SUFFIX}"
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return path


def ensure_signing_key(directory: Path) -> bytes:
    """The kid of a key in ``directory``, creating the directory and a first key if needed."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    existing = sorted(directory.glob(f"*{KEY_FILE_SUFFIX}"))
    if existing:
        return kid_of(load_private_key(existing[0]).public_key())
    key = Ed25519PrivateKey.generate()
    write_private_key(directory, key)
    return kid_of(key.public_key())
