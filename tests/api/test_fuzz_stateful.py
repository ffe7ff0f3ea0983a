"""Stateful fuzzing: sequences of calls chained by the links of openapi.yaml, in-process.

Schemathesis builds a state machine from the contract's links (create → act → read): an
organisation is created, then read, given a facility, a licence and a key; a batch is
registered, then read, labelled, split, consumed, shipped, transformed...; a shipment is
received or rejected, then read. Every answer must keep the contract (status code, content
type, headers, body), no answer may be a server error, every error must be a problem with a
stable `code`, and a refused request must leave the database as it was. The machinery of
tests/api/test_fuzz.py is reused: its in-process Target, its repairs of values under a `format`
the schema cannot state (check digits, control lists, cursors), its checks and its database
fingerprint; the parties are tests/api/batch_helpers.py's.

Every scenario starts from the same freshly seeded database and Hypothesis is derandomized, so a
run makes the same calls every time, on SQLite and on PostgreSQL alike.

Each call is made with a credential that may make it, so chains get past 403: admin for
organisations and keys, the seeded enterprise (with a facility) for its batches, the receiving
enterprise (licensed) for receipts and rejections, the inspector for inspections, a regulator
for suspensions and for reading whatever the chain made, whoever holds it by then.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from schemathesis.checks import not_a_server_error
from schemathesis.generation.stateful.control import TransitionController
from schemathesis.generation.stateful.state_machine import (
    APIStateMachine,
    StepInput,
    StepOutput,
)
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry.access import credentials
from registry.db import db
from tests.api import test_fuzz as fuzz
from tests.api.batch_helpers import make_party
from tests.conftest import ROOT, fresh_database

# A controlled substance (UN 1988 Table I) in the seeded catalogue: shipping it needs the
# receiver's licence, which the seeded receiver holds.
CAS_RN = "108-24-7"
MASS = ("g", "kg", "t")

schema = schemathesis.openapi.from_path(
    ROOT / "openapi.yaml",
    config=schemathesis.Config.from_dict(
        {
            "seed": fuzz.SEED,
            "generation": {"deterministic": True, "database": "none"},
            # Only the links the contract states: no links inferred from names.
            "phases": {"stateful": {"inference": {"algorithms": []}}},
            # No literals gathered from the modules loaded so far: the same calls in every run,
            # alone or after other tests.
            "analysis": {"constants": {"enabled": False}},
        }
    ),
)
schema.app = fuzz.TARGET
# Positive cases follow the rules of `format` values first, as in test_fuzz.
schema.hooks.register_hook_with_name(fuzz.map_case, "map_case")


def _aim_at_seeded_objects(
    context: schemathesis.HookContext, case: schemathesis.Case
) -> schemathesis.Case:
    """A positive case names the facility, receiver and substance that exist, so chains go on.

    Values that came through a link (a batch id, a transfer id) are merged after this, and win.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return case
    if not isinstance(case.body, dict):
        return case
    known, operation_id = fuzz.TARGET.known, case.operation.definition.raw.get("operationId")
    body = dict(case.body)
    if operation_id == "registerBatch":
        body = _registrable(body, known)
    elif operation_id == "registerBatches" and isinstance(body.get("items"), list):
        body["items"] = [
            _registrable(item, known) if isinstance(item, dict) else item for item in body["items"]
        ]
    elif operation_id == "transform" and isinstance(body.get("output"), dict):
        body["output"] = {
            **body["output"],
            "cas_rn": CAS_RN,
            "facility_id": known["facility_id"],
        }
    elif operation_id == "ship":
        body["to_organization_id"] = known["receiver_id"]
        if isinstance(body.get("quantity"), dict) and body["quantity"].get("unit") not in MASS:
            body["quantity"] = {**body["quantity"], "unit": "kg"}
        if body.get("to_facility_id") is not None:
            body["to_facility_id"] = known["receiver_facility_id"]
    elif operation_id == "receiveTransfer" and body.get("facility_id") is not None:
        body["facility_id"] = known["receiver_facility_id"]
    case.body = body
    return case


def _registrable(item: dict[str, Any], known: dict[str, str]) -> dict[str, Any]:
    item = {**item, "cas_rn": CAS_RN, "facility_id": known["facility_id"]}
    # In tonnes, so that what a chain takes from it (any mass) is exact and mostly there.
    if isinstance(item.get("quantity"), dict):
        item["quantity"] = {**item["quantity"], "unit": "t"}
    origin = item.get("origin")
    if isinstance(origin, dict) and origin.get("kind") == "imported" and not origin.get("document"):
        item["origin"] = {**origin, "document": "CD-2026-1"}
    return item


