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
    to_digital_link,
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


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017"),
        ("urn:epc:id:sscc:4012345.1112223334", "https://id.gs1.org/00/140123451122233341"),
        ("urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"),
        ("urn:epc:id:pgln:4012345.00000", "https://id.gs1.org/417/4012345000009"),
        ("urn:epc:id:giai:4000001.111", "https://id.gs1.org/8004/4000001111"),
        ("urn:epc:idpat:sgtin:4012345.066666.*", "https://id.gs1.org/01/04012345666663"),
        (
            "https://example.com/gtin/4012345999990/ser/A1?x=1",
            "https://id.gs1.org/01/04012345999990/21/A1",
        ),
        (
            "https://id.gs1.org/01/09780345418913/10/L1/21/S1",
            "https://id.gs1.org/01/09780345418913/21/S1",
        ),
        ("urn:epc:id:sgtin:0614141.10734.2017", None),
        ("https://www.ncbi.nlm.nih.gov/taxonomy/1126011", None),
    ],
)
def test_digital_link_normalisation(uri: str, expected: str | None):
    assert to_digital_link(uri) == expected
