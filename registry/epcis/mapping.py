"""The registry's events as GS1 EPCIS 2.0 JSON-LD events.

:data:`MAPPING` says, for each registry event type, which EPCIS event it becomes and with
which action, CBV 2.0 business step and disposition; :func:`epcis_event` builds one event
and :func:`query_document` wraps a list of them in an ``EPCISQueryDocument``. The filter
helpers (:func:`types_for_event_type`, :func:`types_for_biz_step`,
:func:`types_for_disposition`) read the same table backwards, so that EPCIS query parameters
(``eventType``, ``EQ_bizStep``, ``EQ_disposition``) become registry event types.

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
from typing import Any, Literal
from urllib.parse import quote

from registry.custody.quantities import MASS, VOLUME, decimal_text, parse_quantity
from registry.epcis import cbv
from registry.epcis.event_hash import event_hash
from registry.models import Batch, Event, Facility, Organization, Transfer

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
EXTENSION_PREFIX = "ct"
SCHEMA_VERSION = "2.0"

OBJECT_EVENT = "ObjectEvent"
TRANSFORMATION_EVENT = "TransformationEvent"

Action = Literal["ADD", "OBSERVE", "DELETE"]

# UN/ECE Recommendation 20 unit codes, and the micro-units in one of them (µg/kg, µL/L).
UNITS_OF_MEASURE: dict[str, tuple[str, int]] = {MASS: ("KGM", 9), VOLUME: ("LTR", 6)}

# Document types as CBV business transaction types; the others get URIs of our own.
BIZ_TRANSACTION_TYPES: dict[str, str] = {
    "invoice": "inv",
    "purchase_order": "po",
    "delivery_note": "desadv",  # a despatch advice
}

# How full URIs and compact IRIs of the EPCIS vocabulary's event types begin.
_EVENT_TYPE_FORMS = ("https://ref.gs1.org/epcis/", "epcis:")


@dataclass(frozen=True)
class EventMapping:
    """What one registry event type becomes in EPCIS.

    ``disposition`` is the CBV disposition of the quantity the event names after the
    event, or None where the event says nothing about it. ``disposition_by`` picks the
    disposition from a field of the event's details instead (``(key, {value: disposition})``).
    ``persistent`` is a ``persistentDisposition`` (``{"set": (...)}`` or ``{"unset": (...)}``).
    ``at_location`` is False when the quantity is no longer at the facility after the event
    (in transit, gone, out of custody): the event then has a readPoint but no bizLocation.
    """

    epcis_type: str
    action: Action | None
    biz_step: str
    disposition: str | None = None
    disposition_by: tuple[str, Mapping[str, str]] | None = None
    persistent: Mapping[str, tuple[str, ...]] | None = None
    at_location: bool = True

    def disposition_for(self, details: Mapping[str, Any]) -> str | None:
        if self.disposition_by is not None:
            key, choices = self.disposition_by
            return choices.get(str(details.get(key)), self.disposition)
        return self.disposition

    @property
    def dispositions(self) -> frozenset[str]:
        """Every disposition an event of this type may carry."""
        found = set(self.disposition_by[1].values()) if self.disposition_by else set()
        return frozenset(found | ({self.disposition} if self.disposition else set()))


def _object(action: Action, biz_step: str, disposition: str | None, **kw: Any) -> EventMapping:
    return EventMapping(OBJECT_EVENT, action, biz_step, disposition, **kw)


def _transformation(biz_step: str, disposition: str) -> EventMapping:
    return EventMapping(TRANSFORMATION_EVENT, None, biz_step, disposition)


MAPPING: dict[str, EventMapping] = {
    # A new batch is a new class-level identifier: CBV 2.0 "commissioning" associates a
    # class-level identifier not used before with objects (creating_class_instance would
    # be another increment of an existing class). Imports and transformation outputs are
    # registered the same way: the registry commissions their identity.
    "registered": _object("ADD", "commissioning", "active"),
    # Signed labels written for a batch that already exists. "encoding" is the CBV step for
    # writing identifiers to labels; no disposition ("encoded" would mean not yet
    # commissioned, and the batch may be active or in transit).
    "identifiers_issued": _object("OBSERVE", "encoding", None),
    # A parent divided into child batches, each its own lot portion in its own containers.
    "split": _transformation("repackaging", "active"),
    # A child of a split, and (below) the in-transit batch of a shipment: new identifiers.
    "created": _object("ADD", "commissioning", "active"),
    "shipped": _object("OBSERVE", "shipping", "in_transit", at_location=False),
    # The in-transit batch comes into being with the shipped quantity; "commissioning" and
    # not "shipping", so that EQ_bizStep=shipping finds each shipment once.
    "dispatched": _object("ADD", "commissioning", "in_transit", at_location=False),
    "received": _object("OBSERVE", "receiving", "active"),
    # A rejected shipment: the sender takes the goods back into its stock, so "receiving"
    # (at the sender's facility), and "returned" says why (void_shipping would claim the
    # goods never left).
    "returned": _object("OBSERVE", "receiving", "returned"),
    # CBV has no step for using a substance up in one's own process: "other", and DELETE
    # because that quantity of the lot no longer exists; "inactive": out of the supply chain.
    "consumed": _object("DELETE", "other", "inactive", at_location=False),
    "disposed": _object("DELETE", "destroying", "destroyed", at_location=False),
    # The quantity leaves the country (and the registry): it is shipped, still exists.
    "exported": _object("OBSERVE", "shipping", "in_transit", at_location=False),
    # A loss, theft or spill, reported by the holder. CBV has neither a step for it nor a
    # "lost" disposition: a loss is "unknown" (where it is), a spilled quantity "destroyed".
    "incident": _object(
        "OBSERVE",
        "other",
        "unknown",
        disposition_by=("kind", {"theft": "stolen", "loss": "unknown", "spill": "destroyed"}),
        at_location=False,
    ),
    # Recall and suspension segregate goods for review: "holding". A suspension is undone
    # by a release, so it also sets a persistent disposition that the release unsets; a
    # release restores whatever status came before (active, in transit or recalled), which
    # the event does not record, so it asserts no disposition of its own.
    "recalled": _object("OBSERVE", "holding", "recalled"),
    "suspended": _object(
        "OBSERVE",
        "holding",
        "non_sellable_other",
        persistent={"set": ("non_sellable_other",)},
    ),
    "released": _object("OBSERVE", "holding", None, persistent={"unset": ("non_sellable_other",)}),
    # CBV 2.0's conformance dispositions; a discrepancy is a quantity that does not match.
    "inspected": _object(
        "OBSERVE",
        "inspecting",
        None,
        disposition_by=(
            "result",
            {"pass": "conformant", "fail": "non_conformant", "discrepancy": "mismatch_quantity"},
        ),
    ),
    # A stock count for the regulator's accounts: "stock_taking" (cycle_counting is for
    # counts with other purposes, such as replenishment).
    "adjusted": _object("OBSERVE", "stock_taking", None),
    # One event per input of a transformation, linked by transformationID; "commissioning"
    # as in GS1's TransformationEvent examples, since the output is newly commissioned.
    "transformed": _transformation("commissioning", "active"),
}


# --- EPCIS query parameters -> registry event types -------------------------------------


def types_for_event_type(name: str) -> set[str]:
    """Registry event types that become EPCIS events of type ``name`` (``eventType``)."""
    short = cbv.short_name(name.strip(), _EVENT_TYPE_FORMS)
    return {t for t, m in MAPPING.items() if m.epcis_type == short}


def types_for_biz_step(step: str) -> set[str]:
    """Registry event types whose EPCIS events have business step ``step`` (``EQ_bizStep``).

    ``step`` is a CBV short name (``shipping``) or URI (``https://ref.gs1.org/cbv/BizStep-
    shipping``, ``cbv:BizStep-shipping``, ``urn:epcglobal:cbv:bizstep:shipping``).
    """
    short = cbv.BIZ_STEP.short(step.strip())
    return {t for t, m in MAPPING.items() if m.biz_step == short}


def types_for_disposition(disposition: str) -> set[str]:
    """Registry event types whose EPCIS events may have ``disposition`` (``EQ_disposition``).

    For incidents and inspections the disposition depends on the event's details (the kind
    of incident, the inspection's result): filter the events of those types further with
    :func:`disposition_of`.
    """
    short = short_disposition(disposition)
    return {t for t, m in MAPPING.items() if short in m.dispositions}


def short_disposition(disposition: str) -> str | None:
    """A disposition's CBV short name, from a short name, a URI or a CURIE."""
    return cbv.DISPOSITION.short(disposition.strip())


def disposition_of(event: Event) -> str | None:
    """The CBV disposition (short name) that ``event``'s EPCIS event carries, if any."""
    return MAPPING[event.type].disposition_for(event.details or {})


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
