"""The registry's events as GS1 EPCIS 2.0 JSON-LD events.

:func:`epcis_event` builds one event as ``registry.epcis.event_types.MAPPING`` says it
becomes, and :func:`query_document` wraps a list of them in an ``EPCISQueryDocument``.

Identifiers. A batch is a lot, so events name it at class level, in ``quantityList`` (or
``inputQuantityList``/``outputQuantityList``), as ``epcClass`` = ``{base_url}/batches/{id}``
(:func:`parse_batch_uri` reads it back). A facility with a GLN is named by its GS1 Digital
Link URI ``https://id.gs1.org/414/{gln}``: an ``urn:epc:id:sgln:`` URN would need the
length of the GS1 Company Prefix inside the GLN, which the registry does not know, whereas
the Digital Link form needs only the 13 digits. A facility without a GLN is
``{base_url}/facilities/{id}``; an organisation is ``{base_url}/organizations/{id}``.

Quantities. EPCIS requires ``quantity`` to be a JSON number. Amounts are exact micro-units
(µg, µL), so a quantity is the exact :class:`~decimal.Decimal` number of kilograms (uom
``KGM``) or litres (``LTR``), never a float. Python's ``json`` module cannot write a
Decimal as a number, and Flask's JSON provider writes it as a string: serialise documents
with :func:`dumps`, which writes each Decimal in plain decimal notation (``0.000001``,
``1234567.891``), digit for digit. A reader that parses numbers as decimals
(``json.loads(text, parse_float=Decimal)``) gets the exact amount back.

Registry data that EPCIS has no field for goes into a few user extension fields, under the
prefix ``ct`` that the document's ``@context`` binds to ``{base_url}/ns/epcis#``:
``ct:eventId`` and ``ct:ledgerIndex`` (the registry event and its ledger leaf), ``ct:casRN``,
``ct:flagged``, ``ct:incidentKind`` (incidents) and ``ct:quantityChange`` (adjustments,
whose signed change is not a quantity of anything).

Each event's ``eventID`` is its CBV 2.0 event hash (:func:`registry.epcis.event_hash.event_hash`),
computed over the event exactly as emitted, without ``eventID``, with the document's
``@context``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from registry.custody.quantities import MASS, VOLUME, decimal_text, parse_quantity
from registry.epcis.event_hash import event_hash
from registry.epcis.event_types import MAPPING, TRANSFORMATION_EVENT
from registry.models import Batch, Event, Facility, Organization, Transfer

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EXTENSION_PREFIX = "ct"
SCHEMA_VERSION = "2.0"

# UN/ECE Recommendation 20 unit codes, and the micro-units in one of them (µg/kg, µL/L).
UNITS_OF_MEASURE: dict[str, tuple[str, int]] = {MASS: ("KGM", 9), VOLUME: ("LTR", 6)}

# Document types as CBV business transaction types; the others get URIs of our own.
BIZ_TRANSACTION_TYPES: dict[str, str] = {
    "invoice": "inv",
    "purchase_order": "po",
    "delivery_note": "desadv",  # a despatch advice
}

# --- identifiers ----------------------------------------------------------------------


def _base(base_url: str) -> str:
    return base_url.rstrip("/")


def batch_uri(base_url: str, batch_id: str) -> str:
    return f"{_base(base_url)}/batches/{batch_id}"


def organization_uri(base_url: str, organization_id: str) -> str:
    return f"{_base(base_url)}/organizations/{organization_id}"


def location_uri(base_url: str, facility: Facility) -> str:
    """The facility's GS1 Digital Link URI (from its GLN), else a URI of the registry's."""
    gln = facility.gln
    if gln is not None and len(gln) == 13 and gln.isdigit():
        return f"https://id.gs1.org/414/{gln}"
    return f"{_base(base_url)}/facilities/{facility.id}"


def location_uris(base_url: str, facility: Facility) -> tuple[str, ...]:
    """Every URI that names the facility in a captured event: its GS1 Digital Link (what
    the registry writes, where it has a GLN) and the registry's own URI for it."""
    own = f"{_base(base_url)}/facilities/{facility.id}"
    written = location_uri(base_url, facility)
    return (written,) if written == own else (written, own)


