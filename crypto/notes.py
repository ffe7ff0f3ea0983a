"""C2SP signed notes (c2sp.org/signed-note) with Ed25519, and tlog checkpoints in them
(c2sp.org/tlog-checkpoint).

Written by hand: the formats are a few lines of text and no maintained Python library
implements them (the reference is Go's golang.org/x/mod/sumdb/note). What matters is byte
exactness, so the tests pin a known-answer note and check every rule the specs state.

A note is text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``. For Ed25519 the key ID is
``SHA-256(key name || 0x0A || 0x01 || public key)[:4]`` and the signature covers the text.
A verifier key is ``<name>+<key ID in hex>+base64(0x01 || public key)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 16


class NoteError(Exception):
    """A note or checkpoint that must not be trusted; ``reason`` is a stable code.

    Reasons: ``malformed_note``, ``malformed_key``, ``no_known_signature``,
    ``bad_signature``, ``malformed_checkpoint``.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def check_key_name(name: str) -> None:
    """Key names (and checkpoint origins) are non-empty, with no space and no '+'."""
    if not name or any(c.isspace() or c == "+" for c in name):
        raise NoteError("malformed_key", f"key name {name!r} is empty or has a space or '+'")


def key_id(name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID of an Ed25519 note key."""
    check_key_name(name)
    return hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + _raw(public_key)).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    def text(self) -> str:
        """The verifier key string, as published and as pinned by auditors."""
        encoded = base64.b64encode(bytes([ED25519]) + _raw(self.public_key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def verifier(name: str, public_key: Ed25519PublicKey) -> Verifier:
    return Verifier(name, key_id(name, public_key), public_key)


def parse_verifier_key(text: str) -> Verifier:
    """Read ``<name>+<hex key ID>+<base64(0x01 || key)>``; the key ID must match the key."""
    parts = text.strip().split("+", 2)  # the base64 key itself may hold a "+"
    if len(parts) != 3:
        raise NoteError("malformed_key", "a verifier key is name+keyid+key")
    name, hex_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        claimed_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as error:
        raise NoteError("malformed_key", f"verifier key is not hex and base64: {error}") from None
    if len(hex_id) != 8 or len(raw) != 33 or raw[0] != ED25519:
        raise NoteError("malformed_key", "not an Ed25519 verifier key")
    public_key = Ed25519PublicKey.from_public_bytes(raw[1:])
    result = verifier(name, public_key)
    if result.key_id != claimed_id:
        raise NoteError("malformed_key", "the key ID does not match the key")
    return result


def sign(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: ``text`` (which must end in a newline), a blank line, one signature."""
    _check_text(text)
    ident = key_id(name, private_key.public_key())
    signature = private_key.sign(text.encode())
    return f"{text}\n{SIGNATURE_PREFIX}{name} {base64.b64encode(ident + signature).decode()}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("malformed_note", "note text must end in a newline")
    if any(ord(c) < 0x20 and c != "\n" for c in text):
        raise NoteError("malformed_note", "note text has a control character")


def open_note(note: str, verifiers: list[Verifier]) -> tuple[str, list[Verifier]]:
    """Check ``note``: returns its text and the known keys that signed it.

    Unknown signatures are ignored, as the spec requires; a known key whose signature does
    not verify rejects the whole note, and so does a note with no known signature.
    """
    if not note.endswith("\n"):
        raise NoteError("malformed_note", "a signed note ends in a newline")
    _check_text(note)
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("malformed_note", "no blank line before the signatures")
    text, signature_block = note[: split + 1], note[split + 2 :]
    lines = signature_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("malformed_note", f"more than {MAX_SIGNATURES} signatures")
    known = {(v.name, v.key_id): v for v in verifiers}
    signed_by: list[Verifier] = []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise NoteError("malformed_note", "a signature line starts with an em dash")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        try:
            blob = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise NoteError("malformed_note", "a signature is not base64") from None
        if not name or len(blob) < 5:
            raise NoteError("malformed_note", "a signature line is too short")
        key = known.get((name, blob[:4]))
        if key is None:
            continue
        try:
            key.public_key.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise NoteError("bad_signature", f"the signature by {name} does not verify") from None
        signed_by.append(key)
    if not signed_by:
        raise NoteError("no_known_signature", "no signature by a known key")
    return text, signed_by


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def text(self) -> str:
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.tree_size}\n{root}\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The origin, size and root of a checkpoint's note text (extension lines allowed)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
        raise NoteError("malformed_checkpoint", "a checkpoint is three or more non-empty lines")
    origin, size, root = lines[0], lines[1], lines[2]
    if not size.isdigit() or (size != "0" and size.startswith("0")) or not size.isascii():
        raise NoteError("malformed_checkpoint", "the tree size is not a decimal number")
    try:
        root_hash = base64.b64decode(root, validate=True)
    except binascii.Error:
        raise NoteError("malformed_checkpoint", "the root hash is not base64") from None
    if len(root_hash) != 32:
        raise NoteError("malformed_checkpoint", "the root hash is not 32 bytes")
    return Checkpoint(origin, int(size), root_hash)


def open_checkpoint(note: str, verifiers: list[Verifier], origin: str) -> Checkpoint:
    """A checkpoint signed by a known key and issued by the log called ``origin``."""
    text, _ = open_note(note, verifiers)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != origin:
        raise NoteError("malformed_checkpoint", f"origin {checkpoint.origin!r} is not {origin!r}")
    return checkpoint
