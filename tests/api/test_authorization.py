"""Who may call what: every route by every kind of caller, against the contract.

The matrix below is the whole expectation, as data. Each cell is the status that caller gets
from that route with a valid request: a 2xx proves the guard lets the caller through, a
401/403/404 that it stops them (as problem+json with a stable ``code``, and without changing
anything in the database). Each route is tried on objects of its own (a batch, a transfer, a
key), and so is each allowed write; writes that could collide get a fresh database. A new
route or a new operation in openapi.yaml fails ``test_matrix_lists_every_route`` until it is
given a row here. The parties in between (a sender, a past holder, a producer that no longer
holds) are in ``test_parties_between_own_and_other``.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask

from api.routes.docs import HTTP_METHODS, openapi_document
from registry.access import credentials
from registry.db import db
from tests.api.batch_helpers import Party, make_party, qty, register

# Who calls. "own" is an enterprise of the organisation the request concerns: the
# {organization_id} in the path; for a batch its holder, which also produced it (so "own" is
# the producer for recall); for a transfer its receiver. "other" is an enterprise of another
# registered organisation, party to none of it.
CALLERS = (
    "anonymous",  # no Authorization header
    "malformed",  # a Bearer credential that is not an API key at all
    "revoked",  # a real admin API key, revoked
    "admin",
    "regulator",
    "inspector",
    "own",
    "other",
)

# Column headers are prefixes of CALLERS, in the same order (checked when the table is read).
MATRIX_TABLE = """
route                                                   anon mal  rev  adm  reg  insp own  oth

GET  /healthz                                           200  200  200  200  200  200  200  200
GET  /readyz                                            200  200  200  200  200  200  200  200
GET  /metrics                                           200  200  200  200  200  200  200  200
GET  /openapi.yaml                                      200  200  200  200  200  200  200  200
GET  /docs                                              200  200  200  200  200  200  200  200
GET  /docs/assets/{name}                                200  200  200  200  200  200  200  200
GET  /.well-known/jwks.json                             200  200  200  200  200  200  200  200
POST /api/v1/verify                                     200  200  200  200  200  200  200  200
GET  /v/{token}                                         200  200  200  200  200  200  200  200
GET  /api/v1/ledger/checkpoint                          200  200  200  200  200  200  200  200
GET  /api/v1/ledger/proofs/inclusion                    200  200  200  200  200  200  200  200
GET  /api/v1/ledger/proofs/consistency                  200  200  200  200  200  200  200  200
GET  /api/v1/ledger/entries                             401  401  401  403  200  403  403  403
POST /api/v1/ledger/checkpoints                         401  401  401  201  201  403  403  403

POST /api/v1/organizations                              401  401  401  201  403  403  403  403
GET  /api/v1/organizations                              401  401  401  200  200  200  403  403
GET  /api/v1/organizations/{organization_id}            401  401  401  200  200  200  200  404
POST /api/v1/organizations/{organization_id}/facilities 401  401  401  201  403  403  201  404
POST /api/v1/organizations/{organization_id}/licences   401  401  401  201  201  403  403  403

GET  /api/v1/substances                                 401  401  401  200  200  200  200  200
GET  /api/v1/substances/{cas_rn}                        401  401  401  200  200  200  200  200
POST /api/v1/substances                                 401  401  401  201  201  403  403  403
PUT  /api/v1/substances/{cas_rn}/names                  401  401  401  200  200  403  403  403
PUT  /api/v1/substances/{cas_rn}/classification         401  401  401  200  200  403  403  403
GET  /api/v1/control-lists                              401  401  401  200  200  200  200  200
POST /api/v1/control-lists                              401  401  401  201  201  403  403  403

POST /api/v1/api-keys                                   401  401  401  201  403  403  403  403
GET  /api/v1/api-keys                                   401  401  401  200  403  403  403  403
POST /api/v1/api-keys/{key_id}/revoke                   401  401  401  200  403  403  403  403