schema.hooks.register_hook_with_name(_aim_at_seeded_objects, "map_case")

# Who makes each call (by operationId); anything else is the seeded enterprise's.
CALLERS = {
    "createOrganization": "admin",
    "getOrganization": "admin",
    "addFacility": "admin",
    "grantLicence": "admin",
    "createApiKey": "admin",
    "revokeApiKey": "admin",
    "registerSubstance": "admin",
    "getSubstance": "admin",
    "suspendBatch": "regulator",
    "releaseBatch": "regulator",
    "inspectBatch": "inspector",
    "receiveTransfer": "receiver",
    "rejectTransfer": "receiver",
    # Reads follow a batch wherever the chain took it (to the receiver, to a child).
    "getBatch": "regulator",
    "batchHistory": "regulator",
    "batchHistorySvg": "regulator",
    "getTransfer": "regulator",
    "labelPng": "regulator",
    "labelSvg": "regulator",
    "labelSheet": "regulator",
}
# Calls that may start a chain. Other operations are reached through links only: called with
# an id drawn at random, they would just answer 404.
ROOTS = {
    "createOrganization",
    "createApiKey",
    "registerSubstance",
    "registerBatch",
    "registerBatches",
}


class Run:
    """What a state machine did: calls made, and links followed, by outcome."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.linked: Counter[tuple[str, int]] = Counter()

    @property
    def linked_successes(self) -> Counter[str]:
        return Counter(
            {name: n for (name, status), n in self.linked.items() if 200 <= status < 300}
        )

    def summary(self, links: int) -> str:
        return (
            f"{sum(self.calls.values())} calls, {sum(self.linked.values())} through a link, "
            f"{sum(self.linked_successes.values())} of those successful; "
            f"{len(self.linked_successes)} of {links} links followed successfully"
        )


CREDENTIALS: dict[str, dict[str, str]] = {}
ROOT_LABELS = {schema.find_operation_by_id(operation_id).label for operation_id in ROOTS}


class _RootsFirst(TransitionController):
    """Starts chains only from the operations in ROOTS."""

    __slots__ = ()

    def allow_root_transition(self, source: str, bundles: Any) -> bool:
        return source in ROOT_LABELS and super().allow_root_transition(source, bundles)


def workflow(operation_ids: list[str] | None, run: Run) -> type[APIStateMachine]:
    """The contract's state machine, over every operation or only those named, recording
    what it does in ``run``."""
    selected = schema if operation_ids is None else schema.include(operation_id=operation_ids)
    base: Any = selected.as_state_machine()

    class Workflow(base):
        def __init__(self) -> None:
            super().__init__()
            self.control = _RootsFirst(self._transitions, self._root_labels & ROOT_LABELS)

        def setup(self) -> None:
            # Every scenario starts from the same database: what the server answers depends on
            # the scenario alone, so Hypothesis sees the same rules valid for the same choices.
            assert fuzz.TARGET.app is not None
            _seed(fuzz.TARGET.app)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            operation_id = case.operation.definition.raw.get("operationId")
            return {"headers": CREDENTIALS[CALLERS.get(operation_id, "enterprise")]}

        def step(self, input: StepInput) -> StepOutput:
            app = fuzz.TARGET.app
            assert app is not None
            before = fuzz._database_fingerprint(app)
            output = super().step(input)
            status = output.response.status_code
            run.calls[input.case.operation.label] += 1
            if input.transition is not None and input.is_applied:
                run.linked[input.transition.id, status] += 1
            if status >= 400:
                assert fuzz._database_fingerprint(app) == before, (
                    f"{input.case.method} {input.case.formatted_path} answered {status} "
                    "but changed the database"
                )
            return output

        def validate_response(
            self,
            response: schemathesis.Response,
            case: schemathesis.Case,
            additional_checks: list[Callable[..., Any]] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                    response_headers_conformance,
                    ensure_resource_availability,
                ],
                additional_checks=[
                    fuzz.problem_details,
                    fuzz.request_id,
                    fuzz.schema_valid_request_parses,
                ],
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    return Workflow


def _seed(app: Flask) -> None:
    """An empty database with the catalogue, a producer and a receiver (each an organisation
    with a facility and a licence for the UN 1988 tables), and a key for every caller."""
    with app.app_context():
        fresh_database()

    def auth(role: str, organization_id: str | None = None) -> dict[str, str]:
        with app.app_context():
            issued = credentials.issue_api_key(role, organization_id, f"stateful {role}")
            db.session.commit()
            return {"Authorization": f"Bearer {issued.secret}"}

    producer = make_party(app, auth, "Fuzz Chemicals JSC", 0)
    receiver = make_party(app, auth, "Fuzz Receiver JSC", 1)
    fuzz.TARGET.known = {
        "organization_id": producer.id,
        "facility_id": producer.facility_id,
        "receiver_id": receiver.id,
        "receiver_facility_id": receiver.facility_id,
    }
    CREDENTIALS.clear()
    CREDENTIALS.update(
        {role: auth(role) for role in ("admin", "regulator", "inspector")},
        enterprise=producer.headers,
        receiver=receiver.headers,
    )


@pytest.fixture
def bound_app(app: Flask) -> Iterator[Flask]:
    fuzz.TARGET.app = app
    yield app
    fuzz.TARGET.app, fuzz.TARGET.known = None, {}
    CREDENTIALS.clear()


# Each run: the operations it covers (None: all), scenarios and calls per scenario (about a
# minute in all on SQLite, two on PostgreSQL), and links it must have followed to a success.
RUNS = {
    "every-link": (
        None,
        40,
        12,
        {
            "POST /api/v1/organizations -> [201] GetOrganization"
            " -> GET /api/v1/organizations/{organization_id}",
            "POST /api/v1/organizations -> [201] GrantLicence"
            " -> POST /api/v1/organizations/{organization_id}/licences",
            "POST /api/v1/api-keys -> [201] RevokeApiKey -> POST /api/v1/api-keys/{key_id}/revoke",
            "POST /api/v1/batches -> [201] GetBatch -> GET /api/v1/batches/{batch_id}",
            "POST /api/v1/batches:bulk -> [201] GetFirstBatch -> GET /api/v1/batches/{batch_id}",
        },
    ),
    # Custody: register, ship, receive or reject, read; the transfer links get the whole budget.
    "custody": (
        [
            "registerBatch",
            "ship",
            "getTransfer",
            "receiveTransfer",
            "rejectTransfer",
            "getBatch",
            "batchHistory",
        ],
        20,
        10,
        {
            "POST /api/v1/batches -> [201] Ship -> POST /api/v1/transfers",
            "POST /api/v1/transfers -> [201] ReceiveTransfer"
            " -> POST /api/v1/transfers/{transfer_id}/receive",
            "POST /api/v1/transfers -> [201] RejectTransfer"
            " -> POST /api/v1/transfers/{transfer_id}/reject",
        },
    ),
    # Receipt: the batch a receipt creates, read through the receipt's own links. Apart from
    # the run above, where five links out of a shipment leave a receipt's own links to chance.
    "receipt": (
        ["registerBatch", "ship", "receiveTransfer", "getBatch", "batchHistory"],
        20,
        10,
        {
            "POST /api/v1/transfers -> [201] ReceiveTransfer"
            " -> POST /api/v1/transfers/{transfer_id}/receive",
            "POST /api/v1/transfers/{transfer_id}/receive -> [200] GetReceivedBatch"
            " -> GET /api/v1/batches/{batch_id}",
        },
    ),
}
MIN_LINKED_SUCCESSES = 40


@pytest.mark.parametrize("name", RUNS)
def test_linked_sequences_keep_the_contract(bound_app: Flask, name: str) -> None:
    operation_ids, scenarios, steps, expected_links = RUNS[name]
    run = Run()
    machine = workflow(operation_ids, run)
    machine.run(
        settings=hypothesis.settings(
            max_examples=scenarios,
            stateful_step_count=steps,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    links = sum(len(t.outgoing) for t in machine._transitions.operations.values())
    summary = run.summary(links)
    print(f"{name}: {summary}")
    for link, count in sorted(run.linked_successes.items()):
        print(f"{count:4d}  {link}")
    # A run that followed no link tested no sequence: these chains must have been walked.
    assert expected_links <= run.linked_successes.keys(), summary
    assert sum(run.linked_successes.values()) >= MIN_LINKED_SUCCESSES, summary
