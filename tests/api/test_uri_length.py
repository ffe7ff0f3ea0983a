"""Long URLs: the contract's limits and the server's agree, and every refusal is problem+json.

Each query and path parameter in openapi.yaml is bounded (maxLength, a bounded pattern, an
enum, an integer range). Counted at its worst, each character percent-encoded (12 bytes for
a non-ASCII character: 4 UTF-8 bytes, each as %XX; 3 for an ASCII one), the longest request
target any operation allows stays within MAX_REQUEST_TARGET_BYTES; the app refuses anything
longer itself (414 uri_too_long); and gunicorn's own limit on the request line is above that,
so what it refuses on its own (a still longer line, an oversized header) is rare, and then
answered as problem+json too. The last test runs all of it through a real gunicorn.
"""

from __future__ import annotations

import http.client
import json
import re._constants as sre
import re._parser as sre_parse
import socket
from typing import Any

import pytest
import yaml

from api import gunicorn_conf
from api.config import MAX_REQUEST_TARGET_BYTES
from tests.api.test_errors import assert_problem
from tests.conftest import ROOT
from tests.live import running_service

SPEC = yaml.safe_load((ROOT / "openapi.yaml").read_text())
ASCII_BYTES, NON_ASCII_BYTES = 3, 12
# The longest method and the version around the target on a request line ("OPTIONS ... HTTP/1.1").
REQUEST_LINE_OVERHEAD = len("OPTIONS ") + len(" HTTP/1.1")
EMOJI = "\N{TEST TUBE}"  # U+1F9EA: 4 bytes in UTF-8, 12 percent-encoded


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _ascii_only(items: Any) -> bool:
    """Whether a parsed regex can only match ASCII characters."""
    for op, av in items:
        if op is sre.LITERAL:
            ok = av < 128
        elif op is sre.RANGE:
            ok = av[1] < 128
        elif op is sre.IN:
            ok = _ascii_only(av)
        elif op is sre.CATEGORY:
            # JSON Schema patterns are ECMA-262: \d is [0-9] there.
            ok = av is sre.CATEGORY_DIGIT
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            ok = _ascii_only(av[2])
        elif op is sre.SUBPATTERN:
            ok = _ascii_only(av[3])
        elif op is sre.BRANCH:
            ok = all(_ascii_only(branch) for branch in av[1])
        else:
            ok = op is sre.AT
        if not ok:
            return False
    return True


def worst_case_bytes(schema: dict[str, Any]) -> int | None:
    """The most bytes a value of this schema can take in a URL, or None if unbounded."""
    schema = _resolve(schema)
    if "enum" in schema:
        return max(len(str(v).encode()) for v in schema["enum"]) * ASCII_BYTES
    if schema.get("type") == "integer":
        if "maximum" not in schema:
            return None
        return max(len(str(schema["maximum"])), len(str(schema.get("minimum", 0))))
    if schema.get("type") != "string":
        return None
    length, per_character = schema.get("maxLength"), NON_ASCII_BYTES
    if schema.get("format") in {"date", "date-time"}:
        per_character = ASCII_BYTES  # RFC 3339 is ASCII
    pattern = schema.get("pattern", "")
    # Only an anchored pattern bounds the whole value (JSON Schema patterns match anywhere).
    if pattern.startswith("^") and pattern.endswith("$"):
        parsed = sre_parse.parse(pattern)
        if _ascii_only(parsed):
            per_character = ASCII_BYTES
        widest = parsed.getwidth()[1]
        if widest < sre.MAXREPEAT and (length is None or widest < length):
            length = widest
    return None if length is None else length * per_character


def _operations() -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    found = []
    for path, item in SPEC["paths"].items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                parameters = [_resolve(p) for p in shared + operation.get("parameters", [])]
                found.append((method, path, operation, parameters))
    return found


OPERATIONS = _operations()
IDS = [f"{method.upper()} {path}" for method, path, _, _ in OPERATIONS]


