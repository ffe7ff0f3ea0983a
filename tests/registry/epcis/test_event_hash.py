"""CBV 2.0 event hash: the reference generator's vectors, and invariances of our own."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from registry.epcis.event_hash import (
    document_hashes,
    event_hash,
    normalise_number,
    normalise_timestamp,
)
from tests.reference import TEST_DATA

VECTORS = TEST_DATA / "epcis" / "event-hash"
VECTOR_FILES = sorted(VECTORS.glob("*.jsonld"))
HASH_FORMAT = re.compile(r"^ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0$")


def expected_hashes(vector: Path) -> list[str]:
    lines = vector.with_suffix(".hashes").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip()]


def test_vectors_are_present():
    assert len(VECTOR_FILES) >= 11
    assert all(vector.with_suffix(".hashes").is_file() for vector in VECTOR_FILES)


@pytest.mark.parametrize("vector", VECTOR_FILES, ids=lambda path: path.stem)
def test_reference_vector(vector: Path):
    document = json.loads(vector.read_text(encoding="utf-8"))
    assert document_hashes(document) == expected_hashes(vector)


CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
EVENT: dict[str, Any] = {
    "type": "ObjectEvent",
    "eventTime": "2023-01-11T12:00:00+01:00",
    "eventTimeZoneOffset": "+01:00",
    "epcList": [
        "urn:epc:id:sgtin:4012345.011111.1",
        "urn:epc:id:sgtin:4012345.011111.2",
    ],
    "action": "OBSERVE",
    "bizStep": "shipping",
    "disposition": "in_transit",
    "readPoint": {"id": "urn:epc:id:sgln:4012345.00005.0"},
    "bizTransactionList": [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"},
        {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN1"},
    ],
    "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.LOT1", "quantity": 12.5}],
    "ilmd": {"cbvmda:bestBeforeDate": "2024-01-31", "cbvmda:lotNumber": "LOT1"},
}


def variant(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event.update(changes)
    return event


def reordered(value: Any) -> Any:
    """The same JSON with every object's keys and every list's elements reversed."""
    if isinstance(value, dict):
        return {key: reordered(value[key]) for key in reversed(value)}
    if isinstance(value, list):
        return [reordered(item) for item in reversed(value)]
    return value


BASE_HASH = event_hash(EVENT, CONTEXT)


def test_hash_format():
    assert HASH_FORMAT.match(BASE_HASH)


def test_key_and_list_order_do_not_matter():
    assert event_hash(reordered(EVENT), CONTEXT) == BASE_HASH


@pytest.mark.parametrize(
    "event_time",
    [
        "2023-01-11T11:00:00Z",
        "2023-01-11T11:00:00.000Z",
        "2023-01-11T11:00:00.0001+00:00",
        "2023-01-11T06:00:00-05:00",
        "2023-01-11T16:30:00.000000+05:30",
    ],
)
def test_same_instant_in_another_time_zone_notation(event_time: str):
    assert event_hash(variant(eventTime=event_time), CONTEXT) == BASE_HASH


@pytest.mark.parametrize(
    "changes",
    [
        {"bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"},
        {"bizStep": "cbv:BizStep-shipping"},
        {"bizStep": "urn:epcglobal:cbv:bizstep:shipping"},
        {"readPoint": {"id": "https://id.gs1.org/414/4012345000054"}},
        {"readPoint": {"id": "https://example.com/gln/4012345000054?linkType=all"}},
        {
            "quantityList": [
                {"epcClass": "urn:epc:class:lgtin:4012345.011111.LOT1", "quantity": "12.50"}
            ]
        },
        {"eventID": "ni:///sha-256;00?ver=CBV2.0", "recordTime": "2024-01-01T00:00:00Z"},
        {
            "errorDeclaration": {
                "declarationTime": "2024-01-01T00:00:00Z",
                "reason": "incorrect_data",
            }
        },
    ],
    ids=lambda changes: ",".join(changes),
)
def test_equivalent_spellings_hash_alike(changes: dict[str, Any]):
    assert event_hash(variant(**changes), CONTEXT) == BASE_HASH


@pytest.mark.parametrize(
    "changes",
    [
        {"eventTime": "2023-01-11T12:00:00.001+01:00"},
        {"eventTimeZoneOffset": "+02:00"},
        {"epcList": ["urn:epc:id:sgtin:4012345.011111.1"]},
        {"action": "ADD"},
        {"bizStep": "receiving"},
        {"disposition": "in_progress"},
        {"readPoint": {"id": "urn:epc:id:sgln:4012345.00005.1"}},
        {"quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.LOT1", "quantity": 13}]},
        {"ilmd": {"cbvmda:bestBeforeDate": "2024-02-01", "cbvmda:lotNumber": "LOT1"}},
        {"example:note": "added"},
        {"type": "TransactionEvent"},
    ],
    ids=lambda changes: ",".join(changes),
)
def test_a_changed_field_changes_the_hash(changes: dict[str, Any]):
    assert event_hash(variant(**changes), CONTEXT) != BASE_HASH


def test_business_transaction_type_and_id_stay_paired():
    swapped = copy.deepcopy(EVENT["bizTransactionList"])
    swapped[0]["type"], swapped[1]["type"] = swapped[1]["type"], swapped[0]["type"]
    assert event_hash(variant(bizTransactionList=swapped), CONTEXT) != BASE_HASH


def test_extension_namespace_comes_from_the_context():
    event = variant(**{"example:note": "x"})
    ours = event_hash(event, [*CONTEXT, {"example": "https://ns.example.com/epcis/"}])
    theirs = event_hash(event, [*CONTEXT, {"example": "https://other.example.org/"}])
    assert ours != theirs


def test_ignore_fields_leaves_named_extensions_out():
    event = variant(**{"example:captureID": "cc90bbe4"})
    context = [*CONTEXT, {"example": "https://ns.example.com/epcis/"}]
    assert event_hash(event, context) != event_hash(EVENT, context)
    assert event_hash(event, context, ignore_fields=["example:captureID"]) == event_hash(
        EVENT, context
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2023-02-02T11:04:03.1425Z", "2023-02-02T11:04:03.143Z"),
        ("2020-12-31T23:59:59.9995Z", "2021-01-01T00:00:00.000Z"),
        ("2022-02-15T01:33:31.116000-06:00", "2022-02-15T07:33:31.116Z"),
        ("2019-10-21", None),
        ("not a time", None),
    ],
)
def test_timestamp_normalisation(text: str, expected: str | None):
    assert normalise_timestamp(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12.0, "12"),
        ("0.50", "0.5"),
        ("+3", "3"),
        (600, "600"),
        ("-0.0", "0"),
        ("1.5E-7", "0.00000015"),
    ],
)
def test_number_normalisation(value: Any, expected: str):
    assert normalise_number(value) == expected


# The same objects, places and parties twice: as EPC URNs, and as the Digital Link URIs the
# standards make of them (tests/registry/epcis/test_digital_link.py cites each pair).
URN_KEYS = {
    "sgtin1": "urn:epc:id:sgtin:0614141.812345.6789",
    "sgtin2": "urn:epc:id:sgtin:0614141.712345.32a%2Fb",
    "sscc": "urn:epc:id:sscc:0614141.1234567890",
    "lgtin": "urn:epc:class:lgtin:4023333.002000.2019-10-07",
    "gtin": "urn:epc:idpat:sgtin:8853849.838493.*",
    "grai": "urn:epc:id:grai:0614141.12345.5678",
    "giai": "urn:epc:id:giai:0614141.32a%2Fb",
    "itip": "urn:epc:id:itip:4012345.012345.01.02.987",
    "upui": "urn:epc:id:upui:234567.1890123.1111ANC",
    "sgln": "urn:epc:id:sgln:0614141.12345.0",
    "sgln_ext": "urn:epc:id:sgln:0614141.12345.5678",
    "pgln": "urn:epc:id:pgln:123456.789012",
}
DL_KEYS = {
    "sgtin1": "https://id.gs1.org/01/80614141123458/21/6789",
    "sgtin2": "https://example.com/gtin/70614141123451/ser/32a%2fb?17=261231",
    "sscc": "https://id.gs1.org/00/106141412345678908",
    "lgtin": "https://id.gs1.org/01/04023333020008/10/2019-10-07",
    "gtin": "https://id.gs1.org/01/88853849384934",
    "grai": "https://id.gs1.org/8003/006141411234525678",
    "giai": "https://id.gs1.org/8004/061414132a%2Fb",
    "itip": "https://id.gs1.org/8006/040123451234560102/21/987",
    "upui": "https://id.gs1.org/01/12345678901231/235/1111ANC",
    "sgln": "https://id.gs1.org/414/0614141123452",
    "sgln_ext": "https://id.gs1.org/414/0614141123452/254/5678",
    "pgln": "https://id.gs1.org/417/1234567890128",
}


def keyed_document(keys: dict[str, str]) -> dict[str, Any]:
    """An EPCIS document whose events name GS1 keys in every field that may hold one."""
    where = {"readPoint": {"id": keys["sgln_ext"]}, "bizLocation": {"id": keys["sgln"]}}
    parties = {
        "sourceList": [{"type": "owning_party", "source": keys["pgln"]}],
        "destinationList": [{"type": "location", "destination": keys["sgln"]}],
    }
    events = [
        {
            "type": "ObjectEvent",
            "eventTime": "2023-01-11T12:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE",
            "epcList": [keys["sgtin1"], keys["sgtin2"], keys["grai"], keys["giai"]],
            "quantityList": [{"epcClass": keys["lgtin"], "quantity": 2, "uom": "KGM"}],
            **where,
            **parties,
        },
        {
            "type": "AggregationEvent",
            "eventTime": "2023-01-11T12:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "ADD",
            "parentID": keys["sscc"],
            "childEPCs": [keys["sgtin1"], keys["itip"], keys["upui"]],
            "childQuantityList": [{"epcClass": keys["gtin"], "quantity": 5}],
            **where,
        },
        {
            "type": "TransformationEvent",
            "eventTime": "2023-01-11T12:00:00Z",
            "eventTimeZoneOffset": "+00:00",
            "inputEPCList": [keys["sgtin2"]],
            "inputQuantityList": [{"epcClass": keys["lgtin"], "quantity": 1}],
            "outputEPCList": [keys["upui"]],
            "outputQuantityList": [{"epcClass": keys["gtin"], "quantity": 1}],
            **where,
        },
    ]
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2023-01-11T12:00:00Z",
        "epcisBody": {"eventList": events},
    }


def test_epc_urns_hash_like_their_digital_link_uris():
    from_urns = document_hashes(keyed_document(URN_KEYS))
    assert from_urns == document_hashes(keyed_document(DL_KEYS))
    assert len(set(from_urns)) == 3


@pytest.mark.parametrize("name", sorted(URN_KEYS))
def test_each_key_counts_in_the_hash(name: str):
    # Another company prefix (its first digit changed) is another key.
    head, _, rest = URN_KEYS[name].rpartition(":")
    other = dict(URN_KEYS, **{name: f"{head}:{(int(rest[0]) + 1) % 10}{rest[1:]}"})
    assert document_hashes(keyed_document(other)) != document_hashes(keyed_document(URN_KEYS))
