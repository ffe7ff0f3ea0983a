"""Label tokens: the format to the byte, and every way a token can be bad."""

from __future__ import annotations

import base64
import time

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto import tokens
from crypto.keys import KeyStore, kid_of
from crypto.tokens import Claims, TokenError

NOW = int(time.time())


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def lookup_for(key):
    kid = kid_of(key.public_key())
    return lambda asked: key.public_key() if asked == kid else None


def make(key, claims=None, **overrides) -> str:
    claims = claims or Claims("chemtrace", "01M83VQ5ZFC6NEE5SY9W47VDV5", NOW, "0001")
    return tokens.sign(claims, key, kid_of(key.public_key()))


def raw(token: str) -> bytes:
    return base64.b32decode(token + "=" * (-len(token) % 8))


def b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=")


def reason(token: str, key, issuer: str = "chemtrace") -> str:
    with pytest.raises(TokenError) as raised:
        tokens.verify(token, lookup_for(key), issuer, NOW)
    return raised.value.reason


def reassemble(key, protected=None, unprotected=None, payload=None, signature=None, sign=True):
    kid = kid_of(key.public_key())
    protected = protected if protected is not None else cbor2.dumps({1: -8, 4: kid})
    payload = payload if payload is not None else cbor2.dumps({1: "chemtrace", 2: "B1", 6: NOW})
    if signature is None and sign:
        signature = key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))
    return b32(cbor2.dumps(cbor2.CBORTag(18, [protected, unprotected or {}, payload, signature])))


def test_token_layout_is_the_contracts(key):
    token = make(key)
    assert token == token.upper() and "=" not in token
    message = cbor2.loads(raw(token))
    assert message.tag == 18
    protected, unprotected, payload, signature = message.value
    assert cbor2.loads(protected) == {1: -8, 4: kid_of(key.public_key())}
    assert dict(unprotected) == {}
    assert cbor2.loads(payload) == {
        1: "chemtrace",
        2: "01M83VQ5ZFC6NEE5SY9W47VDV5",
        6: NOW,
        -65537: "0001",
    }
    assert len(signature) == 64


def test_genuine_token_verifies_in_either_case(key):
    token = make(key)
    for text in (token, token.lower()):
        claims, kid = tokens.verify(text, lookup_for(key), "chemtrace", NOW)
        assert claims.subject == "01M83VQ5ZFC6NEE5SY9W47VDV5" and claims.container == "0001"
        assert kid == kid_of(key.public_key())


def test_ed25519_algorithm_id_is_accepted_too(key):
    kid = kid_of(key.public_key())
    token = reassemble(key, protected=cbor2.dumps({1: -19, 4: kid}))
    assert tokens.verify(token, lookup_for(key), "chemtrace", NOW)[0].subject == "B1"


def test_each_bad_token_has_its_own_reason(key):
    good = make(key)
    kid = kid_of(key.public_key())
    other = Ed25519PrivateKey.generate()
    cases = {
        "": "empty",
        "A" * 1001: "too_long",
        "NOT-BASE32!": "bad_base32",
        b32(b"\x84\x01"): "not_cbor",  # an array of four that ends after one
        b32(raw(good) + b"\x00"): "trailing_bytes",
        b32(cbor2.dumps(cbor2.CBORTag(17, cbor2.loads(raw(good)).value))): "wrong_tag",
        b32(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b""]))): "wrong_structure",
        reassemble(key, unprotected={1: -8}): "unprotected_header",
        reassemble(key, protected=cbor2.dumps({1: -7, 4: kid})): "unsupported_alg",
        reassemble(key, protected=cbor2.dumps({1: -8})): "bad_kid",
        reassemble(key, protected=cbor2.dumps({1: -8, 4: kid[:7]})): "bad_kid",
        make(other): "unknown_kid",
        reassemble(key, signature=b"\x00" * 63): "bad_signature_length",
        reassemble(key, payload=cbor2.dumps({1: "chemtrace", 2: 5, 6: NOW})): "bad_claims",
        reassemble(key, payload=cbor2.dumps({1: "chemtrace", 2: "B1"})): "bad_claims",
        reassemble(key, payload=cbor2.dumps({1: "someone-else", 2: "B1", 6: NOW})): (
            "wrong_issuer"
        ),
        reassemble(key, payload=cbor2.dumps({1: "chemtrace", 2: "B1", 6: NOW + 3600})): (
            "issued_in_future"
        ),
    }
    for token, expected in cases.items():
        assert reason(token, key) == expected, (token[:40], expected)


def test_any_flipped_bit_is_refused(key):
    message = bytearray(raw(make(key)))
    for position in range(len(message) * 8):
        flipped = bytearray(message)
        flipped[position // 8] ^= 1 << (position % 8)
        with pytest.raises(TokenError):
            tokens.verify(b32(bytes(flipped)), lookup_for(key), "chemtrace", NOW)


def test_key_store_rotation_keeps_old_keys_verifying(tmp_path):
    store = KeyStore(tmp_path / "keys")
    first = store.ensure()
    states = {k.kid: k.state for k in store.all_keys()}
    assert sorted(states.values()) == ["current", "next"]
    upcoming = next(k for k in store.all_keys() if k.state == "next")
    token = tokens.sign(Claims("chemtrace", "B1", NOW), first.private_key, first.kid)
    rotated = store.rotate()
    assert rotated.kid == upcoming.kid
    by_kid = store.by_kid()
    assert by_kid[first.kid].state == "retired"
    _claims, kid = tokens.verify(
        token, lambda k: by_kid[k].public_key if k in by_kid else None, "chemtrace", NOW
    )
    assert kid == first.kid
    assert all(p.stat().st_mode & 0o077 == 0 for p in (tmp_path / "keys").glob("*.pem"))
    assert {jwk["status"] for jwk in store.jwks()["keys"]} == {"current", "next", "retired"}
