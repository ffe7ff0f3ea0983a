"""Bearer JWTs from trusted OpenID Connect issuers (CHEMTRACE_OIDC_ISSUERS), with PyJWT.

Each trusted issuer names its audience, where its keys are (a JWKS URL or file), and which
claims carry the role, the organisation's enterprise code and a personal identity number.
A token is accepted only when its issuer is trusted, its signature verifies with a key of
that issuer's JWKS under an asymmetric algorithm (RS256, ES256, EdDSA; never none or HMAC),
and iss, aud, exp and nbf hold within a small clock skew.

Keys are cached per issuer. A token naming an unknown kid makes the cache refetch the JWKS,
at most once per cooldown, so a rotation is picked up at once and a flood of forged kids
cannot make us hammer the identity provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from flask import Flask, current_app

from crypto import secretbox
from registry.access.credentials import Principal
from registry.catalogue.organizations import organization_by_code
from registry.errors import Unauthenticated, message
from registry.models import ROLES

ALGORITHMS = ("RS256", "ES256", "EdDSA")
LEEWAY_SECONDS = 30
REFETCH_COOLDOWN_SECONDS = 30
EXTENSION = "chemtrace_oidc"
PERSON_KEY_FILE = "personal-id.key"


class TokenRefused(Unauthenticated):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass
class Issuer:
    issuer: str
    audience: str
    jwks_uri: str | None = None
    jwks_file: str | None = None
    role_claim: str = "chemtrace_role"
    organization_claim: str = "enterprise_code"
    subject_id_claim: str | None = None
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict, repr=False)
    _fetched_at: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def key(self, kid: str | None) -> jwt.PyJWK:
        with self._lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at > (
                REFETCH_COOLDOWN_SECONDS if self._fetched_at else 0
            ):
                self._refresh()
            found = self._keys.get(kid) if kid else None
            if found is None and kid is None and len(self._keys) == 1:
                found = next(iter(self._keys.values()))
        if found is None:
            raise TokenRefused(
                "token_key_unknown",
                message("No key {kid} in {issuer}'s JWKS.", kid=repr(kid), issuer=self.issuer),
            )
        return found

    def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            if self.jwks_file:
                document = json.loads(Path(self.jwks_file).read_text())
            else:
                with urllib.request.urlopen(self.jwks_uri, timeout=5) as response:  # noqa: S310
                    document = json.loads(response.read())
            keys = jwt.PyJWKSet.from_dict(document).keys
        except (OSError, ValueError, jwt.PyJWTError) as error:
            raise TokenRefused(
                "token_keys_unavailable",
                message(
                    "The keys of {issuer} cannot be read: {error}", issuer=self.issuer, error=error
                ),
            ) from None
        self._keys = {k.key_id: k for k in keys if k.key_id}


def parse_issuers(text: str) -> dict[str, Issuer]:
    """CHEMTRACE_OIDC_ISSUERS: a JSON list of issuers (see the contract)."""
    entries = json.loads(text or "[]")
    if not isinstance(entries, list):
        raise ValueError("CHEMTRACE_OIDC_ISSUERS must be a JSON list")
    issuers = {}
    for entry in entries:
        if not entry.get("issuer") or not entry.get("audience"):
            raise ValueError("each OIDC issuer needs issuer and audience")
        if bool(entry.get("jwks_uri")) == bool(entry.get("jwks_file")):
            raise ValueError(f"{entry['issuer']}: give jwks_uri or jwks_file, one of them")
        if entry.get("jwks_uri") and not entry["jwks_uri"].startswith(("https://", "http://")):
            raise ValueError(f"{entry['issuer']}: jwks_uri must be an http(s) URL")
        known = {f for f in Issuer.__dataclass_fields__ if not f.startswith("_")}
        issuers[entry["issuer"]] = Issuer(**{k: v for k, v in entry.items() if k in known})
    return issuers


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = parse_issuers(app.config.get("OIDC_ISSUERS", "[]"))


def looks_like_jwt(credential: str) -> bool:
    return credential.count(".") == 2 and not credential.startswith("ctk_")


def authenticate(token: str) -> Principal:
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise TokenRefused("token_malformed", message("Not a JWT: {error}", error=error)) from None
    if header.get("alg") not in ALGORITHMS:
        raise TokenRefused(
            "token_algorithm",
            message("Algorithm {alg} is not accepted.", alg=repr(header.get("alg"))),
        )
    issuer = current_app.extensions[EXTENSION].get(unverified.get("iss"))
    if issuer is None:
        raise TokenRefused("token_issuer", message("The token's issuer is not trusted."))
    key = issuer.key(header.get("kid"))
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[header["alg"]],
            audience=issuer.audience,
            issuer=issuer.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("token_expired", message("The token has expired.")) from None
    except jwt.ImmatureSignatureError:
        raise TokenRefused(
            "token_not_yet_valid", message("The token is not valid yet (nbf).")
        ) from None
    except jwt.InvalidAudienceError:
        raise TokenRefused(
            "token_audience", message("The token is for another audience.")
        ) from None
    except jwt.InvalidIssuerError:
        raise TokenRefused("token_issuer", message("The token's issuer is not trusted.")) from None
    except jwt.PyJWTError as error:
        raise TokenRefused(
            "token_invalid", message("The token does not verify: {error}", error=error)
        ) from None
    return _principal(issuer, claims)


def _principal(issuer: Issuer, claims: dict[str, Any]) -> Principal:
    role = claims.get(issuer.role_claim)
    if role not in ROLES:
        raise TokenRefused(
            "token_role", message("Claim {claim} holds no known role.", claim=issuer.role_claim)
        )
    organization_id = None
    if role == "enterprise":
        code = claims.get(issuer.organization_claim)
        organization = organization_by_code(code) if isinstance(code, str) else None
        if organization is None:
            raise TokenRefused(
                "token_organization",
                message(
                    "Claim {claim} names no registered organisation.",
                    claim=issuer.organization_claim,
                ),
            )
        organization_id = organization.id
    person = claims.get(issuer.subject_id_claim) if issuer.subject_id_claim else None
    # The credential recorded on events: the issuer and subject, hashed to a fixed size.
    subject = hashlib.sha256(f"{issuer.issuer}\x00{claims['sub']}".encode()).hexdigest()[:40]
    return Principal(
        f"oidc_{subject}",
        role,
        organization_id,
        person_hash=person_hash(str(person)) if person is not None else None,
    )


def person_hash(identity_number: str) -> str:
    """HMAC-SHA256 of a personal identity number under the registry's own secret: the same
    person links across records, but the number cannot be read back or guessed offline."""
    return hmac.new(_person_key(), identity_number.encode(), hashlib.sha256).hexdigest()


def _person_key() -> bytes:
    """The secret, kept beside the signing keys (so servers sharing keys share it too)."""
    # Made on first use and read once per process, as the webhook secrets' key is.
    return secretbox.key_in(str(Path(current_app.config["KEYS_DIR"]) / PERSON_KEY_FILE))
