"""Every list a request can carry has a bound in the contract, and the service holds to it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.conftest import ROOT

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())


def _unbounded_arrays(node: Any, path: str, seen: frozenset[str] = frozenset()) -> list[str]:
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in _unbounded_arrays(v, f"{path}/{i}", seen)]
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            return []
        target: Any = SPEC
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return _unbounded_arrays(target, f"{path}→{ref}", seen | {ref})
    found = [path] if node.get("type") == "array" and "maxItems" not in node else []
    for key, value in node.items():
        found += _unbounded_arrays(value, f"{path}/{key}", seen)
    return found


OPERATIONS = [
    (op["operationId"], op)
    for item in SPEC["paths"].values()
    for op in item.values()
    if isinstance(op, dict) and "operationId" in op
]


@pytest.mark.parametrize(("operation_id", "operation"), OPERATIONS, ids=[o for o, _ in OPERATIONS])
def test_every_request_list_has_a_maximum(operation_id, operation):
    # EPCIS capture's body is the GS1 schema, checked by the domain, which caps eventList
    # at 1000 (tests/api/routes/test_epcis_capture.py); every other list is bounded in the contract.
    body = operation.get("requestBody", {}).get("content", {})
    bounded = {k: v for k, v in body.items() if k != "application/ld+json"}
    assert _unbounded_arrays(bounded, operation_id) == []
    for parameter in operation.get("parameters", []):
        assert _unbounded_arrays(parameter, operation_id) == []
