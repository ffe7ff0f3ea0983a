"""Security headers on every answer; pages (HTML, SVG) get a strict Content-Security-Policy.

Pages carry no script at all, so the policy allows none; styles may be inline (the pages are
self-contained), images only from here or data: URLs. No CORS headers are sent: browsers on
other origins cannot read answers, which is what an API used by servers and apps needs.
"""

from __future__ import annotations

from flask import Flask, Response

PAGE_POLICY = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGES = {"text/html", "image/svg+xml"}


def init_app(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if response.mimetype in PAGES:
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