# Batches: the admin is party to none of them, so 403 throughout.
# other registering into own's facility: 422 facility_unknown, as for no such facility.
POST /api/v1/batches                                    401  401  401  403  403  403  201  422
POST /api/v1/batches:bulk                               401  401  401  403  403  403  201  422
# other lists only what it holds: 200, an empty page.
GET  /api/v1/batches                                    401  401  401  403  200  403  200  200
GET  /api/v1/batches/{batch_id}                         401  401  401  403  200  200  200  404
GET  /api/v1/batches/{batch_id}/history                 401  401  401  403  200  200  200  404
GET  /api/v1/batches/{batch_id}/history.svg             401  401  401  403  200  200  200  404
POST /api/v1/batches/{batch_id}/split                   401  401  401  403  403  403  201  404
POST /api/v1/batches/{batch_id}/consume                 401  401  401  403  403  403  200  404
POST /api/v1/batches/{batch_id}/dispose                 401  401  401  403  403  403  200  404
POST /api/v1/batches/{batch_id}/export                  401  401  401  403  403  403  200  404
POST /api/v1/batches/{batch_id}/incidents               401  401  401  403  403  403  201  404
POST /api/v1/batches/{batch_id}/adjustments             401  401  401  403  403  403  201  404
POST /api/v1/batches/{batch_id}/recall                  401  401  401  403  200  403  200  404
GET  /api/v1/batches/{batch_id}/label.png               401  401  401  403  200  403  200  404
GET  /api/v1/batches/{batch_id}/label.svg               401  401  401  403  200  403  200  404
GET  /api/v1/batches/{batch_id}/label.pdf               401  401  401  403  200  403  200  404
GET  /api/v1/batches/{batch_id}/labels.svg              401  401  401  403  200  403  200  404
GET  /api/v1/batches/{batch_id}/labels.pdf              401  401  401  403  200  403  200  404
# A role that may never do it is refused (403) before the batch is looked up: other too.
POST /api/v1/batches/{batch_id}/suspend                 401  401  401  403  200  403  403  403
POST /api/v1/batches/{batch_id}/release                 401  401  401  403  200  403  403  403
POST /api/v1/batches/{batch_id}/inspections             401  401  401  403  403  201  403  403
# other naming own's batch in the body is answered as in a path: 404.
POST /api/v1/transformations                            401  401  401  403  403  403  201  404
POST /api/v1/transfers                                  401  401  401  403  403  403  201  404