def extension_namespace(base_url: str) -> str:
    return f"{_base(base_url)}/ns/epcis#"


def context(base_url: str) -> list[Any]:
    """The ``@context`` of the documents: EPCIS 2.0's, and the ``ct`` extension prefix."""
    return [EPCIS_CONTEXT, {EXTENSION_PREFIX: extension_namespace(base_url)}]


def parse_batch_uri(base_url: str, uri: str) -> str | None:
    """The batch id in an ``epcClass`` URI made by this module, or None if it is not one.

    For the ``MATCH_epc`` and ``MATCH_anyEPCClass`` query parameters: anything else (another
    base URL, a longer path, a query string or fragment) names no batch of ours.
    """
    prefix = f"{_base(base_url)}/batches/"
    if not uri.startswith(prefix):
        return None
    batch_id = uri[len(prefix) :]
    if not batch_id or len(batch_id) > 26 or not batch_id.isascii() or not batch_id.isalnum():
        return None
    return batch_id


def _document_uri(base_url: str, document: Mapping[str, str]) -> dict[str, str]:
    kind, number = document["type"], document["number"]
    kind_uri = BIZ_TRANSACTION_TYPES.get(kind) or f"{extension_namespace(base_url)}BTT-{kind}"
    number_uri = f"{_base(base_url)}/documents/{quote(kind, safe='')}/{quote(number, safe='')}"
    return {"type": kind_uri, "bizTransaction": number_uri}


# --- quantities and times -------------------------------------------------------------


def quantity_element(
    base_url: str, batch_id: str, dimension: str | None = None, micro: int | None = None
) -> dict[str, Any]:
    """``{"epcClass", "quantity", "uom"}``; without an amount, the class alone."""
    element: dict[str, Any] = {"epcClass": batch_uri(base_url, batch_id)}
    if dimension is not None and micro is not None:
        element["quantity"], element["uom"] = exact_quantity(dimension, micro)
    return element


def exact_quantity(dimension: str, micro: int) -> tuple[Decimal, str]:
    """``micro`` micro-units as an exact Decimal of kg or L, and its UN/ECE unit code."""
    uom, exponent = UNITS_OF_MEASURE[dimension]
    return Decimal(decimal_text(Decimal(micro).scaleb(-exponent))), uom


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds (``2026-05-01T08:30:00.125Z``), truncated."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


# --- events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class References:
    """What to load before converting some events: ids of batches, facilities, parties."""

    batch_ids: frozenset[str]
    facility_ids: frozenset[str]
    organization_ids: frozenset[str]
    transfer_ids: frozenset[str]


def references(events: Iterable[Event]) -> References:
    """The ids :func:`epcis_event` will look up for ``events`` (the organisations are those
    the events name; a transfer's parties are read from the transfer itself)."""
    batches: set[str] = set()
    facilities: set[str] = set()
    organizations: set[str] = set()
    transfers: set[str] = set()
    for event in events:
        details = event.details or {}
        batches.add(event.batch_id)
        batches.update(filter(None, [event.related_batch_id]))
        batches.update(str(child) for child in details.get("children") or [])
        facilities.update(filter(None, [event.facility_id]))
        organizations.add(event.organization_id)
        if details.get("to_organization_id"):
            organizations.add(str(details["to_organization_id"]))
        transfers.update(filter(None, [event.transfer_id]))
    return References(
        frozenset(batches), frozenset(facilities), frozenset(organizations), frozenset(transfers)
    )