def longest_target(path: str, parameters: list[dict[str, Any]]) -> int:
    """The longest request target the contract allows for this operation."""
    length = len(path)
    for parameter in parameters:
        if parameter["in"] not in {"path", "query"}:
            continue
        value = worst_case_bytes(parameter["schema"])
        assert value is not None, f"{parameter['name']} has no bound in the contract"
        if parameter["in"] == "path":
            length += value - len("{" + parameter["name"] + "}")
        else:
            length += len("&" + parameter["name"] + "=") + value
    return length


@pytest.mark.parametrize(("method", "path", "operation", "parameters"), OPERATIONS, ids=IDS)
def test_every_url_the_contract_allows_is_served(method, path, operation, parameters):
    assert longest_target(path, parameters) <= MAX_REQUEST_TARGET_BYTES
    # ... and the contract says what happens past it, and past gunicorn's header limits.
    assert {"414", "431"} <= set(operation["responses"])


def test_gunicorn_lets_through_every_target_the_app_refuses_itself():
    assert gunicorn_conf.limit_request_line >= MAX_REQUEST_TARGET_BYTES + REQUEST_LINE_OVERHEAD
    assert gunicorn_conf.limit_request_line <= 8190  # gunicorn's maximum; above is "no limit"
    assert gunicorn_conf.limit_request_field_size == 8190  # what the contract states


def test_the_worst_case_arithmetic_is_right():
    """A check of the checker: a 600-character token of 4-byte characters, as a client sends
    it, is 7200 bytes."""
    token = EMOJI * 600
    assert len(_encoded(token)) == 600 * NON_ASCII_BYTES
    assert worst_case_bytes({"type": "string", "maxLength": 600}) == 7200
    assert worst_case_bytes({"type": "string", "maxLength": 5, "pattern": "^[\\x20-\\x7e]+$"}) == 15
    assert worst_case_bytes({"type": "string", "pattern": "^[0-9]{10}(-?[0-9]{3})?$"}) == 42
    assert worst_case_bytes({"type": "string", "pattern": "\\S"}) is None
    assert worst_case_bytes({"type": "string", "format": "date-time"}) is None


def _encoded(text: str) -> str:
    """Every byte percent-encoded: the longest way a client may send ``text``."""
    return "".join(f"%{byte:02X}" for byte in text.encode())


def test_the_longest_allowed_token_is_served_and_a_longer_url_is_414(client, raw_client):
    page = client.get("/v/" + _encoded(EMOJI * 600), headers={"Accept": "application/json"})
    assert page.status_code == 200 and page.json["verified"] is False
    assert_problem(client.get("/v/" + _encoded(EMOJI * 601)), 422, "validation_failed")

    too_long = "/v/" + "A" * MAX_REQUEST_TARGET_BYTES
    body = assert_problem(client.get(too_long), 414, "uri_too_long")
    assert str(MAX_REQUEST_TARGET_BYTES) in body["detail"]
    assert "X-Request-ID" in client.get(too_long).headers
    # Any route, even one that does not exist, and any method.
    assert_problem(raw_client.get("/nowhere?q=" + "x" * 8000), 414, "uri_too_long")
    assert_problem(client.post("/api/v1/verify?" + "x" * 8000, json={}), 414, "uri_too_long")


def _longest_epcis_query() -> str:
    """Every EPCIS query parameter at its longest, every byte percent-encoded."""
    at = "2026-01-01T00:00:00." + "0" * 38 + "+07:00"
    assert len(at) == 64
    values = {
        "eventType": "ObjectEvent," * 16 + "ObjectEvent"[: 200 - 12 * 16],
        "GE_eventTime": at,
        "LT_eventTime": at,
        "EQ_bizStep": ("commissioning," * 22)[:300],
        "EQ_disposition": ("active," * 43)[:300],
        "MATCH_epc": ("urn:x," * 117)[:700],
        "MATCH_anyEPCClass": ("urn:y," * 117)[:700],
        "perPage": "500",
        "nextPageToken": "A" * 200,
    }
    return "&".join(f"{name}={_encoded(value)}" for name, value in values.items())