# Reports: own's organisation is the one the report is about; other enterprises list no events.
GET  /api/v1/events                                     401  401  401  403  200  403  200  200
GET  /api/v1/reports/mass-balance                       401  401  401  403  200  403  200  404
GET  /api/v1/exports/events.ndjson                      401  401  401  403  200  403  403  403
GET  /api/v1/exports/events.csv                         401  401  401  403  200  403  403  403
GET  /api/v1/access-log                                 401  401  401  403  200  403  403  403
GET  /api/v1/epcis/                                    401  401  401  200  200  200  200  200
GET  /api/v1/epcis/events                               401  401  401  403  200  403  403  403
GET  /api/v1/epcis/events/{eventID}                     401  401  401  403  200  403  403  403
# Saved queries are their regulator's own: {queryName} and {subscriptionID} are the regulator's.
POST /api/v1/epcis/queries                              401  401  401  403  201  403  403  403
GET  /api/v1/epcis/queries                              401  401  401  403  200  403  403  403
GET  /api/v1/epcis/queries/{queryName}                  401  401  401  403  200  403  403  403
DELETE /api/v1/epcis/queries/{queryName}                401  401  401  403  204  403  403  403
GET  /api/v1/epcis/queries/{queryName}/events           401  401  401  403  200  403  403  403
POST /api/v1/epcis/queries/{queryName}/subscriptions    401  401  401  403  201  403  403  403
GET  /api/v1/epcis/queries/{queryName}/subscriptions    401  401  401  403  200  403  403  403
DELETE /api/v1/epcis/queries/{queryName}/subscriptions/{subscriptionID} 401 401 401 403 204 403 403 403
GET  /api/v1/epcis/eventTypes                           401  401  401  403  200  403  403  403
GET  /api/v1/epcis/eventTypes/{eventType}/events        401  401  401  403  200  403  403  403
GET  /api/v1/epcis/epcs                                 401  401  401  403  200  403  403  403
GET  /api/v1/epcis/epcs/{epc}/events                    401  401  401  403  200  403  403  403
GET  /api/v1/epcis/bizSteps                             401  401  401  403  200  403  403  403
GET  /api/v1/epcis/bizSteps/{bizStep}/events            401  401  401  403  200  403  403  403
GET  /api/v1/epcis/bizLocations                         401  401  401  403  200  403  403  403
GET  /api/v1/epcis/bizLocations/{bizLocation}/events    401  401  401  403  200  403  403  403
GET  /api/v1/epcis/readPoints                           401  401  401  403  200  403  403  403
GET  /api/v1/epcis/readPoints/{readPoint}/events        401  401  401  403  200  403  403  403
GET  /api/v1/epcis/dispositions                         401  401  401  403  200  403  403  403
GET  /api/v1/epcis/dispositions/{disposition}/events    401  401  401  403  200  403  403  403
# other naming own's facility: the job is made, and says the event was not recorded (202).
POST /api/v1/epcis/capture                              401  401  401  403  403  403  202  202
# A single event that cannot be recorded is refused: 400 epcis_unmappable.
POST /api/v1/epcis/events                               401  401  401  403  403  403  201  400
# Capture jobs: own's job; other's list holds none of it.
GET  /api/v1/epcis/capture                              401  401  401  200  200  403  200  200
GET  /api/v1/epcis/capture/{captureID}                  401  401  401  200  200  403  200  404