def epcis_event(
    event: Event,
    batches: Mapping[str, Batch],
    organizations: Mapping[str, Organization],
    facilities: Mapping[str, Facility],
    base_url: str,
    *,
    transfers: Mapping[str, Transfer] | None = None,
) -> dict[str, Any]:
    """``event`` as an EPCIS 2.0 event (a dict; serialise it with :func:`dumps`).

    ``batches``, ``facilities`` and ``transfers`` map ids to rows the caller loaded
    (:func:`references` says which). Batches are read for the lot number of new batches and
    the parts of a split, facilities for their GLN; party URIs need only the organisation's
    id, so ``organizations`` is not read (yet). Without ``transfers``, a receipt cannot name
    its sender, nor a return the receiver who rejected it: those are then left out.
    """
    mapping = MAPPING.get(event.type)
    if mapping is None:
        raise ValueError(f"No EPCIS mapping for event type {event.type!r}.")
    details: Mapping[str, Any] = event.details or {}
    when = timestamp(event.recorded_at)
    body: dict[str, Any] = {
        "type": mapping.epcis_type,
        "eventTime": when,
        "eventTimeZoneOffset": "+00:00",
        "recordTime": when,
    }
    if mapping.epcis_type == TRANSFORMATION_EVENT:
        body |= _transformation_lists(event, batches, base_url)
    else:
        body["action"] = mapping.action
        body["quantityList"] = [_quantity_of(event, base_url)]
    body["bizStep"] = mapping.biz_step
    disposition = mapping.disposition_for(details)
    if disposition is not None:
        body["disposition"] = disposition
    if mapping.persistent is not None:
        body["persistentDisposition"] = {k: list(v) for k, v in mapping.persistent.items()}
    if event.facility_id is not None:
        location = {"id": location_uri(base_url, _get(facilities, event.facility_id, "facility"))}
        body["readPoint"] = location
        if mapping.at_location:
            body["bizLocation"] = dict(location)
    if event.documents:
        body["bizTransactionList"] = [_document_uri(base_url, d) for d in event.documents]
    body |= _parties(event, base_url, transfers or {})
    if mapping.action == "ADD":
        body["ilmd"] = _lot_master_data(_get(batches, event.batch_id, "batch"))
    body |= _extensions(event, base_url)
    return {"eventID": event_hash(body, context(base_url)), **body}


def _get(rows: Mapping[str, Any], key: str, kind: str) -> Any:
    try:
        return rows[key]
    except KeyError:
        raise KeyError(f"{kind} {key} was not loaded") from None


def _quantity_of(event: Event, base_url: str) -> dict[str, Any]:
    if event.type == "adjusted":
        # Its quantity is a signed change, not an amount of anything: see ct:quantityChange.
        return quantity_element(base_url, event.batch_id)
    micro = event.quantity_micro
    observed = (event.details or {}).get("observed_quantity")
    if event.type == "inspected" and isinstance(observed, dict):
        micro = parse_quantity(observed, allow_zero=True)[0].micro  # what the inspector saw
    return quantity_element(base_url, event.batch_id, event.dimension, micro)


def _transformation_lists(
    event: Event, batches: Mapping[str, Batch], base_url: str
) -> dict[str, Any]:
    dimension, details = event.dimension, event.details or {}
    inputs = [quantity_element(base_url, event.batch_id, dimension, event.quantity_micro)]
    if event.type == "split":
        children = [_get(batches, str(c), "batch") for c in details.get("children") or []]
        outputs = [
            quantity_element(base_url, c.id, c.dimension, c.initial_quantity_micro)
            for c in children
        ]
        return {"inputQuantityList": inputs, "outputQuantityList": outputs}
    # One "transformed" event per input; the output's quantity is in its own registration
    # (repeating it here would count it once per input), and transformationID ties the
    # inputs of one transformation together: it is named after its only output batch.
    output = event.related_batch_id or str(details["output_batch_id"])
    return {
        "inputQuantityList": inputs,
        "outputQuantityList": [quantity_element(base_url, output)],
        "transformationID": f"{_base(base_url)}/transformations/{output}",
    }


