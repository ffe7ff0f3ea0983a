"""Ed25519 signing keys with a lifecycle: next, current, retired, and compromised.

Keys live as PEM files (mode 0600) in one directory, with ``keys.json`` recording each
key's state. Several servers share keys by sharing the directory. The next key is
published before it signs anything; a retired key keeps verifying what it signed. A key
marked compromised from a moment on never signs again, and stays published with that
moment, so that verifiers can refuse what someone else may have signed with it since.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

STATE_FILE = "keys.json"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def kid_of(public_key: Ed25519PublicKey) -> bytes:
    """The first 8 bytes of the RFC 7638 SHA-256 thumbprint of the key's JWK."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw_public(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).digest()[:8]


@dataclass(frozen=True)
class SigningKey:
    kid: bytes
    state: str
    private_key: Ed25519PrivateKey
    created_at: str
    compromised_since: datetime | None = None

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        # Once per key and process: every verification checks a signature with it.
        return self.private_key.public_key()

    def jwk(self) -> dict[str, str]:
        jwk = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url(raw_public(self.public_key)),
            "kid": b64url(self.kid),
            "alg": "EdDSA",
            "use": "sig",
            "status": self.state,
        }
        if self.compromised_since is not None:
            jwk["compromised_since"] = self.compromised_since.isoformat().replace("+00:00", "Z")
        return jwk


class KeyStore:
    """The signing keys in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        # Every sign and verify needs the keys; parsing PEM files each time is wasted work.
        # keys.json is replaced (a new inode) on every change, so its stat says when to reload.
        # The keys by kid are kept with them: a verification looks its key up twice.
        self._state_path = self.directory / STATE_FILE
        self._cached: (
            tuple[tuple[int, int, int], list[SigningKey], dict[bytes, SigningKey]] | None
        ) = None
        self._jwks_json: tuple[list[SigningKey], str] | None = None  # for those keys

    # -- reading ---------------------------------------------------------------------

    def _loaded(self) -> tuple[list[SigningKey], dict[bytes, SigningKey]]:
        try:
            status = os.stat(self._state_path)
        except FileNotFoundError:
            return [], {}
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if self._cached is None or self._cached[0] != stamp:
            keys = self._read_keys(json.loads(self._state_path.read_text()))
            self._cached = (stamp, keys, {key.kid: key for key in keys})
        return self._cached[1], self._cached[2]

    def all_keys(self) -> list[SigningKey]:
        return list(self._loaded()[0])

    def _read_keys(self, states: dict[str, dict[str, str]]) -> list[SigningKey]:
        found = []
        for kid_hex, entry in states.items():
            private_key = _load(self.directory / f"{kid_hex}.pem")
            since = entry.get("compromised_since")
            found.append(
                SigningKey(
                    bytes.fromhex(kid_hex),
                    entry["state"],
                    private_key,
                    entry["created_at"],
                    datetime.fromisoformat(since) if since else None,
                )
            )
        order = {state: i for i, state in enumerate(("current", "next", "retired", "compromised"))}
        return sorted(found, key=lambda k: (order[k.state], k.created_at))

    def current(self) -> SigningKey:
        for key in self.all_keys():
            if key.state == "current":
                return key
        raise LookupError(f"no current signing key in {self.directory}")

    def by_kid(self) -> dict[bytes, SigningKey]:
        return dict(self._loaded()[1])

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.jwk() for key in self.all_keys()]}

    def jwks_json(self) -> str:
        """``jwks()`` as JSON with sorted keys, built once per change of the keys (it is
        served on every request for the JWK set)."""
        keys = self._loaded()[0]
        cached = self._jwks_json
        if cached is None or cached[0] is not keys:
            body = json.dumps({"keys": [key.jwk() for key in keys]}, sort_keys=True)
            cached = self._jwks_json = (keys, body)
        return cached[1]

    # -- changing --------------------------------------------------------------------

    def ensure(self) -> SigningKey:
        """A current key and a next key exist; returns the current one."""
        states = self._states()
        if not any(e["state"] == "current" for e in states.values()):
            states[self._create()] = _entry("current")
        if not any(e["state"] == "next" for e in states.values()):
            states[self._create()] = _entry("next")
        self._save(states)
        return self.current()

    def rotate(self) -> SigningKey:
        """The next key becomes current, the current one retired, and a new next key is made."""
        self.ensure()
        states = self._states()
        for entry in states.values():
            if entry["state"] == "current":
                entry["state"] = "retired"
        for entry in states.values():
            if entry["state"] == "next":
                entry["state"] = "current"
                break
        states[self._create()] = _entry("next")
        self._save(states)
        return self.current()

    def mark_compromised(self, kid: bytes, since: datetime) -> SigningKey:
        """``kid`` is compromised from ``since`` on: it never signs again (if it was the
        current key, the next one takes over at once) and it stays published, so that
        verifiers can refuse what was signed with it since. Returns the current key."""
        if since.tzinfo is None:
            raise ValueError("the compromise moment needs a time zone")
        states = self._states()
        entry = states.get(kid.hex())
        if entry is None:
            raise LookupError(f"no key {b64url(kid)} in {self.directory}")
        if entry["state"] == "current":
            self.rotate()
            states = self._states()
            entry = states[kid.hex()]
        elif entry["state"] == "next":
            states[self._create()] = _entry("next")
        earlier = entry.get("compromised_since")
        if earlier and datetime.fromisoformat(earlier) <= since:
            since = datetime.fromisoformat(earlier)  # a later report never narrows the window
        entry["state"] = "compromised"
        entry["compromised_since"] = since.astimezone(UTC).isoformat(timespec="seconds")
        self._save(states)
        return self.current()

    def _create(self) -> str:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        kid_hex = kid_of(key.public_key()).hex()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(self.directory / f"{kid_hex}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return kid_hex

    def _states(self) -> dict[str, dict[str, str]]:
        path = self.directory / STATE_FILE
        if not path.exists():
            return {}
        return json.loads(path.read_text())

    def _save(self, states: dict[str, dict[str, str]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.directory / f".{STATE_FILE}.{os.getpid()}"
        temporary.write_text(json.dumps(states, indent=2, sort_keys=True))
        temporary.chmod(0o600)
        temporary.replace(self.directory / STATE_FILE)  # atomic: readers never see half a file


def _entry(state: str) -> dict[str, str]:
    return {"state": state, "created_at": datetime.now(UTC).isoformat(timespec="seconds")}


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_keys_from_jwks(jwks: dict) -> dict[bytes, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK set, by kid; other kinds of key are skipped."""
    found = {}
    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "kid" in jwk:
            public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
            found[b64url_decode(jwk["kid"])] = public
    return found


def compromised_since(jwks: dict) -> dict[bytes, str]:
    """The keys of a JWK set marked compromised, by kid, with the moment they were."""
    return {
        b64url_decode(jwk["kid"]): jwk["compromised_since"]
        for jwk in jwks.get("keys", [])
        if jwk.get("status") == "compromised" and "kid" in jwk and "compromised_since" in jwk
    }
