"""The contract: as YAML, and as a page where an integrator reads every schema, example and
problem code and tries calls with an API key.

The page is Swagger UI 5 (the first to read OpenAPI 3.1), whose files come from the
swagger-ui-py package and are served from this origin, never from a CDN. A small initializer
of ours (api/assets/docs.js) starts it, so that the page needs no inline script: this page
alone is allowed script, from its own origin (api.headers.VIEWER_POLICY). Without script it
still lists every operation.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import get_locale
from marshmallow import EXCLUDE, Schema, fields, validate

from api.bodies import load_query
from api.headers import VIEWER_POLICY
from api.i18n import available_locales
from api.schemas.common import ReaderQuery
from registry.errors import NotFound, message

bp = Blueprint("docs", __name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
# The page lists OPTIONS too where the contract documents it (the EPCIS resources).
LISTED_METHODS = (*HTTP_METHODS, "options")
SWAGGER_UI = resources.files("swagger_ui").joinpath("static")
OWN_ASSETS = resources.files("api").joinpath("assets")
# Only what the page loads; the package's other files (the editor, source maps) are not served.
ASSETS = {
    "swagger-ui-bundle.js": (SWAGGER_UI, "text/javascript"),
    "swagger-ui.css": (SWAGGER_UI, "text/css"),
    "favicon-32x32.png": (SWAGGER_UI, "image/png"),
    "favicon-16x16.png": (SWAGGER_UI, "image/png"),
    "docs.js": (OWN_ASSETS, "text/javascript"),
}
# With the content's fingerprint in the URL (?v=), an asset never changes: cache it a year.
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    content: bytes
    mimetype: str
    fingerprint: str


@cache
def openapi_text() -> str:
    return resources.files("api").joinpath("openapi.yaml").read_text(encoding="utf-8")


@cache
def openapi_document() -> dict[str, Any]:
    return yaml.safe_load(openapi_text())


@cache
def asset(name: str) -> Asset:
    folder, mimetype = ASSETS[name]
    content = folder.joinpath(name).read_bytes()
    return Asset(content, mimetype, hashlib.sha256(content).hexdigest()[:16])


def asset_url(name: str) -> str:
    return url_for("docs.docs_asset", name=name, v=asset(name).fingerprint)


class AssetQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    v = fields.String(load_default=None, validate=validate.Length(max=64))


@bp.get("/openapi.yaml")
def openapi_yaml():
    return Response(openapi_text(), mimetype="application/yaml")


@bp.get("/docs")
def docs_page():
    load_query(ReaderQuery)
    spec = openapi_document()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in LISTED_METHODS
    ]
    page = render_template(
        "docs.html",
        info=spec["info"],
        operations=operations,
        locale=str(get_locale()),
        locales=available_locales(),
        asset_url=asset_url,
    )
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = VIEWER_POLICY
    return response


@bp.get("/docs/assets/<name>")
def docs_asset(name: str):
    if name not in ASSETS:
        raise NotFound(message("The page has no asset named {name}.", name=name))
    found = asset(name)
    query = load_query(AssetQuery)
    response = Response(found.content, mimetype=found.mimetype)
    response.set_etag(found.fingerprint)
    # Without the current fingerprint (an old page, a hand-typed URL), revalidate every time.
    fresh = query["v"] == found.fingerprint
    response.headers["Cache-Control"] = IMMUTABLE if fresh else "no-cache"
    return response.make_conditional(request)