def _parties(event: Event, base_url: str, transfers: Mapping[str, Transfer]) -> dict[str, Any]:
    """sourceList and destinationList of shipments, receipts and returns."""
    details = event.details or {}
    source: list[tuple[str, str]] = []  # (CBV source/destination type, organisation id)
    destination: list[tuple[str, str]] = []
    transfer = transfers.get(event.transfer_id) if event.transfer_id else None
    both = ("owning_party", "possessing_party")
    if event.type in ("shipped", "dispatched"):
        source = [(kind, event.organization_id) for kind in both]
        destination = [(kind, str(details["to_organization_id"])) for kind in both]
    elif event.type == "received":
        destination = [(kind, event.organization_id) for kind in both]
        if transfer is not None:
            source = [(kind, transfer.from_organization_id) for kind in both]
    elif event.type == "returned":
        destination = [(kind, event.organization_id) for kind in both]
        if transfer is not None:  # the receiver had the goods, never their ownership
            source = [("possessing_party", transfer.to_organization_id)]
    parties: dict[str, Any] = {}
    if source:
        parties["sourceList"] = [
            {"type": kind, "source": organization_uri(base_url, org)} for kind, org in source
        ]
    if destination:
        parties["destinationList"] = [
            {"type": kind, "destination": organization_uri(base_url, org)}
            for kind, org in destination
        ]
    return parties


def _lot_master_data(batch: Batch) -> dict[str, str]:
    """Instance/lot master data of a new batch, in CBV's master-data attributes."""
    ilmd = {"cbvmda:lotNumber": batch.lot_number}
    if batch.expires_on is not None:
        ilmd["cbvmda:itemExpirationDate"] = batch.expires_on.isoformat()
    return ilmd


def _extensions(event: Event, base_url: str) -> dict[str, Any]:
    p = EXTENSION_PREFIX
    fields: dict[str, Any] = {f"{p}:eventId": event.id, f"{p}:ledgerIndex": event.ledger_index}
    if event.cas_rn is not None:
        fields[f"{p}:casRN"] = event.cas_rn
    fields[f"{p}:flagged"] = bool(event.flagged)
    if event.type == "incident":
        fields[f"{p}:incidentKind"] = str((event.details or {}).get("kind"))
    if event.type == "adjusted" and event.dimension and event.quantity_delta_micro is not None:
        change, uom = exact_quantity(event.dimension, event.quantity_delta_micro)
        fields[f"{p}:quantityChange"] = {f"{p}:quantity": change, f"{p}:uom": uom}
    return fields


# --- documents ------------------------------------------------------------------------


def query_document(
    events: list[dict[str, Any]],
    base_url: str,
    query_name: str = "SimpleEventQuery",
    subscription_id: str | None = None,
) -> dict[str, Any]:
    """An ``EPCISQueryDocument`` with ``events`` (from :func:`epcis_event`, same base URL)."""
    results: dict[str, Any] = {"queryName": query_name}
    if subscription_id is not None:
        results["subscriptionID"] = subscription_id
    results["resultsBody"] = {"eventList": events}
    return {
        "@context": context(base_url),
        "type": "EPCISQueryDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": timestamp(datetime.now(UTC)),
        "epcisBody": {"queryResults": results},
    }


def dumps(value: Any) -> str:
    """Compact JSON in which every Decimal is a number written digit for digit.

    Decimals are written in plain notation (no exponent) by
    :func:`registry.custody.quantities.decimal_text`; everything else as :func:`json.dumps` would.
    """
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts)


def _encode(value: Any, parts: list[str]) -> None:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a JSON number")
        parts.append(decimal_text(value))
    elif isinstance(value, Mapping):
        parts.append("{")
        for position, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys are strings, not {type(key).__name__}")
            parts.append(("," if position else "") + json.dumps(key) + ":")
            _encode(item, parts)
        parts.append("}")
    elif isinstance(value, list | tuple):
        parts.append("[")
        for position, item in enumerate(value):
            if position:
                parts.append(",")
            _encode(item, parts)
        parts.append("]")
    else:
        parts.append(json.dumps(value, allow_nan=False))
