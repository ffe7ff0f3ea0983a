"""Property-based fuzzing of every operation in openapi.yaml, in-process, as each role.

Schemathesis generates valid and invalid requests from the contract and runs all of its
default checks on every answer: no server errors; status codes, content types, headers and
bodies as documented; invalid data refused; valid data not refused; authentication enforced;
undocumented methods answered 405. On top of those, every error must be an RFC 9457 problem
with a stable ``code``, every answer must carry X-Request-ID, and a refused request must
leave the database exactly as it was.

Each operation runs once per role (admin, regulator, inspector, and enterprise bound to an
organisation that exists), against the real database (SQLite, or PostgreSQL from
CHEMTRACE_DATABASE_URL), emptied and seeded afresh for every operation and role.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from flask import Flask
from hypothesis import strategies as st
from stdnum import casrn, ean
from stdnum.vn import mst

from registry.access import credentials
from registry.catalogue import ghs, organizations
from registry.catalogue.codes import H_STATEMENTS, H_SUFFIXES
from registry.catalogue.control_lists import KNOWN_LISTS
from registry.db import db
from registry.errors import InvalidInput
from registry.models import ROLES, Substance
from registry.pagination import decode_cursor, encode_cursor
from tests.conftest import ROOT, database_fingerprint

MAX_EXAMPLES = 25
SEED = 20260101
PROBLEM_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Target:
    """The app of the running test, as a WSGI callable, and ids that exist in its database.

    The schema is loaded at import time, so that pytest gets one test per operation and role,
    but each test has its own app (from the ``app`` fixture, on a freshly emptied database).
    Binding the schema to this object keeps every request in-process, including the ones
    schemathesis's checks send on their own (the unauthenticated replay of ``ignored_auth``).
    """

    app: Flask | None = None
    known: dict[str, str] = field(default_factory=dict)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        assert self.app is not None, "no app bound: use the target fixture"
        return self.app(environ, start_response)


TARGET = Target()

# Operations whose rules depend on what is recorded, or tie several fields together, beyond
# what a schema states and what the fuzzer can aim at: the substance must be in the catalogue,
# the facility the caller's, the inputs of a transformation different batches, the amounts
# within what the batch holds, a proof's tree sizes within the ledger's size and in order, a
# period's end after its start...
# A schema-valid request may break one of them, and is then
# refused with 422 and the rule's code, as the contract says. For these operations only,
# positive_data_acceptance also takes 422; `schema_valid_request_parses` still fails any
# refusal of a schema-valid request for its shape.
RULES_BEYOND_SCHEMA = [
    "registerBatch",
    "registerBatches",
    "transform",
    "inclusionProof",
    "consistencyProof",
    "ledgerEntries",
    "listEvents",
    "massBalance",
    "exportEventsNdjson",
    "exportEventsCsv",
    "accessLog",
    "epcisQueryEvents",
    "epcisCapture",
    # A name already taken (409); a webhook URL the allow-list refuses (by default anything
    # but public https), a page token this service did not issue.
    "epcisCreateQuery",
    "epcisSubscribe",
    "epcisQueryEventsOfQuery",
    "epcisCaptureEvent",
    "epcisCaptureJobs",
    "epcisEventTypes",
    "epcisEpcs",
    "epcisBizSteps",
    "epcisBizLocations",
    "epcisReadPoints",
    "epcisDispositions",
    "epcisEventTypeEvents",
    "epcisEpcEvents",
    "epcisBizStepEvents",
    "epcisBizLocationEvents",
    "epcisReadPointEvents",
    "epcisDispositionEvents",
]
# EPCIS capture checks a document against the whole EPCIS 2.0 JSON Schema, which the contract
# does not repeat (its body is an object); the EPCIS REST bindings say 400
# (epcisException:ValidationException) for one that fails, and for a single event the
# registry cannot record. So for these operations a schema-valid request may get 400 with
# one of these codes.
EPCIS_CAPTURE = ["epcisCapture", "epcisCaptureEvent"]
EPCIS_DOCUMENT_CODES = frozenset({"epcis_invalid", "epcis_unmappable"})
PARSE_ERRORS = frozenset({"invalid_field", "missing_field", "unknown_field", "repeated_parameter"})

schema = schemathesis.openapi.from_path(
    ROOT / "openapi.yaml",
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                # A NUL anywhere in a request is refused by one rule for every field (422
                # invalid_character, stated in the contract's Problem codes and tested in
                # tests/api/test_errors.py), which the fields' own schemas do not repeat.
                "allow-x00": False,
            },
            "operations": [
                {
                    # One entry per operation: the capture operations have their own below.
                    "include-operation-id": [
                        o for o in RULES_BEYOND_SCHEMA if o not in EPCIS_CAPTURE
                    ],
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [
                                *schemathesis.config.PositiveDataAcceptanceConfig().expected_statuses,
                                "422",
                            ]
                        }
                    },
                },
                {
                    "include-operation-id": EPCIS_CAPTURE,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": [
                                *schemathesis.config.PositiveDataAcceptanceConfig().expected_statuses,
                                "400",
                                "422",
                            ]
                        }
                    },
                },
            ],
        }
    ),
)
schema.app = TARGET


# --- Rules JSON Schema cannot state ------------------------------------------------------
# The contract marks them with `format`: check digits, codes from a list, cursors this service
# issued. Schemathesis draws such values from the patterns beside the format, so a positive
# case is repaired to follow the rule before it is sent: the same shape and length, a valid
# check digit, a control list that exists. Negative cases are left as generated.


def _cas_rn(value: str) -> str:
    head, middle, _ = value.split("-")
    return f"{head}-{middle}-{casrn.calc_check_digit(head + middle)}"


def _enterprise_code(value: str) -> str:
    digits = value.replace("-", "")
    body = next(
        candidate
        for last in string.digits
        if (candidate := digits[:8] + str((int(digits[8]) + int(last)) % 10))[2:] != "0000000"
        and len(mst.calc_check_digit(candidate)) == 1
    )
    code = body + mst.calc_check_digit(body)
    if len(digits) == 10:
        return code
    return code + ("-" if "-" in value else "") + (digits[10:] if digits[10:] != "000" else "001")


def _hazard_statement(value: str) -> str:
    known = sorted(H_STATEMENTS)
    return "+".join(
        (part[:4] if part[:4] in H_STATEMENTS else known[int(part[1:4]) % len(known)])
        + (part[4:] if part[4:] in H_SUFFIXES else "")
        for part in value.split("+")
    )


def _precautionary_statement(value: str) -> str:
    known = ghs.codes("precautionary_statements")
    return value if ghs.is_precautionary_statement(value) else known[len(value) % len(known)]


def _page_cursor(value: str) -> str:
    try:
        decode_cursor(value)
    except InvalidInput:
        ids = re.sub(r"[^A-Za-z0-9]", "", value) or "0"
        return encode_cursor((ids * len(value))[: max(1, len(value) * 3 // 4)])
    return value


def _decimal(value: str, *, maximum: int) -> str:
    """A decimal string within (0, maximum), at most 3 decimals: exact in every unit, and
    through the fuzz batch's density of 1 kg/L."""
    sign = "-" if value.startswith("-") else ""
    whole, _, fraction = value.lstrip("-").partition(".")
    whole, fraction = str(int(whole) % maximum), fraction[:3].rstrip("0")
    if int(whole) == 0 and not fraction.strip("0"):
        whole = "1"
    return sign + whole + (f".{fraction}" if fraction else "")


