"""GS1's own OpenAPI for the EPCIS 2.0 REST bindings (tests/data/epcis), run by schemathesis
against the registry, in-process, for every operation the registry implements: no server
error, and every status code, content type, header and body as GS1's file says.

What is taken from GS1's file, and why:

- The operations the registry does not implement (sub-resource listings such as
  /eventTypes/{eventType}, named queries, subscriptions, nextPageToken invalidation) are
  left out; so are the query parameters it does not implement (the EPCIS Query Language's other
  filters): a repository implements a subset.
- GS1's file points at schemas on gs1.github.io (the EPCIS JSON Schema stub); the test runs
  offline, so those are read as "an object" (documents and events) or "a string" (CBV
  values). The registry checks documents against the full EPCIS JSON Schema itself.
- Generated values are kept within the bounds the registry documents (openapi.yaml) where
  GS1's file sets none: perPage 1 to 500, parameter values printable ASCII and of bounded
  length. A nextPageToken the registry did not issue means nothing, so none is sent.
- GS1's file types the Link header as `format: uri`, while its own example, its text and
  RFC 8288 say `<URL>; rel="next"`: the test holds the registry to the example.
- GS1's file lists nine top-level resources in its own example of the discovery root (and
  asks for at least nine, unique), but its enum of them has seven, without capture and
  queries: the test adds those two to the enum, as the example and the standard's text say.
- GS1's eventID is any URI; one the registry did not give is 404 NoSuchNameException (its
  events are found by their ids in tests/api/routes/test_epcis_event.py).
- The binding's clients ask for application/json (its only JSON media type); the registry
  answers JSON-LD documents as application/json to them.

Capture operations run as an enterprise; the queries as a regulator.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.batch_helpers import make_party
from tests.reference import TEST_DATA

ROOT_PATH = "/api/v1/epcis"
GS1_FILE = TEST_DATA / "epcis" / "epcis-rest-bindings-openapi.yaml"
EXAMPLE = TEST_DATA / "epcis" / "examples" / "Example_9.6.1-ObjectEvent.jsonld"

# What the registry implements of GS1's file: path -> methods.
IMPLEMENTED = {
    "/": {"options", "get"},
    "/events/{eventID}": {"options", "get"},
    "/capture": {"options", "get", "post"},
    "/capture/{captureID}": {"options", "get"},
    "/events": {"options", "get", "post"},
    **{
        f"/{collection}": {"options", "get"}
        for collection in ("eventTypes", "epcs", "bizSteps", "bizLocations", "readPoints")
    },
    "/dispositions": {"options", "get"},
    **{
        f"/{collection}/{{{value}}}/events": {"options", "get"}
        for collection, value in (
            ("eventTypes", "eventType"),
            ("epcs", "epc"),
            ("bizSteps", "bizStep"),
            ("bizLocations", "bizLocation"),
            ("readPoints", "readPoint"),
            ("dispositions", "disposition"),
        )
    },
}
QUERY_PARAMETERS = {
    "perPage",
    "eventType",
    "GE_eventTime",
    "LT_eventTime",
    "EQ_bizStep",
    "EQ_disposition",
    "MATCH_epc",
    "MATCH_anyEPCClass",
}
# The registry's bounds (openapi.yaml) on each value, in characters.
BOUNDS = {
    "eventType": 200,
    "EQ_bizStep": 300,
    "EQ_disposition": 300,
    "MATCH_epc": 600,
    "MATCH_anyEPCClass": 600,
}
PATH_VALUE_BOUND = 200
CAPTURE = {"POST /api/v1/epcis/capture", "POST /api/v1/epcis/events"}
CAPTURE_JOBS = {"GET /api/v1/epcis/capture", "GET /api/v1/epcis/capture/{captureID}"}
EXTERNAL = "https://gs1.github.io/"


def _local(node: Any) -> Any:
    """``node`` with GS1's remote schemas read offline (see the module's docstring)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(EXTERNAL):
            name = ref.rsplit("/", 1)[-1]
            return {"type": "string"} if name in ("bizStep", "disposition") else {"type": "object"}
        return {k: _local(v) for k, v in node.items() if not _remote_example(k, v)}
    if isinstance(node, list):
        return [_local(v) for v in node]
    return node


