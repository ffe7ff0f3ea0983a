"""The quick (Rust) schema check never lets through a document jsonschema refuses: on GS1's
examples and on mutations of their events, whatever jsonschema finds errors in, the quick
validator calls invalid (so the answer's errors stay jsonschema's)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import pytest

from registry.epcis import documents
from tests.reference import TEST_DATA

EXAMPLES = sorted((TEST_DATA / "epcis" / "examples").glob("*.json*"))

MUTATIONS = {
    "no type": lambda e: e.pop("type", None),
    "action unknown": lambda e: e.update(action="MOVE"),
    "eventTime a number": lambda e: e.update(eventTime=5),
    "eventTime not a time": lambda e: e.update(eventTime="yesterday"),
    "no eventTimeZoneOffset": lambda e: e.pop("eventTimeZoneOffset", None),
    "offset malformed": lambda e: e.update(eventTimeZoneOffset="7"),
    "bizStep a number": lambda e: e.update(bizStep=12),
    "epcList of numbers": lambda e: e.update(epcList=[1]),
    "quantityList a string": lambda e: e.update(quantityList="x"),
    "quantity a string": lambda e: e.update(
        quantityList=[{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "1"}]
    ),
    "exact quantity": lambda e: e.update(
        quantityList=[
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": Decimal("2.5")}
        ]
    ),
    "bizLocation without id": lambda e: e.update(bizLocation={}),
}


def _events(document):
    body = document.get("epcisBody", {})
    if "eventList" in body:
        return body["eventList"]
    return body.get("queryResults", {}).get("resultsBody", {}).get("eventList", [])


def _cases():
    for path in EXAMPLES:
        document = json.loads(path.read_text(), parse_float=Decimal)
        yield pytest.param(document, id=f"{path.name}")
        for name, mutate in MUTATIONS.items():
            changed = copy.deepcopy(document)
            for event in _events(changed)[:3]:
                mutate(event)
            yield pytest.param(changed, id=f"{path.name}: {name}")


@pytest.mark.parametrize("document", list(_cases()))
def test_what_jsonschema_refuses_the_quick_check_refuses(document):
    errors = list(documents._validator().iter_errors(document))
    if errors:
        assert not documents._quick_validator().is_valid(document)