def _control_list_code(value: str) -> str:
    # Every test database is seeded with these lists.
    known = sorted(KNOWN_LISTS)
    return value if value in KNOWN_LISTS else known[sum(map(ord, value)) % len(known)]


_IDEMPOTENCY_KEYS = itertools.count()

RULES: dict[str, Callable[[str], str]] = {
    "cas-rn": _cas_rn,
    "enterprise-code": _enterprise_code,
    "gln": lambda value: value[:12] + ean.calc_check_digit(value[:12]),
    "ghs-hazard-statement": _hazard_statement,
    "ghs-precautionary-statement": _precautionary_statement,
    "page-cursor": _page_cursor,
    "control-list-code": _control_list_code,
    "positive-decimal": lambda value: _decimal(value, maximum=1000),
    "signed-decimal": lambda value: _decimal(value, maximum=1000),
    "percentage": lambda value: _decimal(value, maximum=100),
    "density": lambda value: _decimal(value, maximum=25),
}


def _follow_rules(value: Any, schema: Any, root: dict[str, Any]) -> Any:
    """``value`` with every string under a format in RULES (and matching its pattern) repaired."""
    if not isinstance(schema, dict):
        return value
    if isinstance(schema.get("$ref"), str):
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _follow_rules(value, target, root)
    for branch in (*schema.get("allOf", ()), *schema.get("anyOf", ()), *schema.get("oneOf", ())):
        value = _follow_rules(value, branch, root)
    rule = RULES.get(schema.get("format", ""))
    if rule and isinstance(value, str) and re.search(schema.get("pattern", ""), value):
        return rule(value)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        return {
            name: _follow_rules(item, schema["properties"].get(name), root)
            for name, item in value.items()
        }
    if isinstance(value, list):
        return [_follow_rules(item, schema.get("items"), root) for item in value]
    return value


