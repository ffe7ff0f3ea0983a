"""The quick reading of ``batches:bulk`` items is never wider than ``BulkIn``."""

from __future__ import annotations

import json

from hypothesis import event, given, settings
from hypothesis import strategies as st

from api.schemas.batches import DOCUMENT_TYPES, BatchIn, BulkIn, DocumentIn, OriginIn, QuantityIn
from api.schemas.bulk import (
    DOCUMENT_FIELDS,
    ITEM_FIELDS,
    ORIGIN_FIELDS,
    QUANTITY_FIELDS,
    REQUIRED_FIELDS,
    plain_bulk_items,
)

# Whatever JSON could put where a field goes, besides the field's own near misses.
anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)
edgy_text = st.one_of(
    st.text(max_size=110),
    st.sampled_from(["", " ", "\u3000", "\ufeff", " L-1", "L-1 ", "L-1", "\u00a0x"]),
)


def mostly(good: st.SearchStrategy, bad: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` nine times in ten, else ``bad`` or anything: items must often be wholly
    good for the quick reading to be tried at all."""
    return st.integers(0, 9).flatmap(lambda n: good if n else st.one_of(bad, anything))


def text(least: int, most: int) -> st.SearchStrategy:
    return st.text(min_size=least, max_size=most)


days = st.one_of(
    st.none(),
    st.dates().map(lambda d: d.isoformat()),
)
odd_days = st.one_of(
    st.sampled_from(["20260101", "2026-W01-1", "2026-02-30", "2026-1-01", "2026-01-01T00:00"]),
    st.text(max_size=12),
)
quantity = st.fixed_dictionaries({"value": text(1, 40), "unit": text(1, 8)})
odd_quantity = st.fixed_dictionaries(
    {"value": edgy_text, "unit": st.text(max_size=9)}, optional={"scale": st.text(max_size=2)}
)
origin = st.fixed_dictionaries(
    {"kind": st.sampled_from(["produced", "imported"])},
    optional={"document": st.none() | text(1, 100)},
)
odd_origin = st.fixed_dictionaries(
    {"kind": st.sampled_from(["produced", "imported", "Produced", ""])},
    optional={"document": st.none() | edgy_text, "note": st.text(max_size=2)},
)
document = st.fixed_dictionaries({"type": st.sampled_from(DOCUMENT_TYPES), "number": text(1, 100)})
odd_document = st.fixed_dictionaries(
    {"type": st.sampled_from([*DOCUMENT_TYPES, "bill"]), "number": edgy_text},
    optional={"date": st.text(max_size=2)},
)
serials = st.lists(text(1, 64).filter(lambda s: s.strip() == s and s.isprintable()), max_size=3)
odd_containers = st.one_of(
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(edgy_text.filter(lambda s: len(s) <= 66), max_size=3),
)
required = {
    "cas_rn": mostly(st.text(max_size=20), st.text(max_size=22)),
    "lot_number": mostly(text(1, 100), edgy_text),
    "quantity": mostly(quantity, odd_quantity),
    "facility_id": mostly(text(1, 64), st.text(max_size=66)),
    "origin": mostly(origin, odd_origin),
}
optional = {
    "concentration_pct": mostly(st.none() | text(1, 20), st.text(max_size=22)),
    "density_kg_per_l": mostly(st.none() | text(1, 20), st.text(max_size=22)),
    "manufactured_on": mostly(days, odd_days),
    "expires_on": mostly(days, odd_days),
    "containers": mostly(st.none() | st.integers() | serials, odd_containers),
    "documents": mostly(
        st.lists(mostly(document, odd_document), max_size=3), st.lists(odd_document, max_size=2)
    ),
}
items = st.one_of(
    st.fixed_dictionaries(required, optional=optional),
    st.fixed_dictionaries(required, optional=optional),
    st.fixed_dictionaries(required, optional={**optional, "colour": st.text(max_size=3)}),
    st.fixed_dictionaries({}, optional={**required, **optional}),
    anything,
)


@settings(max_examples=1500)
@given(body=st.fixed_dictionaries({"items": st.lists(items, max_size=2)}))
def test_what_is_read_quickly_is_what_bulk_in_loads(body):
    body = json.loads(json.dumps(body))  # as it arrives: plain JSON types only
    quick = plain_bulk_items(body)
    event("read quickly" if quick is not None else "left to BulkIn")
    if quick is not None:
        assert BulkIn().load(body)["items"] == quick


def test_the_quick_checks_know_every_field_of_bulk_in():
    """A field added to (or made required in) the schemas must be taught to the quick
    reading, which otherwise would not know what to check."""
    batch = BatchIn().fields
    assert set(batch) == ITEM_FIELDS
    assert {name for name, field in batch.items() if field.required} == REQUIRED_FIELDS
    assert set(QuantityIn().fields) == QUANTITY_FIELDS
    assert set(OriginIn().fields) == ORIGIN_FIELDS
    assert set(DocumentIn().fields) == DOCUMENT_FIELDS
    assert set(BulkIn().fields) == {"items"}


def test_a_usual_body_is_read_quickly():
    item = {
        "cas_rn": "108-24-7",
        "lot_number": "L-1",
        "quantity": {"value": "250.5", "unit": "kg"},
        "facility_id": "F1",
        "origin": {"kind": "imported", "document": "CD-1"},
        "manufactured_on": "2026-11-01",
        "containers": 3,
        "documents": [{"type": "invoice", "number": "INV-1"}],
    }
    quick = plain_bulk_items({"items": [item, {**item, "containers": ["A", "B"]}]})
    assert (
        quick is not None
        and quick == BulkIn().load({"items": [item, {**item, "containers": ["A", "B"]}]})["items"]
    )
    assert plain_bulk_items({"items": [{**item, "containers": 3.0}]}) is None  # BulkIn's call
