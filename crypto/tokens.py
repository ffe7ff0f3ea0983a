"""Label tokens: COSE_Sign1 (RFC 9052) over a CWT claims map (RFC 8392), Ed25519-signed,
written as unpadded upper-case base32 so a QR code can carry them in alphanumeric mode.

Written by hand on cbor2 rather than with a COSE library: the format is fixed to the
byte by the contract and every malformation must be told apart with its own reason,
which general-purpose COSE libraries do not report. An independent COSE library checks
these tokens in the test suite.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

COSE_SIGN1_TAG = 18
ALG, KID = 1, 4
EDDSA, ED25519 = -8, -19
ISS, SUB, IAT = 1, 2, 6
CONTAINER = -65537
MAX_TOKEN_LENGTH = 1000
MAX_CLOCK_SKEW = 300


@dataclass(frozen=True)
class Claims:
    issuer: str
    subject: str
    issued_at: int
    container: str | None = None


class TokenError(Exception):
    """Why a token is not genuine; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _cbor(value: object) -> bytes:
    return cbor2.dumps(value, canonical=True)


def sign(claims: Claims, private_key: Ed25519PrivateKey, kid: bytes) -> str:
    protected = _cbor({ALG: EDDSA, KID: kid})
    payload_map: dict[int, object] = {
        ISS: claims.issuer,
        SUB: claims.subject,
        IAT: claims.issued_at,
    }
    if claims.container is not None:
        payload_map[CONTAINER] = claims.container
    payload = _cbor(payload_map)
    signature = private_key.sign(_sig_structure(protected, payload))
    message = _cbor(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return base64.b32encode(message).decode("ascii").rstrip("=")


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return _cbor(["Signature1", protected, b"", payload])


def decode_base32(token: str) -> bytes:
    text = token.strip().upper()
    if not text:
        raise TokenError("empty", "The token is empty.")
    if len(text) > MAX_TOKEN_LENGTH:
        raise TokenError("too_long", f"The token is longer than {MAX_TOKEN_LENGTH} characters.")
    try:
        return base64.b32decode(text + "=" * (-len(text) % 8))
    except (binascii.Error, ValueError):
        raise TokenError("bad_base32", "The token is not base32.") from None


def verify(
    token: str,
    public_key_for: Callable[[bytes], Ed25519PublicKey | None],
    issuer: str,
    now: int,
) -> tuple[Claims, bytes]:
    """The claims and kid of a genuine token, or ``TokenError`` saying what is wrong."""
    raw = decode_base32(token)
    stream = io.BytesIO(raw)
    try:
        message = cbor2.CBORDecoder(stream).decode()
    except Exception:  # cbor2 raises several types for garbage; all mean the same here
        raise TokenError("not_cbor", "The token is not CBOR.") from None
    if stream.tell() != len(raw):
        raise TokenError("trailing_bytes", "The token has bytes after the COSE message.")
    if not isinstance(message, cbor2.CBORTag) or message.tag != COSE_SIGN1_TAG:
        raise TokenError("wrong_tag", "The token is not a tagged COSE_Sign1 message (tag 18).")
    parts = message.value
    if not isinstance(parts, (list, tuple)) or len(parts) != 4:
        raise TokenError("wrong_structure", "A COSE_Sign1 message is an array of four items.")
    protected_bytes, unprotected, payload, signature = parts
    if not isinstance(protected_bytes, bytes) or not isinstance(unprotected, Mapping):
        raise TokenError("wrong_structure", "The COSE headers are malformed.")
    if not isinstance(payload, bytes) or not isinstance(signature, bytes):
        raise TokenError("wrong_structure", "The payload and signature must be byte strings.")
    if ALG in unprotected or KID in unprotected:
        raise TokenError("unprotected_header", "alg and kid must be in the protected header.")
    protected = _decode_map(protected_bytes, "protected header")
    if protected.get(ALG) not in (EDDSA, ED25519):
        raise TokenError("unsupported_alg", "The token is not signed with EdDSA (Ed25519).")
    kid = protected.get(KID)
    if not isinstance(kid, bytes) or len(kid) != 8:
        raise TokenError("bad_kid", "The kid is missing or not 8 bytes.")
    public_key = public_key_for(kid)
    if public_key is None:
        raise TokenError("unknown_kid", "No published key has this kid.")
    if len(signature) != 64:
        raise TokenError("bad_signature_length", "An Ed25519 signature is 64 bytes.")
    try:
        public_key.verify(signature, _sig_structure(protected_bytes, payload))
    except InvalidSignature:
        raise TokenError("bad_signature", "The signature does not match.") from None
    claims = _claims(_decode_map(payload, "payload"))
    if claims.issuer != issuer:
        raise TokenError("wrong_issuer", f"The token was issued by {claims.issuer!r}.")
    if claims.issued_at > now + MAX_CLOCK_SKEW:
        raise TokenError("issued_in_future", "The token claims to be issued in the future.")
    return claims, kid


def _decode_map(data: bytes, what: str) -> dict[object, object]:
    try:
        value = cbor2.loads(data)
    except Exception:
        raise TokenError("not_cbor", f"The {what} is not CBOR.") from None
    if not isinstance(value, Mapping):
        raise TokenError("wrong_structure", f"The {what} is not a map.")
    return dict(value)


def _claims(payload: dict[object, object]) -> Claims:
    issuer, subject, issued_at = payload.get(ISS), payload.get(SUB), payload.get(IAT)
    container = payload.get(CONTAINER)
    if not isinstance(issuer, str) or not isinstance(subject, str):
        raise TokenError("bad_claims", "iss and sub must be text.")
    if not isinstance(issued_at, int) or isinstance(issued_at, bool) or issued_at < 0:
        raise TokenError("bad_claims", "iat must be a whole number of seconds.")
    if container is not None and not isinstance(container, str):
        raise TokenError("bad_claims", "The container serial must be text.")
    return Claims(issuer, subject, issued_at, container)
