"""The contract, as YAML and as a readable page that needs no JavaScript."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from flask import Blueprint, Response, render_template

bp = Blueprint("docs", __name__)

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@cache
def openapi_text() -> str:
    return resources.files("api").joinpath("openapi.yaml").read_text(encoding="utf-8")


@cache
def openapi_document() -> dict[str, Any]:
    return yaml.safe_load(openapi_text())


@bp.get("/openapi.yaml")
def openapi_yaml():
    return Response(openapi_text(), mimetype="application/yaml")


@bp.get("/docs")
def docs_page():
    spec = openapi_document()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    return render_template("docs.html", info=spec["info"], operations=operations)