def _remote_example(key: str, value: Any) -> bool:
    return key == "example" and isinstance(value, dict) and "$ref" in value


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _gs1_spec() -> dict[str, Any]:
    spec = _local(yaml.safe_load(GS1_FILE.read_text(encoding="utf-8")))
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    paths = {}
    for path, item in spec["paths"].items():
        methods = IMPLEMENTED.get(path)
        if methods is None:
            continue
        kept = {k: copy.deepcopy(v) for k, v in item.items() if k in methods or k == "parameters"}
        for method in methods:
            operation = kept[method]
            operation["parameters"] = [
                p
                for p in operation.get("parameters", [])
                if _resolve(spec, p)["in"] != "query"
                or _resolve(spec, p)["name"] in QUERY_PARAMETERS
            ]
            body = operation.get("requestBody")
            if body:  # a document or an event: an object, with GS1's example document
                body["content"] = {
                    "application/json": {"schema": {"type": "object"}, "example": example}
                }
        paths[ROOT_PATH + path] = kept
    spec["paths"] = paths
    # See the module's docstring: a Link header is `<URL>; rel="next"`, as GS1's example says.
    spec["components"]["schemas"]["Link"].pop("format")
    # See the module's docstring: the nine top-level resources of GS1's example.
    spec["components"]["schemas"]["TopLevelResources"]["enum"] += ["capture", "queries"]
    return spec


schema = schemathesis.openapi.from_dict(
    _gs1_spec(),
    config=schemathesis.Config.from_dict(
        {
            "seed": 20261203,
            "generation": {
                "max-examples": 20,
                "deterministic": True,
                "database": "none",
                "mode": "positive",
                "allow-x00": False,
            },
        }
    ),
)


class Target:
    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None, "no app bound"
        return self.app(environ, start_response)


TARGET = Target()
schema.app = TARGET


def _printable(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _within(name: str, value: Any) -> Any:
    """``value`` kept within the registry's bound for ``name``."""
    if name == "perPage":
        return min(max(int(value), 1), 500) if isinstance(value, int) else 30
    if isinstance(value, list):
        kept, length = [], 0
        for item in value:
            text = str(item)
            if text and _printable(text) and length + len(text) + 1 <= BOUNDS.get(name, 200):
                kept.append(item)
                length += len(text) + 1
        return kept or None
    if isinstance(value, str) and name in BOUNDS:
        # Already joined (pipeDelimited): kept whole if the registry takes it, else left out.
        return value if value and _printable(value) and len(value) <= BOUNDS[name] else None
    return value


@schema.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A case within the registry's bounds (see the module's docstring), in every phase."""
    if case.query:
        mapped = {name: _within(name, value) for name, value in case.query.items()}
        case.query = {name: value for name, value in mapped.items() if value is not None}
    for name, value in (case.path_parameters or {}).items():
        text = str(value)
        if not (0 < len(text) <= PATH_VALUE_BOUND and _printable(text)):
            # Out of the registry's bounds: a value it does not know, within them.
            case.path_parameters[name] = "urn:example:unknown"
    return case


@pytest.fixture
def callers(app: Flask, auth) -> dict[str, dict[str, str]]:
    party = make_party(app, auth, "Bindings Chemicals JSC", 0)
    TARGET.app = app
    yield {"enterprise": party.headers, "regulator": auth("regulator")}
    TARGET.app = None


@schema.parametrize()
@hypothesis.settings(
    deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
def test_the_registry_keeps_gs1_s_contract(case, callers: dict[str, dict[str, str]]) -> None:
    route = f"{case.method.upper()} {case.path}"
    headers = callers["enterprise" if route in CAPTURE | CAPTURE_JOBS else "regulator"]
    case.call_and_validate(
        headers={**headers, "Accept": "application/json"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


def test_the_gs1_file_is_read_whole() -> None:
    """Guards the selection: every implemented operation is found in GS1's file."""
    spec = _gs1_spec()
    found = {(p.removeprefix(ROOT_PATH), m) for p, item in spec["paths"].items() for m in item}
    wanted = {(p, m) for p, methods in IMPLEMENTED.items() for m in methods}
    assert wanted <= found
