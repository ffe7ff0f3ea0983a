"""Tokens verify with an independent COSE implementation (python-cwt), not only our own."""

from __future__ import annotations

import base64
import time

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cwt import COSE, COSEKey, VerifyError

from crypto import tokens
from crypto.keys import kid_of, raw_public
from crypto.tokens import Claims

# COSE key parameters (RFC 9052/9053): kty OKP, crv Ed25519, x, kid, alg EdDSA
OKP, ED25519_CURVE, EDDSA = 1, 6, -8


def cose_key(private: Ed25519PrivateKey):
    public = private.public_key()
    return COSEKey.new(
        {1: OKP, -1: ED25519_CURVE, -2: raw_public(public), 2: kid_of(public), 3: EDDSA}
    )


def raw(token: str) -> bytes:
    return base64.b32decode(token + "=" * (-len(token) % 8))


def test_python_cwt_verifies_our_tokens():
    key = Ed25519PrivateKey.generate()
    token = tokens.sign(
        Claims("chemtrace", "B1", int(time.time()), "0007"), key, kid_of(key.public_key())
    )
    payload = COSE.new().decode(raw(token), cose_key(key))
    assert cbor2.loads(payload) == {
        1: "chemtrace",
        2: "B1",
        6: pytest.approx(time.time(), abs=5),
        -65537: "0007",
    }


def test_python_cwt_refuses_a_tampered_token():
    key = Ed25519PrivateKey.generate()
    message = bytearray(
        raw(tokens.sign(Claims("chemtrace", "B1", 1), key, kid_of(key.public_key())))
    )
    message[-1] ^= 1
    with pytest.raises(VerifyError):
        COSE.new().decode(bytes(message), cose_key(key))
