"""OIDC bearer tokens from a local identity provider on 127.0.0.1 that serves its JWKS."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from api import oidc
from crypto.keys import b64url
from tests.api.batch_helpers import Party, make_party

AUDIENCE = "chemtrace"


class IdentityProvider:
    """Mints tokens and serves the public keys; keys can be added (rotation) at any time."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.fetches += 1
                body = json.dumps(provider.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, kid: str, key) -> None:
        self.keys[kid] = key

    def jwks(self) -> dict:
        out = []
        for kid, key in self.keys.items():
            public = key.public_key()
            if isinstance(key, rsa.RSAPrivateKey):
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
            elif isinstance(key, ec.EllipticCurvePrivateKey):
                jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public))
            else:
                jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(public))
            out.append({**jwk, "kid": kid})
        return {"keys": out}

    def token(self, kid: str = "rsa-1", alg: str = "RS256", **claims) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": "user-42",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "chemtrace_role": "regulator",
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        return jwt.encode(payload, self.keys[kid], algorithm=alg, headers={"kid": kid})


@pytest.fixture
def provider(app):
    idp = IdentityProvider()
    idp.add_key("rsa-1", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    idp.add_key("ec-1", ec.generate_private_key(ec.SECP256R1()))
    idp.add_key("ed-1", ed25519.Ed25519PrivateKey.generate())
    app.extensions[oidc.EXTENSION] = oidc.parse_issuers(
        json.dumps(
            [
                {
                    "issuer": idp.issuer,
                    "audience": AUDIENCE,
                    "jwks_uri": f"{idp.issuer}/.well-known/jwks.json",
                    "role_claim": "chemtrace_role",
                    "organization_claim": "enterprise_code",
                }
            ]
        )
    )
    yield idp
    idp.server.shutdown()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("kid", "alg"), [("rsa-1", "RS256"), ("ec-1", "ES256"), ("ed-1", "EdDSA")])
def test_each_accepted_algorithm(client, provider, kid, alg):
    response = client.get("/api/v1/events", headers=bearer(provider.token(kid, alg)))
    assert response.status_code == 200, response.json


def test_each_role(app, client, auth, provider):
    party = make_party(app, auth, "Token Chemicals JSC", 0)
    from tests.conftest import ENTERPRISE_CODES

    enterprise = provider.token(chemtrace_role="enterprise", enterprise_code=ENTERPRISE_CODES[0])
    own = client.get(f"/api/v1/organizations/{party.id}", headers=bearer(enterprise))
    assert own.status_code == 200
    assert client.get("/api/v1/events", headers=bearer(enterprise)).status_code == 200
    inspector = provider.token(chemtrace_role="inspector")
    assert client.get("/api/v1/events", headers=bearer(inspector)).status_code == 403
    assert (
        client.get(f"/api/v1/organizations/{party.id}", headers=bearer(inspector)).status_code
        == 200
    )
    admin = provider.token(chemtrace_role="admin")
    assert client.get("/api/v1/api-keys", headers=bearer(admin)).status_code == 200


def admin_claims(provider) -> dict:
    """Claims a forger would want: valid in every way but the signature."""
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "aud": AUDIENCE,
        "sub": "x",
        "exp": now + 300,
        "chemtrace_role": "admin",
    }