@schema.hook
def map_case(context: schemathesis.HookContext, case: schemathesis.Case) -> schemathesis.Case:
    """A positive case made to follow the rules above, before it is sent."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    operation = case.operation
    # An Idempotency-Key names one request: sent again with another body, it is refused.
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str):
        case.headers["Idempotency-Key"] = f"{key[:200]}.{next(_IDEMPOTENCY_KEYS)}"
    for parameters, values in (
        (operation.path_parameters, case.path_parameters),
        (operation.query, case.query),
    ):
        for parameter in parameters:
            if values and parameter.name in values:
                definition = parameter.definition
                values[parameter.name] = _follow_rules(
                    values[parameter.name], definition.get("schema"), definition
                )
    if isinstance(case.body, dict):
        for body in operation.body:
            if body.media_type == case.media_type:
                root = body.definition.get("schema", {})
                case.body = _follow_rules(case.body, root, root)
        # A licence cannot end before it starts: a rule across two fields.
        start, end = case.body.get("valid_from"), case.body.get("valid_until")
        if isinstance(start, str) and isinstance(end, str) and end < start:
            case.body = {**case.body, "valid_from": end, "valid_until": start}
    return case


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Now and then aim at an object that exists, so routes get past 404.

    Only a value the contract accepts is swapped (for another it accepts), so a negative case
    stays negative.
    """
    if not path_parameters or context.operation is None:
        return st.just(path_parameters)
    swappable = [
        parameter.name
        for parameter in context.operation.path_parameters
        if parameter.name in TARGET.known
        and parameter.name in path_parameters
        and parameter.is_valid(path_parameters[parameter.name])
    ]
    if not swappable:
        return st.just(path_parameters)
    return st.booleans().map(
        lambda swap: (
            {**path_parameters, **{n: TARGET.known[n] for n in swappable}}
            if swap
            else path_parameters
        )
    )


# GET /openapi.yaml is `application/yaml` with `schema: {type: string}`: the body is the
# contract's text. Schemathesis would parse YAML into objects before validating, so read it as
# text, as tests/conftest.py's contract client does. Schemathesis treats every YAML media type
# as one family and uses the first one registered, hence all of them.
@schemathesis.deserializer(
    "text/yaml", "text/x-yaml", "application/x-yaml", "text/vnd.yaml", "application/yaml"
)
def _yaml_as_text(ctx: schemathesis.DeserializationContext, response: schemathesis.Response) -> str:
    return response.content.decode(response.encoding or "utf-8")


# --- Checks beyond schemathesis's own --------------------------------------------------


