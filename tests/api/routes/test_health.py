"""Liveness, readiness, metrics and the published contract."""

from __future__ import annotations

import re

import yaml

from api import create_app
from tests.conftest import ContractClient


def test_ready_when_schema_is_at_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"


def test_not_ready_when_schema_is_behind(tmp_path):
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}", "DATA_DIR": tmp_path}
    )
    app.test_client_class = ContractClient
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "schema" in response.json["checks"]["database"][0]


def test_not_ready_when_database_unreachable(tmp_path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
            "DATA_DIR": tmp_path,
        }
    )
    app.test_client_class = ContractClient
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == ["database unreachable"]
    assert "nobody" not in response.get_data(as_text=True)


def test_metrics_count_requests_by_route(client):
    client.get("/healthz")
    client.get("/healthz")
    text = client.get("/metrics").get_data(as_text=True)
    assert "chemtrace_http_requests_total" in text
    assert 'route="/healthz"' in text
    assert "chemtrace_http_request_duration_seconds_bucket" in text


def test_openapi_yaml_is_served_and_docs_page_lists_routes(client):
    spec = yaml.safe_load(client.get("/openapi.yaml").get_data(as_text=True))
    assert spec["openapi"].startswith("3.1")
    page = client.get("/docs").get_data(as_text=True)
    assert 'data-spec="/openapi.yaml"' in page  # the viewer reads the contract
    for path in spec["paths"]:
        assert path in page  # and, without script, the page still lists every route


def test_every_route_is_in_the_contract(app):
    spec = yaml.safe_load(client_spec(app))
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        # <name> or <converter:name> (a path converter takes a URI's slashes) → {name}
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((method, path))
    assert served == documented


def client_spec(app) -> str:
    return app.test_client().get("/openapi.yaml").get_data(as_text=True)