# Transfers: own is the receiver (the sender is in test_parties_between_own_and_other).
GET  /api/v1/transfers/{transfer_id}                    401  401  401  403  200  403  200  404
POST /api/v1/transfers/{transfer_id}/receive            401  401  401  403  403  403  200  404
POST /api/v1/transfers/{transfer_id}/reject             401  401  401  403  403  403  200  404
"""  # noqa: E501 - one row is longer than the table

SEEDED_CAS_RN = "67-64-1"  # acetone

# Acetic anhydride is on UN 1988 Table I; every party holds a licence covering it.
BATCH = {
    "cas_rn": "108-24-7",
    "lot_number": "AA-2026-001",
    "quantity": qty("500"),
    "facility_id": "{facility_id}",
    "origin": {"kind": "produced"},
}

# A valid body for each route that takes one. Parameters, in paths and in bodies:
# {organization_id} and {facility_id} are own's; {batch_id} a batch of 500 kg in two
# containers that own registered (so holds and produced), {token} its label token;
# {transfer_id} a shipment of 100 kg from {partner_id}, a third organisation, to own, in
# transit; {cas_rn} a substance of the seeded catalogue; {key_id} a fresh key; {name} a file
# of the /docs page.
BODIES: dict[str, dict[str, Any]] = {
    # A registration of 1 kg at own's {facility_id}, as an EPCIS document: other naming own's
    # facility is refused (422), as with POST /api/v1/batches.
    "POST /api/v1/epcis/capture": {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-23T08:00:00.000Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-11-23T08:00:00.000Z",
                    "eventTimeZoneOffset": "+07:00",
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "epcList": [],
                    "quantityList": [
                        {"epcClass": "urn:example:class:1", "quantity": 1, "uom": "KGM"}
                    ],
                    "bizLocation": {"id": "http://127.0.0.1:8000/facilities/{facility_id}"},
                    "ct:casRN": "108-24-7",
                    "ct:lotNumber": "EPCIS-1",
                }
            ]
        },
    },
    "POST /api/v1/epcis/queries": {"name": "shipments", "query": {"EQ_bizStep": ["shipping"]}},
    # A public address (no DNS lookup, nothing is sent when subscribing).
    "POST /api/v1/epcis/queries/{queryName}/subscriptions": {
        "dest": "https://8.8.8.8/hook",
        "stream": True,
    },
    "POST /api/v1/epcis/events": {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T08:00:00.000Z",
        "eventTimeZoneOffset": "+07:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "epcList": [],
        "quantityList": [{"epcClass": "urn:example:class:1", "quantity": 1, "uom": "KGM"}],
        "bizLocation": {"id": "http://127.0.0.1:8000/facilities/{facility_id}"},
        "ct:casRN": "108-24-7",
        "ct:lotNumber": "EPCIS-2",
    },
    # 0100109106 (ENTERPRISE_CODES[2]): a valid enterprise code no test organisation uses.
    "POST /api/v1/organizations": {"name": "New Chemicals JSC", "enterprise_code": "0100109106"},
    "POST /api/v1/organizations/{organization_id}/facilities": {
        "name": "Warehouse 1",
        "address": "Lot 4, Tan Thuan EPZ",
        "gln": "8934567000000",
    },
    "POST /api/v1/organizations/{organization_id}/licences": {
        "kind": "distribution",
        "number": "GP-2026/001",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "covers": ["UN-1988-Table-I", "67-64-1"],
    },
    "POST /api/v1/substances": {"cas_rn": "7732-18-5", "name": "Water"},
    "PUT /api/v1/substances/{cas_rn}/names": {"names": {"vi": "Axeton"}},
    "PUT /api/v1/substances/{cas_rn}/classification": {
        "pictograms": ["GHS02"],
        "signal_word": "danger",
        "hazard_statements": ["H225"],
        "source": "test",
    },
    "POST /api/v1/control-lists": {"code": "TEST-List-1", "jurisdiction": "VN", "name": "Test"},
    "POST /api/v1/api-keys": {"role": "inspector", "name": "new inspector key"},
    "POST /api/v1/verify": {"token": "{token}"},
    "POST /api/v1/batches": BATCH,
    "POST /api/v1/batches:bulk": {"items": [BATCH, {**BATCH, "lot_number": "AA-2026-002"}]},
    "POST /api/v1/batches/{batch_id}/split": {"parts": [qty("100"), qty("50")]},
    "POST /api/v1/batches/{batch_id}/consume": {"quantity": qty("10"), "purpose": "acetylation"},
    "POST /api/v1/batches/{batch_id}/dispose": {"quantity": qty("10"), "method": "incineration"},
    "POST /api/v1/batches/{batch_id}/export": {
        "quantity": qty("10"),
        "destination_country": "LA",
        "licence_number": "XK-2026/07",
    },
    "POST /api/v1/batches/{batch_id}/incidents": {
        "kind": "spill",
        "quantity": qty("1"),
        "description": "a drum leaked",
    },
    "POST /api/v1/batches/{batch_id}/adjustments": {"quantity": qty("-2.5"), "reason": "count"},
    "POST /api/v1/batches/{batch_id}/recall": {"reason": "contamination"},
    "POST /api/v1/batches/{batch_id}/suspend": {"reason": "under investigation"},
    "POST /api/v1/batches/{batch_id}/release": {"reason": "investigation closed"},
    "POST /api/v1/batches/{batch_id}/inspections": {
        "result": "discrepancy",
        "notes": "one drum short",
        "observed_quantity": qty("490"),
    },
    "POST /api/v1/transformations": {
        "inputs": [{"batch_id": "{batch_id}", "quantity": qty("100")}],
        "output": {
            "cas_rn": SEEDED_CAS_RN,
            "lot_number": "OUT-1",
            "quantity": qty("95"),
            "facility_id": "{facility_id}",
        },
    },
    "POST /api/v1/transfers": {
        "batch_id": "{batch_id}",
        "quantity": qty("100"),
        "to_organization_id": "{partner_id}",
        "documents": [{"type": "invoice", "number": "INV-1"}],
    },
    "POST /api/v1/transfers/{transfer_id}/receive": {
        "received_quantity": qty("100"),
        "facility_id": "{facility_id}",
    },
    "POST /api/v1/transfers/{transfer_id}/reject": {"reason": "wrong grade"},
}

# The query string of each route that needs one; {ledger_size} is the ledger's size after a
# batch was registered for the request.
QUERIES = {
    "GET /api/v1/ledger/proofs/inclusion": "?index=0&tree_size={ledger_size}",
    "GET /api/v1/ledger/proofs/consistency": "?first=1&second={ledger_size}",
    "GET /api/v1/ledger/entries": "?start=0&end={ledger_size}",
    "GET /api/v1/reports/mass-balance": (
        "?organization_id={organization_id}&since=2020-01-01T00:00:00Z&until=2100-01-01T00:00:00Z"
    ),
}

# Routes whose answer is empty (and so off the contract) when no event was recorded yet.
NEEDS_EVENTS = {"GET /api/v1/exports/events.ndjson"}

# A route that needs a state fresh data does not have: the request (by that role, with its
# own body above) that is made first.
BEFORE = {
    "POST /api/v1/batches/{batch_id}/release": (
        "regulator",
        "POST /api/v1/batches/{batch_id}/suspend",
    ),
}

PROBLEM_CODES = {
    400: "epcis_unmappable",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    # Another organisation's facility named in a body.
    422: {"facility_unknown"},
}


def _read_matrix(table: str) -> dict[str, tuple[int, ...]]:
    lines = [line.split("#", 1)[0] for line in table.strip().splitlines()]
    header, *rows = [line.split() for line in lines if line.strip()]
    columns = header[1:]
    assert len(columns) == len(CALLERS), header
    assert all(c.startswith(h) for h, c in zip(columns, CALLERS, strict=True)), header
    matrix: dict[str, tuple[int, ...]] = {}
    for method, path, *statuses in rows:
        route = f"{method} {path}"
        assert route not in matrix, f"{route} is in the matrix twice"
        assert len(statuses) == len(CALLERS), f"{route}: {len(statuses)} cells"
        matrix[route] = tuple(int(s) for s in statuses)
    return matrix


MATRIX = _read_matrix(MATRIX_TABLE)


def _openapi_path(rule: str) -> str:
    """/api/v1/x/<int:y> → /api/v1/x/{y}"""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def _app_routes(app: Flask) -> set[str]:
    return {
        f"{method} {_openapi_path(rule.rule)}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }


def _documented_operations() -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_matrix_lists_every_route(app):
    routes = _app_routes(app)
    assert sorted(routes - MATRIX.keys()) == [], "routes missing from the authorisation matrix"
    assert sorted(MATRIX.keys() - routes) == [], "matrix rows for routes the app does not have"
    documented = _documented_operations()
    assert sorted(documented - MATRIX.keys()) == [], "documented operations missing from matrix"
    assert sorted(MATRIX.keys() - documented) == [], "matrix rows openapi.yaml does not document"
    assert BODIES.keys() <= MATRIX.keys()


def _snapshot(app: Flask) -> dict[str, list[str]]:
    """Every row of every table, to show that a refused request changed nothing."""
    with app.app_context():
        return {
            table.name: sorted(repr(tuple(row)) for row in db.session.execute(sa.select(table)))
            for table in db.metadata.sorted_tables
        }


def _issue(app: Flask, role: str, organization_id: str | None = None, *, revoked=False):
    with app.app_context():
        issued = credentials.issue_api_key(role, organization_id, f"authz {role}")
        if revoked:
            # It may be the only admin key yet: revoked as the command line may.
            credentials.revoke_api_key(issued.api_key.id, allow_last_admin=True)
        db.session.commit()
        return issued.api_key.id, issued.secret


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@dataclass(frozen=True)
class World:
    """The organisations a section is tried on, and each caller's headers."""

    own: Party
    other: Party
    partner: Party  # sends the transfer own receives; receives the one own ships
    headers: dict[str, dict[str, str]]


