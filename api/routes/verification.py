"""Public verification: the JWKS, POST /api/v1/verify and the page behind every QR code."""

from __future__ import annotations

import hashlib
import json

import jwt
from flask import Blueprint, Response, render_template, request
from marshmallow import fields, validate

from api.bodies import load_json
from api.errors import validation_failed
from api.schemas.common import StrictSchema
from registry.errors import FieldError
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


class VerifyIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=0, max=MAX_TOKEN_LENGTH))


def signed_answer(result: verification.Verification) -> dict:
    """The answer plus ``signed_result``: a compact JWS (EdDSA) over the answer's fields,
    typed ``SIGNED_RESULT_TYPE``."""
    answer = result.answer()
    key = signer().keys.current()
    answer["signed_result"] = jwt.encode(
        answer,
        key.private_key,
        algorithm="EdDSA",
        headers={"kid": kid_text(key.kid), "typ": SIGNED_RESULT_TYPE},
    )
    return answer


@bp.get("/.well-known/jwks.json")
def jwks():
    body = json.dumps(signer().keys.jwks(), sort_keys=True)
    response = Response(body, mimetype="application/json")
    response.set_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)


@bp.post("/api/v1/verify")
def verify():
    body = load_json(VerifyIn())
    return signed_answer(verification.verify(body["token"]))


@bp.get("/v/<token>")
def verification_page(token: str):
    if len(token) > MAX_PAGE_TOKEN_LENGTH:
        raise validation_failed(
            [FieldError("token", "Longer than any label token.", "invalid_field")]
        )
    result = verification.verify(token)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == (
        "application/json"
    ):
        return signed_answer(result)
    html = render_template("verify.html", result=result)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response
