"""Security headers on every answer; pages (HTML, SVG) get a strict Content-Security-Policy.

Pages carry no script at all, so the policy allows none; styles may be inline (the pages are
self-contained), images only from here or data: URLs, fonts only from data: URLs (an SVG
label embeds the glyphs it draws). One page is the exception: /docs runs
the OpenAPI viewer (Swagger UI), so that page alone sets VIEWER_POLICY: script, styles and
images from this origin only (never inline script, never eval), and calls ("try it") and the
contract fetched from this origin only.

CORS (flask-cors) only where configured: with CHEMTRACE_CORS_ORIGINS set, web apps on those
origins may call the public, credential-free routes (label verification, the JWKS, the
ledger's checkpoint and proofs) from a browser. Nothing else is ever readable cross-origin,
and no origin is allowed unless it is listed.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_cors import CORS

PAGE_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
VIEWER_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGES = {"text/html", "image/svg+xml"}
PUBLIC_ROUTES = [
    r"/api/v1/verify",
    r"/v/.*",
    r"/\.well-known/jwks\.json",
    r"/api/v1/ledger/checkpoint",
    r"/api/v1/ledger/proofs/.*",
]


def init_app(app: Flask) -> None:
    origins = app.config["CORS_ORIGINS"]
    if origins:
        CORS(
            app,
            resources={route: {"origins": origins} for route in PUBLIC_ROUTES},
            methods=["GET", "POST"],
            allow_headers=["Content-Type", "Accept"],
            supports_credentials=False,
            max_age=600,
        )

    @app.after_request
    def _secure(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype in PAGES:
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