def problem_details(ctx: schemathesis.CheckContext, response: schemathesis.Response, case) -> None:
    """Every error is application/problem+json (RFC 9457) with a stable machine code."""
    if response.status_code < 400:
        return
    # Schemathesis keeps headers as lists under lower-case names.
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == "application/problem+json", f"error answered as {media_type!r}"
    body = response.json()
    assert {"type", "title", "status", "detail", "code"} <= body.keys(), body
    assert body["status"] == response.status_code, body
    assert PROBLEM_CODE.match(body["code"]), body


def schema_valid_request_parses(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case
) -> None:
    """A request the contract allows is never refused for its shape: that would be the
    server's request schema disagreeing with the contract."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if case.operation.definition.raw.get("operationId") in EPCIS_CAPTURE and (
        response.status_code == 400 and response.json().get("code") in EPCIS_DOCUMENT_CODES
    ):
        return
    assert response.status_code not in (400, 413, 415), f"refused with {response.status_code}"
    if response.status_code == 422:
        codes = {error.get("code") for error in response.json().get("errors", [])}
        assert not codes & PARSE_ERRORS, response.json()


def request_id(ctx: schemathesis.CheckContext, response: schemathesis.Response, case) -> None:
    """Every answer carries X-Request-ID."""
    assert response.headers.get("x-request-id", [""])[0], "no X-Request-ID header"


def _database_fingerprint(app: Flask) -> str:
    with app.app_context():
        return database_fingerprint()


# --- Fixtures and the test -------------------------------------------------------------


@pytest.fixture
def target(app: Flask, org_factory: Callable[..., str]) -> Iterator[Target]:
    """The app, and objects in its database the fuzzer can aim at: an organisation (the
    enterprise role's own) with a facility and a batch, a substance, and a spare API key."""
    organization_id = org_factory("Fuzz Chemicals JSC")
    with app.app_context():
        facility = organizations.add_facility(organization_id, "Fuzz warehouse", "Lot 1")
        spare_key = credentials.issue_api_key("inspector", None, "spare, to revoke")
        enterprise_key = credentials.issue_api_key("enterprise", organization_id, "batches")
        db.session.commit()
        known = {"organization_id": organization_id, "key_id": spare_key.api_key.id}
        known["cas_rn"] = db.session.scalar(
            sa.select(Substance.cas_rn).where(Substance.cas_rn.is_not(None)).limit(1)
        )
        facility_id = facility.id
    batch = app.test_client().post(
        "/api/v1/batches",
        json={
            "cas_rn": known["cas_rn"],
            "lot_number": "FUZZ-1",
            "quantity": {"value": "1000", "unit": "kg"},
            "facility_id": facility_id,
            "origin": {"kind": "produced"},
            "density_kg_per_l": "1",
            "containers": 2,
        },
        headers={"Authorization": f"Bearer {enterprise_key.secret}"},
    )
    assert batch.status_code == 201, batch.json
    known["batch_id"] = batch.json["id"]
    TARGET.app, TARGET.known = app, known
    yield TARGET
    TARGET.app, TARGET.known = None, {}


@pytest.fixture(params=ROLES)
def role_headers(
    request: pytest.FixtureRequest, target: Target, auth: Callable[..., dict[str, str]]
) -> dict[str, str]:
    role = request.param
    return auth(role, target.known["organization_id"] if role == "enterprise" else None)


@schema.parametrize()
# The app, its database and the caller's key are made once per operation and role, and are
# meant to persist across the examples: what one request created, the next may meet.
@hypothesis.settings(
    deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
def test_every_operation_keeps_the_contract(
    case, target: Target, role_headers: dict[str, str]
) -> None:
    assert target.app is not None
    before = _database_fingerprint(target.app)
    response = case.call_and_validate(
        headers=role_headers,
        additional_checks=[problem_details, schema_valid_request_parses, request_id],
    )
    if response.status_code >= 400:
        assert _database_fingerprint(target.app) == before, (
            f"{case.method} {case.formatted_path} answered {response.status_code} "
            "but changed the database"
        )