def _world(app: Flask, auth) -> World:
    own = make_party(app, auth, "Own Chemicals JSC", 0)
    other = make_party(app, auth, "Other Chemicals JSC", 1)
    # ENTERPRISE_CODES[2] is left for POST /api/v1/organizations to register.
    partner = make_party(app, auth, "Partner Chemicals JSC", 3)
    headers = {
        "anonymous": {},
        "malformed": {"Authorization": "Bearer not-an-api-key"},
        "revoked": _bearer(_issue(app, "admin", revoked=True)[1]),
        "own": own.headers,
        "other": other.headers,
    }
    for role in ("admin", "regulator", "inspector"):
        headers[role] = _bearer(_issue(app, role)[1])
    return World(own, other, partner, headers)


def _filled(value: Any, params: dict[str, str]) -> Any:
    """``value`` with every "{name}" in its strings replaced by ``params[name]``."""
    if isinstance(value, str):
        return value.format(**params)
    if isinstance(value, dict):
        return {k: _filled(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [_filled(v, params) for v in value]
    return value


def _post(client, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def _ship(client, sender: Party, batch_id: str, to: str) -> dict[str, Any]:
    body = {"batch_id": batch_id, "quantity": qty("100"), "to_organization_id": to}
    return _post(client, "/api/v1/transfers", body, sender.headers)


# The parameters that name an object made for the request, so that no two requests share it.
OBJECTS = ("batch_id", "token", "transfer_id", "key_id", "queryName", "subscriptionID")


_QUERY_NAMES = itertools.count()


def _names_an_object(route: str) -> bool:
    return any(f"{{{name}}}" in route + repr(BODIES.get(route)) for name in OBJECTS)


def _objects(app: Flask, client, world: World, route: str) -> dict[str, str]:
    """The parameters of ``route``, with new objects for those it names (see BODIES)."""
    params = {
        "organization_id": world.own.id,
        "facility_id": world.own.facility_id,
        "partner_id": world.partner.id,
        "cas_rn": SEEDED_CAS_RN,
        "name": "docs.js",
        # EPCIS resource values (none need exist: an empty answer is an answer).
        "eventType": "ObjectEvent",
        "epc": "urn:epc:id:sgtin:0614141.107346.2018",
        "bizStep": "shipping",
        "bizLocation": "urn:epc:id:sgln:0012345.11111.0",
        "readPoint": "urn:epc:id:sgln:0012345.11111.400",
        "disposition": "active",
    }
    named = route + repr(BODIES.get(route)) + QUERIES.get(route, "")
    if any(f"{{{name}}}" in named for name in ("batch_id", "token", "ledger_size")) or (
        route in NEEDS_EVENTS
    ):
        batch = register(client, world.own, containers=2)
        params["batch_id"], params["token"] = batch["id"], batch["identifier"]["token"]
        params["ledger_size"] = str(batch["ledger_index"] + 1)
    if "{transfer_id}" in named:
        shipment = _ship(client, world.partner, register(client, world.partner)["id"], world.own.id)
        params["transfer_id"] = shipment["id"]
    if "{captureID}" in named:
        body = _filled(BODIES["POST /api/v1/epcis/capture"], params)
        response = client.post("/api/v1/epcis/capture", json=body, headers=world.own.headers)
        assert response.status_code == 202, response.get_json()
        params["captureID"] = response.get_json()["captureID"]
    if "{eventID}" in named:
        register(client, world.own)
        found = client.get("/api/v1/epcis/events", headers=world.headers["regulator"])
        event_id = json.loads(found.text)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        params["eventID"] = quote(event_id[0]["eventID"], safe="")
    if "{key_id}" in named:
        params["key_id"] = _issue(app, "inspector")[0]
    if "{queryName}" in named:
        params["queryName"] = f"q-{next(_QUERY_NAMES)}"
        query = {"name": params["queryName"], "query": {}}
        _post(client, "/api/v1/epcis/queries", query, world.headers["regulator"])
    if "{subscriptionID}" in named:
        path = f"/api/v1/epcis/queries/{params['queryName']}/subscriptions"
        body = BODIES["POST /api/v1/epcis/queries/{queryName}/subscriptions"]
        params["subscriptionID"] = _post(client, path, body, world.headers["regulator"])[
            "subscriptionID"
        ]
    if route in BEFORE:
        role, before = BEFORE[route]
        path = before.removeprefix("POST ").format(**params)
        _post(client, path, _filled(BODIES[before], params), world.headers[role])
    return params


def _judge(app: Flask, response, who: str, expected: int, before) -> tuple[str | None, Any]:
    """(None when ``response`` is the ``expected`` answer, else what is wrong with it; the
    database now, for a refusal). A refusal is problem+json with its stable code, and leaves
    the database as it was ``before``."""
    got = f"{who}: expected {expected}, got {response.status_code}"
    if response.status_code != expected:
        return f"{got} {response.get_data(as_text=True)[:300]}", None
    if expected < 400:
        return None, None
    problem = response.get_json(silent=True) or {}
    if response.mimetype != "application/problem+json":
        return f"{got} as {response.mimetype}, not application/problem+json", None
    codes = PROBLEM_CODES[expected]
    if problem.get("status") != expected or problem.get("code") not in (
        codes if isinstance(codes, set) else {codes}
    ):
        return f"{got} with status {problem.get('status')}, code {problem.get('code')}", None
    if expected == 401 and not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
        return f"{got} without a WWW-Authenticate: Bearer challenge", None
    after = _snapshot(app)
    if after != before:
        return f"{got}, but the refused request changed the database", None
    return None, after


def _check(app, client, world, route, caller, params, before=None) -> tuple[str | None, Any]:
    """What went wrong when ``caller`` calls ``route`` (None if it got what the matrix says),
    and the database after a refusal. ``before``: the database now, if known."""
    expected = MATRIX[route][CALLERS.index(caller)]
    method, template = route.split(" ", 1)
    body = _filled(BODIES[route], params) if route in BODIES else None
    if expected >= 400 and before is None:
        before = _snapshot(app)
    url = (template + QUERIES.get(route, "")).format(**params)
    response = client.open(url, method=method, headers=world.headers[caller], json=body)
    return _judge(app, response, f"{route} {caller}", expected, before)


def _section(route: str) -> str:
    """What a route is about: organizations, batches, transfers... or public (anyone)."""
    path = route.split(" ", 1)[1]
    if all(200 <= status < 300 for status in MATRIX[route]):
        return "public"
    return re.split(r"[/:]", path.removeprefix("/api/v1/"))[0]


SECTIONS: dict[str, list[str]] = {}
for _route in MATRIX:
    SECTIONS.setdefault(_section(_route), []).append(_route)

# The cells where an allowed caller writes.
WRITES = [
    (route, caller)
    for route, statuses in MATRIX.items()
    if not route.startswith("GET ")
    for caller, status in zip(CALLERS, statuses, strict=True)
    if 200 <= status < 300
]

# Each allowed write runs on objects made for it (a batch, a transfer, a key). Two allowed
# writers of a route that names none would collide (the same substance registered twice is a
# 409): each of those runs alone, on a fresh database.
FRESH = [
    (route, caller)
    for route, caller in WRITES
    if not _names_an_object(route) and sum(r == route for r, _ in WRITES) > 1
]


@pytest.mark.parametrize("section", SECTIONS)
def test_authorisation_matrix(app, client, auth, section):
    """Every cell of the section's routes but those in FRESH. Each route gets objects of its
    own; its refusals and reads come first, one after the other, then each allowed write on
    objects made for it."""
    world = _world(app, auth)
    failures = []
    for route in SECTIONS[section]:
        params = _objects(app, client, world, route)
        state = None  # the database as the last refusal left it
        for caller in CALLERS:
            if (route, caller) not in WRITES:
                failure, state = _check(app, client, world, route, caller, params, state)
                failures.append(failure)
        for caller in CALLERS:
            if (route, caller) in WRITES and (route, caller) not in FRESH:
                params = _objects(app, client, world, route)
                failures.append(_check(app, client, world, route, caller, params)[0])
    assert [f for f in failures if f] == []


@pytest.mark.parametrize(("route", "caller"), FRESH, ids=[f"{r} {c}" for r, c in FRESH])
def test_allowed_write_succeeds_on_fresh_data(app, client, auth, route, caller):
    world = _world(app, auth)
    params = _objects(app, client, world, route)
    assert _check(app, client, world, route, caller, params)[0] is None


def test_parties_between_own_and_other(app, client, auth):
    """A producer ships 100 kg to a receiver. The sender sees the transfer but may not
    receive or reject it; once received, the receiver holds a batch it did not produce
    (it may not recall it) and the producer made a batch it no longer holds (it may
    recall it and read its history, but no longer read the batch)."""
    producer = make_party(app, auth, "Producer Chemicals JSC", 0)
    receiver = make_party(app, auth, "Receiver Chemicals JSC", 1)
    transfer = _ship(client, producer, register(client, producer)["id"], receiver.id)
    batch = f"/api/v1/batches/{transfer['shipped_batch_id']}"
    path = f"/api/v1/transfers/{transfer['id']}"
    receive = {"received_quantity": qty("100")}
    reason = {"reason": "contamination"}
    in_transit = [
        ("sender", producer, "GET", path, None, 200),
        ("sender", producer, "POST", f"{path}/receive", receive, 403),
        ("sender", producer, "POST", f"{path}/reject", reason, 403),
    ]
    received = [
        ("holder, not producer", receiver, "POST", f"{batch}/recall", reason, 403),
        ("past holder", producer, "GET", batch, None, 404),
        ("past holder", producer, "GET", f"{batch}/history", None, 200),
        ("producer, not holder", producer, "POST", f"{batch}/recall", reason, 200),
    ]
    failures = []
    for step, cells in enumerate((in_transit, received)):
        if step == 1:
            _post(client, f"{path}/receive", receive, receiver.headers)
        for who, party, method, url, body, expected in cells:
            before = _snapshot(app) if expected >= 400 else None
            response = client.open(url, method=method, headers=party.headers, json=body)
            failures.append(_judge(app, response, f"{who} {method} {url}", expected, before)[0])
    assert [f for f in failures if f] == []


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic YWRtaW46YWRtaW4=",
        "{secret}",  # the key with no scheme
        "Token {secret}",
        "Bearer {secret}x",  # a real key, tampered
        "Bearer ctk_01ARZ3NDEKTSV4RRFFQ69G5FAV_" + "A" * 43,  # well-formed, never issued
        "Bearer ctk_short_secret",
    ],
)
def test_every_bad_credential_is_unauthenticated(app, client, authorization):
    secret = _issue(app, "admin")[1]
    headers = {"Authorization": authorization.format(secret=secret)}
    response = client.get("/api/v1/control-lists", headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "unauthenticated"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_another_organisation_is_indistinguishable_from_none(app, client, org_factory, method):
    """An enterprise cannot tell another organisation's id from an id that does not exist."""
    own, other = org_factory("Own Chemicals JSC"), org_factory("Other Chemicals JSC")
    headers = {"Authorization": f"Bearer {_issue(app, 'enterprise', own)[1]}"}
    suffix = "/facilities" if method == "POST" else ""
    body = BODIES.get(f"{method} /api/v1/organizations/{{organization_id}}{suffix}")
    answers = []
    for organization_id in (other, "01ARZ3NDEKTSV4RRFFQ69G5FAV"):
        response = client.open(
            f"/api/v1/organizations/{organization_id}{suffix}",
            method=method,
            headers=headers,
            json=body,
        )
        problem = response.get_json()
        answers.append((response.status_code, problem["code"], problem["title"], problem["type"]))
        assert problem["detail"] == f"No organisation {organization_id}."
    assert answers[0][:2] == (404, "not_found")
    assert answers[0] == answers[1]
