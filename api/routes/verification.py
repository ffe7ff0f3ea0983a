"""Public verification: the JWKS, POST /api/v1/verify and the page behind every QR code."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from babel import Locale
from flask import Blueprint, Response, render_template, request
from marshmallow import fields, validate

from api.bodies import load_json, load_query
from api.errors import validation_failed
from api.i18n import available_locales, select_locale
from api.schemas.common import ReaderQuery, StrictSchema
from api.words import status_word
from registry.catalogue import ghs
from registry.errors import FieldError, message
from registry.labels import verification
from registry.signing import kid_text, signer

bp = Blueprint("verification", __name__)


MAX_TOKEN_LENGTH = 4000  # in a body: the token, or the whole label URL
# In the page's path, percent-encoded: 600 characters of the worst kind (12 bytes each) keep
# the URL within MAX_REQUEST_TARGET_BYTES. Genuine tokens are a few hundred characters.
MAX_PAGE_TOKEN_LENGTH = 600

# The JOSE "typ" of ``signed_result`` (RFC 8725 section 3.11, explicit typing): the media type
# application/vnd.chemtrace.verification+jwt, "application/" left out as RFC 7515 section 4.1.9
# recommends. It tells a verification record from any other JWT this registry's keys could
# sign (an access token, say), so one cannot be passed off as the other.
SIGNED_RESULT_TYPE = "vnd.chemtrace.verification+jwt"


@dataclass(frozen=True)
class Language:
    code: str
    name: str  # in its own language: "English", "Tiếng Việt"


@dataclass(frozen=True)
class PageWords:
    """What the verification page says beyond the answer, in the reader's language."""

    locale: str
    languages: list[Language]
    checked: str  # when, for a person: "2026-12-02 18:30:19 UTC"
    substance_name: str = ""
    status: str = ""
    signal_word: str | None = None
    hazards: tuple[tuple[str, str], ...] = ()  # (H-code, its text)
    pictograms: tuple[str, ...] = ()  # "GHS02 Flame"


def page_words(result: verification.Verification) -> PageWords:
    locale = select_locale()
    languages = [Language(code, _own_name(code)) for code in available_locales()]
    checked = datetime.fromisoformat(result.checked_at).strftime("%Y-%m-%d %H:%M:%S UTC")
    if result.batch is None:
        return PageWords(locale, languages, checked)
    facts, batch = result.substance, result.batch
    return PageWords(
        locale,
        languages,
        checked,
        substance_name=(facts.names.get(locale) if facts else None) or batch["substance_name"],
        status=status_word(batch["status"]),
        signal_word=(
            _ghs_text(ghs.signal_word_text, facts.signal_word, locale) or facts.signal_word
        )
        if facts and facts.signal_word
        else None,
        hazards=tuple(
            (code, _ghs_text(ghs.hazard_text, code, locale))
            for code in (facts.hazard_statements if facts else ())
        ),
        pictograms=tuple(
            f"{code} {_ghs_text(ghs.pictogram_name, code, locale)}".strip()
            for code in batch["ghs_pictograms"]
        ),
    )


def _ghs_text(lookup: Callable[[str, str], str], code: str, locale: str) -> str:
    # A code the tables do not carry (an old row, a combined statement): the code alone.
    try:
        return lookup(code, locale)
    except KeyError:
        return ""


@cache
def _own_name(code: str) -> str:
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


class VerifyIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=0, max=MAX_TOKEN_LENGTH))


def signed_answer(result: verification.Verification) -> dict:
    """The answer plus ``signed_result``: a compact JWS (EdDSA) over the answer's fields,
    typed ``SIGNED_RESULT_TYPE``.

    Written here rather than with ``jwt.encode``, whose generic checks and copies cost more
    than the signature on every verification: the same bytes as PyJWT writes (the header
    with sorted keys, the payload as compact JSON, both base64url without padding; Ed25519
    signatures are deterministic), tested against it in test_verification_reads.py."""
    answer = result.answer()
    key = signer().keys.current()
    payload = _b64url(json.dumps(answer, separators=(",", ":")).encode())
    signing_input = _jws_header(key.kid) + b"." + payload
    signature = key.private_key.sign(signing_input)
    answer["signed_result"] = (signing_input + b"." + _b64url(signature)).decode("ascii")
    return answer


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@cache
def _jws_header(kid: bytes) -> bytes:
    # Once per key and process: {"alg","kid","typ"}, sorted as PyJWT sorts its headers.
    header = {"alg": "EdDSA", "kid": kid_text(kid), "typ": SIGNED_RESULT_TYPE}
    return _b64url(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())


@bp.get("/.well-known/jwks.json")
def jwks():
    body = signer().keys.jwks_json()
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)


@bp.post("/api/v1/verify")
def verify():
    body = load_json(VerifyIn)
    return signed_answer(verification.verify(body["token"]))


@bp.get("/v/<token>")
def verification_page(token: str):
    if len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise validation_failed(
            [FieldError("token", message("Longer than any label token."), "invalid_field")]
        )
    load_query(ReaderQuery)
    result = verification.verify(token)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    ):
        return signed_answer(result)
    html = render_template("verify.html", result=result, page=page_words(result))
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