def test_the_longest_epcis_query_is_answered_by_the_app(client, auth):
    target = "/api/v1/epcis/events?" + _longest_epcis_query()
    assert 7000 < len(target) <= MAX_REQUEST_TARGET_BYTES
    answer = client.get(target, headers=auth("regulator"))
    # Read and judged by the app: every value passes but the made-up page token.
    assert_problem(answer, 422, "invalid_cursor")
    non_ascii = client.get(
        "/api/v1/epcis/events?MATCH_epc=" + _encoded(EMOJI), headers=auth("regulator")
    )
    assert {e["field"] for e in assert_problem(non_ascii, 422, "validation_failed")["errors"]} == {
        "MATCH_epc"
    }


# --- Through a real gunicorn ----------------------------------------------------------------


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


def _get(port: int, target: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def _problem(content_type: str | None, body: bytes, status: int, code: str) -> dict[str, Any]:
    assert content_type == "application/problem+json", (content_type, body[:300])
    problem = json.loads(body)
    assert problem["status"] == status and problem["code"] == code, problem
    # The app answers under the EPCIS root with the EPCIS bindings' exception types.
    assert problem["type"] == f"urn:chemtrace:problem:{code}" or problem["type"].startswith(
        "epcisException:"
    )
    return problem


@pytest.mark.slow
def test_through_gunicorn_long_urls_are_served_or_refused_as_problem_json(
    app, database_url, tmp_path
):
    with running_service(database_url, tmp_path / "data") as service:
        port = int(service.base_url.rsplit(":", 1)[1])
        regulator = service.chemtrace("apikey", "create", "--role", "regulator").split()[-1]

        # The longest token the contract allows, in 4-byte characters: 7203 bytes on the
        # request line, answered by the app.
        status, content_type, body = _get(
            port, "/v/" + _encoded(EMOJI * 600), {"Accept": "application/json"}
        )
        assert (status, content_type) == (200, "application/json"), body[:300]
        assert json.loads(body)["verified"] is False

        # The longest EPCIS query, answered by the app (the made-up page token is refused).
        status, content_type, body = _get(
            port,
            "/api/v1/epcis/events?" + _longest_epcis_query(),
            {"Authorization": f"Bearer {regulator}"},
        )
        _problem(content_type, body, 422, "invalid_cursor")

        # Longer than the app takes, within gunicorn's line: the app refuses it.
        status, content_type, body = _get(port, "/v/" + "A" * (MAX_REQUEST_TARGET_BYTES + 1))
        assert status == 414
        _problem(content_type, body, 414, "uri_too_long")

        # Longer than gunicorn's line: gunicorn refuses it, as problem+json too.
        target = "/api/v1/epcis/events?MATCH_epc=" + "x" * gunicorn_conf.limit_request_line
        status, headers, body = _raw(port, f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status == 414
        _problem(headers.get("content-type"), body, 414, "uri_too_long")
        assert "text/html" not in headers.get("content-type", "")

        # A header field over limit_request_field_size: 431, problem+json.
        huge = "Bearer " + "x" * gunicorn_conf.limit_request_field_size
        status, headers, body = _raw(
            port, f"GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: {huge}\r\n\r\n".encode()
        )
        assert status == 431
        _problem(headers.get("content-type"), body, 431, "headers_too_large")

        # A malformed request line: 400, problem+json.
        status, headers, body = _raw(port, b"GET /healthz HTTP/9.9 extra\r\nHost: x\r\n\r\n")
        assert status == 400
        _problem(headers.get("content-type"), body, 400, "bad_request")

        # The server is still well.
        assert service.get("/healthz")[0] == 200
