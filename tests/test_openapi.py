"""What the contract shows an integrator beyond its schemas: every problem `code` the service
can answer is named in it, and every example in it is a valid instance of its schema."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from tests.conftest import ROOT

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
PROBLEM = SPEC["components"]["schemas"]["Problem"]["properties"]
SOURCES = sorted((ROOT / "api").rglob("*.py")) + sorted((ROOT / "registry").rglob("*.py"))
# Calls that take a problem code, and the position of the code among their arguments.
PROBLEM_CODE_ARGUMENT = {"ApiProblem": 1, "problem": 1, "Conflict": 1, "InvalidInput": 2}
FIELD_CODE_ARGUMENT = {"FieldError": 2, "CodedMessage": 1}
ABSTRACT = {
    "domain_error",
    "http_error",
    "malformed",
    "limit_exceeded",
}  # a base class's placeholder; an unlisted status


def _literal(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.Call) -> str | None:
    return getattr(node.func, "id", None) or getattr(node.func, "attr", None)


def codes_in_source(arguments: dict[str, int]) -> dict[str, Path]:
    """Each code literal given to one of ``arguments``' calls (positionally or as ``code=``)
    or to ``super().__init__`` in a subclass of one; for problem codes, each class's
    ``code = "..."`` too."""
    found: dict[str, Path] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            bases = {getattr(b, "id", None) or getattr(b, "attr", None) for b in cls.bases}
            position = min((arguments.get(b or "", 99) for b in bases), default=99)
            for node in ast.walk(cls):
                if arguments is PROBLEM_CODE_ARGUMENT and _is_code_attribute(node):
                    found.setdefault(node.value.value, path)
                elif _is_init_call(node) and (code := _argument(node, position)):
                    found.setdefault(code, path)
        for node in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            position = arguments.get(_called(node) or "")
            if position is None:
                continue
            if code := _argument(node, position):
                found.setdefault(code, path)
            for keyword in node.keywords:
                if keyword.arg == "code" and (code := _literal(keyword.value)):
                    found.setdefault(code, path)
    return found


def _is_init_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _called(node) == "__init__"


def _argument(call: ast.Call, position: int) -> str | None:
    return _literal(call.args[position]) if position < len(call.args) else None


def _is_code_attribute(node: ast.AST) -> bool:
    """``code = "..."`` in a class body."""
    return (
        isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "code" for t in node.targets)
        and _literal(node.value) is not None
    )


def _refused_token_codes() -> dict[str, Path]:
    """OpenID Connect refusals: ``TokenRefused("token_...", detail)``."""
    path = ROOT / "api" / "oidc.py"
    calls = (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call))
    return {
        code: path
        for call in calls
        if _called(call) == "TokenRefused" and call.args and (code := _literal(call.args[0]))
    }


def _status_tables() -> dict[str, Path]:
    """The codes of the statuses Werkzeug and gunicorn refuse on their own."""
    from api import errors, gunicorn_conf

    return {
        **{c: ROOT / "api/errors.py" for c in errors.HTTP_CODES.values()},
        **{c: ROOT / "api/gunicorn_conf.py" for c in gunicorn_conf._GUNICORN_CODES.values()},
    }


def test_the_scan_finds_codes_of_every_kind():
    """Guards the scan itself: a code of each way of raising one is found."""
    problems = codes_in_source(PROBLEM_CODE_ARGUMENT)
    for code in ("malformed_json", "last_admin_key", "cas_invalid", "state_conflict", "not_found"):
        assert code in problems, code
    assert "token_expired" in _refused_token_codes()
    assert {"missing_field", "repeated_parameter"} <= codes_in_source(FIELD_CODE_ARGUMENT).keys()


def test_every_problem_code_is_named_in_the_contract():
    described = PROBLEM["code"]["description"]
    codes = {**codes_in_source(PROBLEM_CODE_ARGUMENT), **_refused_token_codes(), **_status_tables()}
    missing = {c: str(p.relative_to(ROOT)) for c, p in codes.items() if f"`{c}`" not in described}
    assert not missing.keys() - ABSTRACT, f"name these in Problem.code's description: {missing}"


def test_every_field_error_code_is_named_in_the_contract():
    described = PROBLEM["errors"]["items"]["properties"]["code"]["description"]
    described += PROBLEM["code"]["description"]  # a rule's code is also a field's code
    missing = [c for c in codes_in_source(FIELD_CODE_ARGUMENT) if f"`{c}`" not in described]
    assert not missing, f"name these in Problem.errors.code's description: {missing}"


def _media_types(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every media type object (a schema with examples) in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "content" and isinstance(value, dict):
                for media_type, body in value.items():
                    yield f"{where} {media_type}", body
            else:
                yield from _media_types(value, f"{where}/{key}")


def _examples() -> Iterator[tuple[str, dict[str, Any], Any]]:
    for where, body in _media_types(SPEC):
        if "example" in body:
            yield where, body["schema"], body["example"]
        for name, example in body.get("examples", {}).items():
            yield f"{where} ({name})", body["schema"], example["value"]


EXAMPLES = list(_examples())


@pytest.mark.parametrize(("where", "schema", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_fits_its_schema(where, schema, example):
    # The schema's $refs point into the document's components: validate within the document.
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "allOf": [schema]}
    root["components"] = SPEC["components"]
    errors = [e.message for e in Draft202012Validator(root).iter_errors(example)]
    assert not errors, (where, errors)


@pytest.mark.parametrize(
    ("path", "method", "answer"),
    [
        ("/api/v1/batches", "post", "201"),
        ("/api/v1/verify", "post", "200"),
        ("/api/v1/transfers", "post", "201"),
        ("/api/v1/transfers/{transfer_id}/receive", "post", "200"),
    ],
)
def test_main_operations_show_a_request_and_an_answer(path, method, answer):
    operation = SPEC["paths"][path][method]
    request = operation["requestBody"]["content"]["application/json"]
    response = operation["responses"][answer]["content"]["application/json"]
    assert {"example", "examples"} & request.keys()
    assert {"example", "examples"} & response.keys()


def test_every_shared_error_answer_shows_an_example():
    for name, response in SPEC["components"]["responses"].items():
        body = response["content"]["application/problem+json"]
        assert {"example", "examples"} & body.keys(), name


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; the viewer's YAML parser (js-yaml) refuses the
    whole document, and /docs shows nothing. So the contract may not repeat a key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            assert key not in seen, (
                f"openapi.yaml line {key_node.start_mark.line + 1}: {key!r} twice"
            )
            seen.add(key)
        return super().construct_mapping(node, deep)


def test_no_key_is_given_twice():
    yaml.load((ROOT / "openapi.yaml").read_text(encoding="utf-8"), _UniqueKeyLoader)  # noqa: S506
