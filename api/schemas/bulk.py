"""``batches:bulk`` items read without marshmallow when they are plainly valid.

``BulkIn`` (marshmallow) is the definition of what a bulk body may hold, and it answers
every refusal. Loading 500 items through it costs a quarter of a bulk request's CPU
(a few hundred microseconds per item, most of it marshmallow's per-field machinery), so a
body whose every item passes the plain checks below is read here instead, into exactly
what ``BulkIn`` would load. Anything else (a float where a number of containers goes, a
date in another ISO form, a key out of place, any doubt) returns None and goes through
``BulkIn``, which accepts or refuses it with its own errors. These checks may only be
narrower than ``BulkIn``, never wider: tests/api/schemas/test_bulk.py holds them to that
with hypothesis, and fails when a field is added to one and not the other.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from api.schemas.batches import DOCUMENT_TYPES
from api.schemas.common import has_surrounding_whitespace, is_blank

MAX_ITEMS = 1000
ITEM_FIELDS = frozenset(
    {
        "cas_rn",
        "lot_number",
        "quantity",
        "concentration_pct",
        "density_kg_per_l",
        "facility_id",
        "origin",
        "manufactured_on",
        "expires_on",
        "containers",
        "documents",
    }
)
REQUIRED_FIELDS = frozenset({"cas_rn", "lot_number", "quantity", "facility_id", "origin"})
QUANTITY_FIELDS = frozenset({"value", "unit"})
ORIGIN_FIELDS = frozenset({"kind", "document"})
ORIGIN_KINDS = ("produced", "imported")
DOCUMENT_FIELDS = frozenset({"type", "number"})
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # the one ISO form read here


def plain_bulk_items(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The items of a bulk body as ``BulkIn`` loads them, or None to let ``BulkIn`` decide."""
    items = body.get("items")
    if body.keys() != {"items"} or type(items) is not list or not 1 <= len(items) <= MAX_ITEMS:
        return None
    loaded = []
    for item in items:
        one = _plain_item(item)
        if one is None:
            return None
        loaded.append(one)
    return loaded


def _string(value: Any, most: int, least: int = 1) -> bool:
    return type(value) is str and least <= len(value) <= most


def _text(value: Any, most: int) -> bool:
    """``common.text``: 1 to ``most`` characters, not only whitespace."""
    return _string(value, most) and not is_blank(value)


def _optional(value: Any, most: int) -> bool:
    return value is None or _string(value, most)


def _serials(value: Any) -> bool:
    """``ContainersField``: a whole number (not a boolean, not a float) or serials."""
    if value is None or type(value) is int:
        return True
    return type(value) is list and all(
        type(s) is str and 0 < len(s) <= 64 and not has_surrounding_whitespace(s) for s in value
    )


def _documents(value: Any) -> bool:
    return (
        type(value) is list
        and len(value) <= 20
        and all(
            type(d) is dict
            and d.keys() == DOCUMENT_FIELDS
            and d["type"] in DOCUMENT_TYPES
            and _text(d["number"], 100)
            for d in value
        )
    )


def _day(value: Any) -> tuple[bool, date | None]:
    if value is None:
        return True, None
    if type(value) is not str or not _DAY.fullmatch(value):
        return False, None
    try:
        return True, date.fromisoformat(value)
    except ValueError:
        return False, None


def _plain_item(item: Any) -> dict[str, Any] | None:
    if type(item) is not dict or not REQUIRED_FIELDS <= item.keys() <= ITEM_FIELDS:
        return None
    quantity, origin = item["quantity"], item["origin"]
    documents = item.get("documents", [])
    plain = (
        _string(item["cas_rn"], 20, least=0)
        and _text(item["lot_number"], 100)
        and _string(item["facility_id"], 64)
        and _optional(item.get("concentration_pct"), 20)
        and _optional(item.get("density_kg_per_l"), 20)
        and type(quantity) is dict
        and quantity.keys() == QUANTITY_FIELDS
        and _string(quantity["value"], 40)
        and _string(quantity["unit"], 8)
        and type(origin) is dict
        and "kind" in origin
        and origin.keys() <= ORIGIN_FIELDS
        and origin["kind"] in ORIGIN_KINDS
        and _optional(origin.get("document"), 100)
        and _serials(item.get("containers"))
        and _documents(documents)
    )
    made_ok, made = _day(item.get("manufactured_on"))
    expires_ok, expires = _day(item.get("expires_on"))
    if not (plain and made_ok and expires_ok):
        return None
    return {
        "cas_rn": item["cas_rn"],
        "lot_number": item["lot_number"],
        "quantity": {"value": quantity["value"], "unit": quantity["unit"]},
        "concentration_pct": item.get("concentration_pct"),
        "density_kg_per_l": item.get("density_kg_per_l"),
        "facility_id": item["facility_id"],
        "origin": {"kind": origin["kind"], "document": origin.get("document")},
        "manufactured_on": made,
        "expires_on": expires,
        "containers": item.get("containers"),
        "documents": [{"type": d["type"], "number": d["number"]} for d in documents],
    }