def forged_hs256(provider) -> str:
    """HS256 signed with the RSA public key's PEM as the secret: the classic confusion."""
    pem = (
        provider.keys["rsa-1"]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    import hashlib
    import hmac

    header = b64url(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    claims = admin_claims(provider)
    body = b64url(json.dumps(claims).encode())
    signature = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(signature)}"


def unsigned(provider) -> str:
    return jwt.encode(
        admin_claims(provider),
        key=None,
        algorithm="none",
    )


def _unknown_kid(provider) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(
        admin_claims(provider),
        stranger,
        algorithm="RS256",
        headers={"kid": "stranger"},
    )


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda p: p.token(exp=int(time.time()) - 120), "token_expired"),
        (lambda p: p.token(nbf=int(time.time()) + 600), "token_not_yet_valid"),
        (lambda p: p.token(aud="someone-else"), "token_audience"),
        (lambda p: p.token(iss="https://evil.example"), "token_issuer"),
        (_unknown_kid, "token_key_unknown"),
        (unsigned, "token_algorithm"),
        (forged_hs256, "token_algorithm"),
        (lambda p: p.token(chemtrace_role="superuser"), "token_role"),
        (
            lambda p: p.token(chemtrace_role="enterprise", enterprise_code="0000000000"),
            "token_organization",
        ),
        (lambda p: "abc.def.ghi", "token_malformed"),
    ],
)
def test_bad_tokens_are_refused_with_a_clear_code(client, provider, make, code):
    response = client.get("/api/v1/events", headers=bearer(make(provider)))
    assert response.status_code == 401
    assert response.json["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_token_is_refused(client, provider):
    token = provider.token()
    header, body, signature = token.split(".")
    claims = json.loads(jwt.utils.base64url_decode(body))
    claims["chemtrace_role"] = "admin"
    forged_body = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    response = client.get("/api/v1/api-keys", headers=bearer(f"{header}.{forged_body}.{signature}"))
    assert response.status_code == 401
    assert response.json["code"] == "token_invalid"


def test_keys_are_cached_and_refetched_on_a_new_kid_with_a_cooldown(client, provider, monkeypatch):
    assert client.get("/api/v1/events", headers=bearer(provider.token())).status_code == 200
    assert client.get("/api/v1/events", headers=bearer(provider.token())).status_code == 200
    assert provider.fetches == 1
    # The provider rotates: a new key appears, and a token names it.
    provider.add_key("rsa-2", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    monkeypatch.setattr(oidc, "REFETCH_COOLDOWN_SECONDS", 0)
    assert client.get("/api/v1/events", headers=bearer(provider.token("rsa-2"))).status_code == 200
    assert provider.fetches == 2
    # Unknown kids within the cooldown do not reach the provider again.
    monkeypatch.setattr(oidc, "REFETCH_COOLDOWN_SECONDS", 3600)
    for _ in range(5):
        response = client.get("/api/v1/events", headers=bearer(_unknown_kid(provider)))
        assert response.json["code"] == "token_key_unknown"
    assert provider.fetches == 2


PERSONAL_ID = "001099012345"  # a 12-digit citizen identity number, as VNeID carries


@pytest.fixture
def provider_with_person(app, provider):
    app.extensions[oidc.EXTENSION][provider.issuer].subject_id_claim = "personal_id"
    return provider


def test_a_personal_identity_number_is_kept_only_as_a_keyed_hash(
    app, client, auth, provider_with_person, logs
):
    import sqlalchemy as sa

    from registry.db import db
    from tests.api.batch_helpers import register
    from tests.conftest import ENTERPRISE_CODES

    party = make_party(app, auth, "Person Chemicals JSC", 0)
    person = provider_with_person.token(
        chemtrace_role="enterprise", enterprise_code=ENTERPRISE_CODES[0], personal_id=PERSONAL_ID
    )
    batch = register(client, Party(party.id, party.facility_id, bearer(person)))
    inspector = provider_with_person.token(chemtrace_role="inspector", personal_id=PERSONAL_ID)
    assert (
        client.get(f"/api/v1/batches/{batch['id']}", headers=bearer(inspector)).status_code == 200
    )

    log = client.get("/api/v1/access-log", headers=auth("regulator")).json["items"]
    hashes = {r["person_hash"] for r in log}
    (person_hash,) = hashes
    assert len(person_hash) == 64 and PERSONAL_ID not in person_hash
    with app.app_context():
        assert person_hash == oidc.person_hash(PERSONAL_ID)
    # The number is nowhere: not in any table, not in the logs.
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)):
                assert PERSONAL_ID not in repr(tuple(row)), table.name
    logged = logs()
    assert "chemtrace.access" in logged, "the logs were not captured"
    assert PERSONAL_ID not in logged

    # Public verification shows the holding organisation, never a person.
    answer = client.post("/api/v1/verify", json={"token": batch["identifier"]["token"]}).json
    text = json.dumps(answer)
    assert answer["verified"] is True
    assert PERSONAL_ID not in text and person_hash not in text
    assert set(answer["batch"]["holder"]) == {"name", "enterprise_code"}


def test_an_enterprise_sees_nothing_private_of_another(app, client, auth, provider):
    from tests.api.batch_helpers import register
    from tests.conftest import ENTERPRISE_CODES

    first = make_party(app, auth, "First Chemicals JSC", 0)
    make_party(app, auth, "Second Chemicals JSC", 1)
    batch = register(client, first)
    second = bearer(
        provider.token(chemtrace_role="enterprise", enterprise_code=ENTERPRISE_CODES[1])
    )
    assert client.get(f"/api/v1/batches/{batch['id']}", headers=second).status_code == 404
    assert client.get(f"/api/v1/batches/{batch['id']}/history", headers=second).status_code == 404
    assert client.get(f"/api/v1/organizations/{first.id}", headers=second).status_code == 404
    events = client.get(f"/api/v1/events?organization_id={first.id}", headers=second).json
    assert events["items"] == []
    assert client.get("/api/v1/access-log", headers=second).status_code == 403


@pytest.mark.parametrize(
    "config",
    [
        '{"issuer": "x"}',
        '[{"issuer": "https://a", "audience": "c"}]',
        '[{"issuer": "https://a", "audience": "c", "jwks_uri": "file:///etc/passwd"}]',
        '[{"issuer": "https://a", "audience": "c", "jwks_uri": "https://a/j", "jwks_file": "j"}]',
        '[{"audience": "c", "jwks_file": "j"}]',
    ],
)
def test_a_bad_issuer_configuration_stops_the_start(config):
    with pytest.raises(ValueError):
        oidc.parse_issuers(config)
