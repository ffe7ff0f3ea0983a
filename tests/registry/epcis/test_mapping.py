"""The registry's events as EPCIS 2.0: a whole story through the HTTP API, then the query
document checked against GS1's JSON Schema, the CBV 2.0 event hash, exact quantities and
the mapping table; and the filter helpers."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from registry.catalogue import organizations
from registry.db import db
from registry.epcis import event_types, mapping
from registry.epcis.event_hash import document_hashes, event_hash
from registry.ledger.queries import EVENT_TYPES
from registry.models import Batch, Event, Facility, Organization, Transfer
from tests.api.batch_helpers import make_party, qty, register
from tests.reference import TEST_DATA

EPCIS_DATA = TEST_DATA / "epcis"
SCHEMA = json.loads((EPCIS_DATA / "EPCIS-JSON-Schema.json").read_text(encoding="utf-8"))
BASE = "https://registry.example.org/api/v1"
GLN = "4012345000016"

# RFC 3986 absolute URI (jsonschema checks "uri" only with the optional rfc3987 package).
_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})"
_URI = re.compile(rf"^[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}*(?:#{_URI_CHAR}*)?$")


def format_checker() -> FormatChecker:
    checker = FormatChecker()  # its own copy: registering "uri" here changes no other
    checker.checks("uri")(lambda value: not isinstance(value, str) or bool(_URI.match(value)))
    return checker


VALIDATOR = Draft7Validator(SCHEMA, format_checker=format_checker())


# --- the story ------------------------------------------------------------------------


def post(client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code in (200, 201), (path, response.json)
    return response.json


@pytest.fixture
def story(app, client, auth) -> dict[str, Any]:
    """Every kind of event: registrations (one at a facility with a GLN, one by volume),
    a split, a shipment with documents received short, consumption of one milligram,
    disposal, export, a theft and a loss, two adjustments, a recall, a suspension and
    release, inspections, a transformation, and a rejected shipment."""
    producer = make_party(app, auth, "Producer", 0)
    distributor = make_party(app, auth, "Distributor", 1)
    with app.app_context():
        plant = organizations.add_facility(producer.id, "Plant", "Lot 4", gln=GLN)
        db.session.commit()
        plant_id = plant.id
    regulator, inspector = auth("regulator"), auth("inspector")
    p, d = producer.headers, distributor.headers

    big = register(client, producer, "1234567.891", containers=2, facility_id=plant_id)
    solvent = register(
        client, producer, "200", "L", density_kg_per_l="1.082", expires_on="2030-01-31"
    )
    split = post(
        client, f"/api/v1/batches/{big['id']}/split", {"parts": [qty("100"), qty("50.25")]}, p
    )
    children = [c["id"] for c in split["children"]]
    shipment = post(
        client,
        "/api/v1/transfers",
        {
            "batch_id": big["id"],
            "quantity": qty("300"),
            "to_organization_id": distributor.id,
            "documents": [
                {"type": "invoice", "number": "INV-1"},
                {"type": "delivery_note", "number": "DN 7/2026"},
                {"type": "control_slip", "number": "CS-9"},
            ],
        },
        p,
    )
    received = post(
        client,
        f"/api/v1/transfers/{shipment['id']}/receive",
        {"received_quantity": qty("299.5"), "facility_id": distributor.facility_id},
        d,
    )
    held = received["batch_id"]
    post(
        client,
        f"/api/v1/batches/{held}/consume",
        {"quantity": qty("0.001", "g"), "purpose": "assay"},
        d,
    )
    post(client, f"/api/v1/batches/{held}/dispose", {"quantity": qty("10"), "method": "burn"}, d)
    post(
        client,
        f"/api/v1/batches/{held}/export",
        {"quantity": qty("20"), "destination_country": "LA", "licence_number": "XK-1"},
        d,
    )
    for kind, amount in (("theft", "5"), ("loss", "1.5")):
        post(
            client,
            f"/api/v1/batches/{held}/incidents",
            {"kind": kind, "quantity": qty(amount), "description": kind},
            d,
        )
    for change in ("-2", "0.75"):
        post(
            client,
            f"/api/v1/batches/{held}/adjustments",
            {"quantity": qty(change), "reason": "stock count"},
            d,
        )
    post(client, f"/api/v1/batches/{big['id']}/inspections", {"result": "pass"}, inspector)
    post(
        client,
        f"/api/v1/batches/{held}/inspections",
        {"result": "discrepancy", "observed_quantity": qty("261")},
        inspector,
    )
    output = post(
        client,
        "/api/v1/transformations",
        {
            "inputs": [
                {"batch_id": children[1], "quantity": qty("50.25")},
                {"batch_id": solvent["id"], "quantity": qty("10", "L")},
            ],
            "output": {
                "cas_rn": "67-64-1",
                "lot_number": "OUT-1",
                "quantity": qty("55"),
                "facility_id": producer.facility_id,
            },
        },
        p,
    )["output"]
    rejected = post(
        client,
        "/api/v1/transfers",
        {"batch_id": big["id"], "quantity": qty("4"), "to_organization_id": distributor.id},
        p,
    )
    post(client, f"/api/v1/transfers/{rejected['id']}/reject", {"reason": "wrong grade"}, d)
    post(client, f"/api/v1/batches/{big['id']}/suspend", {"reason": "audit"}, regulator)
    post(client, f"/api/v1/batches/{big['id']}/release", {"reason": "cleared"}, regulator)
    post(client, f"/api/v1/batches/{children[0]}/recall", {"reason": "impurity"}, regulator)

    with app.app_context():
        events = list(db.session.scalars(db.select(Event).order_by(Event.ledger_index)))
        wanted = mapping.references(events)
        batches = {b.id: b for b in db.session.scalars(db.select(Batch))}
        parties = {o.id: o for o in db.session.scalars(db.select(Organization))}
        facilities = {f.id: f for f in db.session.scalars(db.select(Facility))}
        transfers = {t.id: t for t in db.session.scalars(db.select(Transfer))}
        assert wanted.batch_ids <= set(batches) and wanted.facility_ids <= set(facilities)
        assert wanted.organization_ids <= set(parties) and wanted.transfer_ids <= set(transfers)
        converted = [
            mapping.epcis_event(e, batches, parties, facilities, BASE, transfers=transfers)
            for e in events
        ]
        document = mapping.query_document(converted, BASE, subscription_id="sub-1")
        rows = {
            e.id: {
                "type": e.type,
                "batch_id": e.batch_id,
                "facility_id": e.facility_id,
                "dimension": e.dimension,
                "quantity_micro": e.quantity_micro,
                "delta_micro": e.quantity_delta_micro,
                "details": dict(e.details),
            }
            for e in events
        }
    text = mapping.dumps(document)
    return {
        "document": document,
        "text": text,
        "parsed": json.loads(text, parse_float=Decimal),
        "rows": rows,
        "producer": producer,
        "distributor": distributor,
        "plant_id": plant_id,
        "big": big["id"],
        "solvent": solvent["id"],
        "children": children,
        "held": held,
        "output": output["id"],
        "shipment": shipment,
    }


def events_of(story: dict[str, Any]) -> list[dict[str, Any]]:
    return story["parsed"]["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def by_type(story: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    rows = story["rows"]
    return [e for e in events_of(story) if rows[e["ct:eventId"]]["type"] == type_]


def org(party_id: str) -> str:
    return f"{BASE}/organizations/{party_id}"


# --- the document ---------------------------------------------------------------------


def test_the_document_is_valid_epcis_and_has_every_event_type(story):
    assert FormatChecker().conforms("yesterday", "date-time") is False  # formats are checked
    for document in (story["parsed"], json.loads(story["text"]), story["document"]):
        errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    document = story["parsed"]
    assert document["type"] == "EPCISQueryDocument" and document["schemaVersion"] == "2.0"
    assert document["@context"] == [
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"ct": f"{BASE}/ns/epcis#"},
    ]
    results = document["epcisBody"]["queryResults"]
    assert results["queryName"] == "SimpleEventQuery" and results["subscriptionID"] == "sub-1"
    assert {row["type"] for row in story["rows"].values()} == set(EVENT_TYPES)
    assert len(events_of(story)) == len(story["rows"])
    assert {e["type"] for e in events_of(story)} == {"ObjectEvent", "TransformationEvent"}


def test_event_ids_are_the_cbv_hashes_of_the_events_as_emitted(story):
    document = story["parsed"]
    ids = [e["eventID"] for e in events_of(story)]
    for event in events_of(story):
        without_id = {k: v for k, v in event.items() if k != "eventID"}
        assert event["eventID"] == event_hash(without_id, document["@context"])
    assert len(set(ids)) == len(ids)
    # Also when a consumer reads the numbers as floats, and through the document-level API.
    assert document_hashes(json.loads(story["text"])) == ids


def test_every_event_follows_the_mapping_table(story):
    rows = story["rows"]
    for event in events_of(story):
        row = rows[event["ct:eventId"]]
        entry = event_types.MAPPING[row["type"]]
        assert event["type"] == entry.epcis_type
        assert event.get("action") == entry.action
        assert event["bizStep"] == entry.biz_step
        assert event.get("disposition") == entry.disposition_for(row["details"])
        assert event["eventTimeZoneOffset"] == "+00:00"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["eventTime"])
        assert event["recordTime"] == event["eventTime"]
        assert event["ct:casRN"] in ("108-24-7", "67-64-1")
        assert isinstance(event["ct:ledgerIndex"], int) and isinstance(event["ct:flagged"], bool)
        assert ("bizLocation" in event) == entry.at_location
        assert ("ilmd" in event) == (entry.action == "ADD")
    indexes = [e["ct:ledgerIndex"] for e in events_of(story)]
    assert indexes == list(range(len(rows)))  # the ledger's order, every event once
    [theft] = [e for e in by_type(story, "incident") if e["ct:incidentKind"] == "theft"]
    [loss] = [e for e in by_type(story, "incident") if e["ct:incidentKind"] == "loss"]
    assert theft["disposition"] == "stolen" and loss["disposition"] == "unknown"
    assert theft["ct:flagged"] is True
    assert {e["disposition"] for e in by_type(story, "inspected")} == {
        "conformant",
        "mismatch_quantity",
    }
    [suspended], [released] = by_type(story, "suspended"), by_type(story, "released")
    assert suspended["persistentDisposition"] == {"set": ["non_sellable_other"]}
    assert released["persistentDisposition"] == {"unset": ["non_sellable_other"]}
    assert "disposition" not in released


def test_quantities_are_exact_numbers_in_kg_or_litres(story):
    text, big = story["text"], f"{BASE}/batches/{story['big']}"
    [registered] = [
        e for e in by_type(story, "registered") if e["quantityList"][0]["epcClass"] == big
    ]
    assert registered["quantityList"] == [
        {"epcClass": big, "quantity": Decimal("1234567.891"), "uom": "KGM"}
    ]
    assert '"quantity":1234567.891,' in text and '"quantity":0.000001,' in text
    [consumed] = by_type(story, "consumed")
    assert consumed["quantityList"][0]["quantity"] == Decimal("0.000001")
    assert consumed["quantityList"][0]["uom"] == "KGM"
    [received] = by_type(story, "received")
    assert received["quantityList"][0]["quantity"] == Decimal("299.5")
    rows, units = story["rows"], set()
    for event in events_of(story):
        row = rows[event["ct:eventId"]]
        if event["type"] != "ObjectEvent" or row["type"] in ("adjusted", "inspected"):
            continue
        [element] = event["quantityList"]
        if row["quantity_micro"] is None:
            assert set(element) == {"epcClass"}
            continue
        scale = 10**9 if row["dimension"] == "mass" else 10**6
        assert element["quantity"] * scale == row["quantity_micro"]
        assert element["uom"] == ("KGM" if row["dimension"] == "mass" else "LTR")
        units.add(element["uom"])
    assert units == {"KGM", "LTR"}
    # A signed adjustment is a change, not an amount of anything.
    changes = sorted(e["ct:quantityChange"]["ct:quantity"] for e in by_type(story, "adjusted"))
    assert changes == [Decimal("-2"), Decimal("0.75")]
    assert all(set(e["quantityList"][0]) == {"epcClass"} for e in by_type(story, "adjusted"))
    observed = [e for e in by_type(story, "inspected") if e["disposition"] == "mismatch_quantity"]
    assert observed[0]["quantityList"][0]["quantity"] == Decimal("261")


def test_splits_and_transformations_are_transformation_events(story):
    [split] = by_type(story, "split")
    children = story["children"]
    assert split["inputQuantityList"] == [
        {"epcClass": f"{BASE}/batches/{story['big']}", "quantity": Decimal("150.25"), "uom": "KGM"}
    ]
    assert split["outputQuantityList"] == [
        {"epcClass": f"{BASE}/batches/{children[0]}", "quantity": Decimal("100"), "uom": "KGM"},
        {"epcClass": f"{BASE}/batches/{children[1]}", "quantity": Decimal("50.25"), "uom": "KGM"},
    ]
    transformed = by_type(story, "transformed")
    output = f"{BASE}/batches/{story['output']}"
    assert sorted(e["inputQuantityList"][0]["quantity"] for e in transformed) == [
        Decimal("10"),
        Decimal("50.25"),
    ]
    assert {e["inputQuantityList"][0]["uom"] for e in transformed} == {"KGM", "LTR"}
    assert all(e["outputQuantityList"] == [{"epcClass": output}] for e in transformed)
    assert {e["transformationID"] for e in transformed} == {
        f"{BASE}/transformations/{story['output']}"
    }
    [product] = [
        e for e in by_type(story, "registered") if e["quantityList"][0]["epcClass"] == output
    ]
    assert product["quantityList"][0]["quantity"] == Decimal("55")
    assert product["ilmd"] == {"cbvmda:lotNumber": "OUT-1"}
    solvent = f"{BASE}/batches/{story['solvent']}"
    [registered] = [
        e for e in by_type(story, "registered") if e["quantityList"][0]["epcClass"] == solvent
    ]
    assert registered["ilmd"] == {
        "cbvmda:lotNumber": "AA-2026-001",
        "cbvmda:itemExpirationDate": "2030-01-31",
    }
    assert registered["quantityList"][0]["uom"] == "LTR"


def test_shipments_name_parties_documents_and_places(story):
    producer, distributor = story["producer"], story["distributor"]
    both = ("owning_party", "possessing_party")
    shipped = [e for e in by_type(story, "shipped") if "bizTransactionList" in e]
    [delivered] = shipped
    assert delivered["sourceList"] == [{"type": t, "source": org(producer.id)} for t in both]
    assert delivered["destinationList"] == [
        {"type": t, "destination": org(distributor.id)} for t in both
    ]
    assert delivered["bizTransactionList"] == [
        {"type": "inv", "bizTransaction": f"{BASE}/documents/invoice/INV-1"},
        {"type": "desadv", "bizTransaction": f"{BASE}/documents/delivery_note/DN%207%2F2026"},
        {
            "type": f"{BASE}/ns/epcis#BTT-control_slip",
            "bizTransaction": f"{BASE}/documents/control_slip/CS-9",
        },
    ]
    # Shipped from the plant with a GLN: its GS1 Digital Link URI; in transit, no bizLocation.
    assert delivered["readPoint"] == {"id": f"https://id.gs1.org/414/{GLN}"}
    assert "bizLocation" not in delivered
    assert all(e["sourceList"] == delivered["sourceList"] for e in by_type(story, "dispatched"))

    [received] = by_type(story, "received")
    assert received["sourceList"] == delivered["sourceList"]
    assert received["destinationList"] == delivered["destinationList"]
    assert received["bizTransactionList"] == delivered["bizTransactionList"]
    place = {"id": f"{BASE}/facilities/{distributor.facility_id}"}
    assert received["readPoint"] == received["bizLocation"] == place
    assert received["ct:flagged"] is True  # received short

    [returned] = by_type(story, "returned")
    assert returned["disposition"] == "returned"
    assert returned["sourceList"] == [{"type": "possessing_party", "source": org(distributor.id)}]
    assert returned["destinationList"] == [
        {"type": t, "destination": org(producer.id)} for t in both
    ]


def test_without_transfers_a_receipt_names_only_its_receiver(app, story):
    with app.app_context():
        event = db.session.scalars(db.select(Event).where(Event.type == "received")).one()
        facilities = {f.id: f for f in db.session.scalars(db.select(Facility))}
        emitted = mapping.epcis_event(event, {}, {}, facilities, BASE + "/")
        with pytest.raises(KeyError, match="facility"):
            mapping.epcis_event(event, {}, {}, {}, BASE)
    assert "sourceList" not in emitted
    assert emitted["destinationList"][0]["destination"] == org(story["distributor"].id)


# --- the table and the filter helpers -------------------------------------------------


def _enum(definition: str) -> set[str]:
    return {v for part in SCHEMA["definitions"][definition]["anyOf"] for v in part.get("enum", [])}


def test_the_table_covers_every_event_type_with_cbv_terms():
    assert set(event_types.MAPPING) == set(EVENT_TYPES)
    steps, dispositions = _enum("bizStep"), _enum("disposition")
    for type_, entry in event_types.MAPPING.items():
        assert entry.biz_step in steps, type_
        assert entry.dispositions <= dispositions, type_
        transformation = type_ in ("split", "transformed")
        assert entry.epcis_type == ("TransformationEvent" if transformation else "ObjectEvent")
        assert (entry.action is None) == transformation
        assert type_ in event_types.types_for_biz_step(entry.biz_step)
        for disposition in entry.dispositions:
            assert type_ in event_types.types_for_disposition(disposition)


def test_filter_helpers_accept_short_names_and_uris():
    assert event_types.types_for_event_type("TransformationEvent") == {"split", "transformed"}
    assert event_types.types_for_event_type("https://ref.gs1.org/epcis/TransformationEvent") == {
        "split",
        "transformed",
    }
    objects = event_types.types_for_event_type("ObjectEvent")
    assert objects == set(EVENT_TYPES) - {"split", "transformed"}
    assert event_types.types_for_event_type("AggregationEvent") == set()
    for step in (
        "shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
        "cbv:BizStep-shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
    ):
        assert event_types.types_for_biz_step(step) == {"shipped", "exported"}
    assert event_types.types_for_biz_step("receiving") == {"received", "returned"}
    assert event_types.types_for_biz_step("https://example.com/BizStep-shipping") == set()
    assert event_types.types_for_biz_step("loading") == set()
    assert event_types.types_for_disposition("https://ref.gs1.org/cbv/Disp-stolen") == {"incident"}
    assert event_types.types_for_disposition("destroyed") == {"disposed", "incident"}
    assert event_types.types_for_disposition("in_transit") == {"shipped", "dispatched", "exported"}
    assert event_types.types_for_disposition("recalled") == {"recalled"}
    assert event_types.types_for_disposition("urn:epcglobal:cbv:disp:active") == {
        "registered",
        "split",
        "created",
        "received",
        "transformed",
    }


def test_disposition_of_an_event_reads_its_details():
    theft = Event(type="incident", details={"kind": "theft"})
    spill = Event(type="incident", details={"kind": "spill"})
    assert event_types.disposition_of(theft) == "stolen"
    assert event_types.disposition_of(spill) == "destroyed"
    assert event_types.disposition_of(Event(type="released", details={})) is None
    assert event_types.disposition_of(Event(type="shipped", details={})) == "in_transit"


def test_parse_batch_uri():
    batch_id = "01JABCDEFGHJKMNPQRSTVWXYZ0"
    uri = mapping.batch_uri(BASE, batch_id)
    assert uri == f"{BASE}/batches/{batch_id}"
    assert mapping.parse_batch_uri(BASE, uri) == batch_id
    assert mapping.parse_batch_uri(BASE + "/", uri) == batch_id
    for other in (
        f"https://elsewhere.example/api/v1/batches/{batch_id}",
        f"{BASE}/batches/",
        f"{BASE}/batches/{batch_id}/containers/0001",
        f"{BASE}/batches/{batch_id}?x=1",
        f"{BASE}/batches/{batch_id}#lot",
        f"{BASE}/organizations/{batch_id}",
        f"urn:epc:class:lgtin:4012345.011111.{batch_id}",
        "",
    ):
        assert mapping.parse_batch_uri(BASE, other) is None, other


def test_dumps_writes_decimals_digit_for_digit():
    value = {
        "small": Decimal("0.000001"),
        "big": Decimal("1234567.891"),
        "exponent": Decimal("1E+3"),
        "negative": Decimal("-0.50"),
        "list": [1, True, None, 'é"', Decimal("12345678901234567.000001")],
    }
    text = mapping.dumps(value)
    assert text == (
        '{"small":0.000001,"big":1234567.891,"exponent":1000,"negative":-0.5,'
        '"list":[1,true,null,"\\u00e9\\"",12345678901234567.000001]}'
    )
    assert json.loads(text, parse_float=Decimal)["list"][4] == Decimal("12345678901234567.000001")
    with pytest.raises(ValueError):
        mapping.dumps({"q": Decimal("NaN")})
    with pytest.raises(TypeError):
        mapping.dumps({1: "x"})


def test_exact_quantity_and_timestamps():
    from datetime import UTC, datetime, timedelta, timezone

    assert mapping.exact_quantity("mass", 1) == (Decimal("0.000000001"), "KGM")
    assert mapping.exact_quantity("volume", 1_500_000) == (Decimal("1.5"), "LTR")
    assert mapping.exact_quantity("mass", 10**17) == (Decimal("100000000"), "KGM")
    moment = datetime(2026, 5, 1, 8, 30, 0, 125999, tzinfo=UTC)
    assert mapping.timestamp(moment) == "2026-05-01T08:30:00.125Z"
    hanoi = moment.astimezone(timezone(timedelta(hours=7)))
    assert mapping.timestamp(hanoi) == "2026-05-01T08:30:00.125Z"
