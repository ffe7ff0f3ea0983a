"""GS1 CBV 2.0 canonical EPCIS event hash (``ni:///sha-256;<hex>?ver=CBV2.0``).

CBV 2.0 section 8.9 defines a syntax-agnostic fingerprint of an EPCIS event: the event's
fields are written, in a fixed order and with their values normalised, into one "pre-hash"
string, and the SHA-256 digest of that string is the event hash. This module computes it
for EPCIS 2.0 JSON/JSON-LD events (dicts as parsed from JSON).

It is written by hand because no maintained Python library implements the CBV 2.0 event
hash: the reference generator (github.com/RalphTro/epcis-event-hash-generator) is a
prototype script built on pyld and dateutil, not a maintained package. This module needs
the standard library only and follows the reference generator's output where the standard
leaves details open. It is pinned by the reference generator's test vectors, kept in
``tests/data/epcis/event-hash/`` (each ``*.jsonld`` with its ``.hashes``): field order,
TimeStampRoundOff (UTC, half-up rounding to milliseconds), CURIEs and custom ``@context``
namespaces, CBV short names, EPC URN and Digital Link normalisation, quantities, sensor
data, certificationInfo, persistentDisposition, ignored fields (eventID, recordTime,
document-level ``ignoreFields``) and EPCISQueryDocuments.

Where the reference generator's result comes from quirks of its tooling, this module does
the plain thing instead: only strict ISO 8601 timestamps and plain decimal numbers are
normalised, numbers are written without exponents, and unknown keys inside a nested object
(readPoint, sensorReport, ...) are appended, sorted, to that object.

The pre-hash is one algorithm whose field order, normalisations and exceptions are read
against section 8.9 side by side, so it stays in one module; only the writing of GS1 keys
as canonical Digital Link URIs, a standard of its own (the EPC Tag Data Standard and GS1
Digital Link), lives apart in :mod:`registry.epcis.digital_link`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from registry.epcis import cbv
from registry.epcis.digital_link import to_digital_link

Namespaces = Mapping[str, str]
Renderer = Callable[[str, Any, Namespaces], list[str]]
Order = tuple[tuple[str, Renderer], ...]

HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"

# Prefixes the EPCIS 2.0 JSON-LD context declares; a document's own @context overrides them.
DEFAULT_NAMESPACES: dict[str, str] = {
    "epcis": "https://ref.gs1.org/epcis/",
    "cbv": "https://ref.gs1.org/cbv/",
    "cbvmda": "urn:epcglobal:cbv:mda:",
    "gs1": "https://gs1.org/voc/",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}

# What a bare term expands to in the fields the EPCIS context types as "@vocab".
BIZ_STEP, DISPOSITION = cbv.BIZ_STEP.uri, cbv.DISPOSITION.uri
BIZ_TRANSACTION_TYPE = cbv.BIZ_TRANSACTION_TYPE.uri
SOURCE_DESTINATION_TYPE = cbv.SOURCE_DESTINATION_TYPE.uri
COMPONENT = cbv.NAMESPACE + "Comp-"
GS1_VOCABULARY = "https://gs1.org/voc/"

# Pre-2.0 URNs of the standard vocabularies hash like their web-URI equivalents.
_CBV_URNS = {
    c.urn: c.uri
    for c in (
        cbv.BIZ_STEP,
        cbv.DISPOSITION,
        cbv.BIZ_TRANSACTION_TYPE,
        cbv.SOURCE_DESTINATION_TYPE,
        cbv.ERROR_REASON,
    )
}

# Identity and capture bookkeeping, error declarations and comments are not hashed.
_IGNORED_KEYS = frozenset(["eventID", "recordTime", "errorDeclaration", "@context", "comment"])
_RDFS_COMMENT = "{http://www.w3.org/2000/01/rdf-schema#}comment"

_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):?(\d{2}))?$"
)
_DECIMAL = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?$")


def event_hash(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Iterable[str] = ()
) -> str:
    """The CBV 2.0 hash of one EPCIS 2.0 JSON event.

    ``context`` is the enclosing document's ``@context`` (a URL, a dict or a list of them); it
    supplies the namespace prefixes of CURIEs and extension keys. ``ignore_fields`` names
    top-level fields (CURIEs or plain names) to leave out, as a document's ``ignoreFields``
    does.
    """
    pre_hash = event_pre_hash(event, context, ignore_fields=ignore_fields)
    return HASH_PREFIX + hashlib.sha256(pre_hash.encode()).hexdigest() + HASH_SUFFIX


def document_hashes(document: Mapping[str, Any]) -> list[str]:
    """Hashes of every event in an EPCISDocument or EPCISQueryDocument, in document order."""
    context = document.get("@context")
    namespaces = namespaces_from_context(context)
    # A repository may list its own bookkeeping fields under <prefix>:ignoreFields.
    ignore = [
        name
        for key, value in document.items()
        if _local_name(_expand_key(key, namespaces)) == "ignoreFields"
        for name in _as_list(value)
        if isinstance(name, str)
    ]
    return [event_hash(e, context, ignore_fields=ignore) for e in document_events(document)]


def document_events(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The events of an EPCISDocument (``eventList`` or a single ``event``) or query result."""
    body = document.get("epcisBody") or {}
    if "queryResults" in body:
        body = body["queryResults"].get("resultsBody") or {}
    if "event" in body:
        return [body["event"]]
    return list(body.get("eventList") or [])


def event_pre_hash(
    event: Mapping[str, Any], context: Any = None, *, ignore_fields: Iterable[str] = ()
) -> str:
    """The canonical pre-hash string of one event (what :func:`event_hash` digests)."""
    namespaces = namespaces_from_context(event.get("@context"), namespaces_from_context(context))
    ignored = {_expand_key(name, namespaces) for name in ignore_fields}
    ordered = {field for field, _ in EVENT_ORDER}
    rest: list[str] = []
    for key, value in event.items():
        expanded = _expand_key(key, namespaces)
        if key in ordered or key == "type" or expanded in ignored or _is_ignored(key, expanded):
            continue
        rest.extend(_REMAINDER.get(key, generic)(expanded, value, namespaces))
    # Business transactions, sources, destinations, ILMD and extensions follow the ordered
    # fields, all sorted together: that is where the reference generator (and so the test
    # vectors) put them.
    head = f"eventType={event.get('type', '')}"
    return head + _ordered_fields(event, EVENT_ORDER, namespaces) + _joined(rest)


def namespaces_from_context(context: Any, base: Namespaces | None = None) -> dict[str, str]:
    """Prefix -> IRI map from a JSON-LD ``@context`` (a URL, a dict or a list of both)."""
    namespaces = dict(DEFAULT_NAMESPACES if base is None else base)
    for part in context if isinstance(context, list) else [context]:
        if isinstance(part, Mapping):
            for prefix, iri in part.items():
                # Only plain prefix definitions matter for CURIEs, not term definitions.
                if isinstance(iri, str) and not prefix.startswith("@"):
                    namespaces[prefix] = iri
    return namespaces


# --- keys and CURIEs ---------------------------------------------------------------------


def _expand_key(key: str, namespaces: Namespaces) -> str:
    # Extension keys are written {namespace}localName, the way XML spells them.
    prefix, sep, local = key.partition(":")
    return "{" + namespaces[prefix] + "}" + local if sep and prefix in namespaces else key


def _expand_curie(text: str, namespaces: Namespaces) -> str:
    prefix, sep, local = text.partition(":")
    if sep and prefix in namespaces and not local.startswith("//"):
        return namespaces[prefix] + local
    return text


def _local_name(key: str) -> str:
    return key.rpartition("}")[2].rpartition(":")[2]


def _is_ignored(key: str, expanded: str) -> bool:
    return key in _IGNORED_KEYS or expanded == _RDFS_COMMENT


# --- values ------------------------------------------------------------------------------


def normalise_timestamp(text: str) -> str | None:
    """UTC at millisecond precision with a ``Z``; further digits round half up.

    Returns None unless ``text`` is an ISO 8601 date-time. A time without an offset is read
    as UTC (EPCIS requires the offset; this only keeps the result deterministic).
    """
    match = _TIMESTAMP.match(text.strip())
    if match is None:
        return None
    day, clock, fraction, sign, offset_hours, offset_minutes = match.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    offset = timedelta(0)
    if sign:
        offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        offset = -offset if sign == "-" else offset
    millis = Decimal("0." + (fraction or "0")).scaleb(3).quantize(Decimal(1), ROUND_HALF_UP)
    # Adding the rounded milliseconds lets .9995 carry into the next second (or day).
    moment = moment.replace(tzinfo=timezone(offset)) + timedelta(milliseconds=int(millis))
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{utc.microsecond // 1000:03d}Z"


def normalise_number(value: int | float | Decimal | str) -> str:
    """Plain decimal notation without superfluous zeros or ``+``: ``12.0`` -> ``12``."""
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite():
        return str(value)
    text = format(number, "f")
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if number.is_zero() else text


def _canonical_text(text: str, namespaces: Namespaces) -> str:
    text = _expand_curie(text.strip(), namespaces)
    for urn, web_uri in _CBV_URNS.items():
        if text.startswith(urn):
            return web_uri + text[len(urn) :]
    if _DECIMAL.match(text):
        return normalise_number(text)
    return to_digital_link(text) or text


def _canonical_scalar(name: str, value: Any, namespaces: Namespaces, vocab: str | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return normalise_number(value)
    text = str(value).strip()
    local = _local_name(name).lower()
    if "time" in local and "offset" not in local:
        timestamp = normalise_timestamp(text)
        if timestamp is not None:
            return timestamp
    if vocab and text and ":" not in text:
        text = vocab + text  # a CBV/GS1 short name such as "shipping" or "Temperature"
    return _canonical_text(text, namespaces)


# --- renderers: each turns one field into its pre-hash pieces ----------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _joined(pieces: Iterable[str]) -> str:
    # Repeated and unordered elements hash in lexical order, whatever order JSON gave.
    return "".join(sorted(pieces))


def scalar(vocab: str | None = None) -> Renderer:
    """``name=value`` per value; nested objects (ILMD, extensions) sorted throughout."""

    def render(name: str, value: Any, namespaces: Namespaces) -> list[str]:
        pieces = []
        for item in _as_list(value):
            if isinstance(item, Mapping):
                body = _joined(_generic_fields(item, namespaces))
                pieces += [name + body] if body else []
            elif isinstance(item, list):
                pieces += render(name, item, namespaces)
            elif item is not None:
                text = _canonical_scalar(name, item, namespaces, vocab)
                pieces += [f"{name}={text}"] if text else []
        return pieces

    return render


generic = scalar()


def _generic_fields(obj: Mapping[str, Any], namespaces: Namespaces) -> list[str]:
    pieces: list[str] = []
    for key, value in obj.items():
        expanded = _expand_key(key, namespaces)
        if not _is_ignored(key, expanded):
            pieces += generic(expanded, value, namespaces)
    return pieces


def listed(item_name: str, render_item: Renderer) -> Renderer:
    """A list field: its name once, then its elements, sorted, each under ``item_name``."""

    def render(name: str, value: Any, namespaces: Namespaces) -> list[str]:
        items = render_item(item_name, value, namespaces)
        return [name + _joined(items)] if items else []

    return render


def record(order: Order) -> Renderer:
    """An object with a fixed field order; unknown keys (extensions) follow, sorted."""
    known = {field for field, _ in order}

    def render(name: str, value: Any, namespaces: Namespaces) -> list[str]:
        pieces = []
        for item in _as_list(value):
            if not isinstance(item, Mapping):
                pieces += generic(name, item, namespaces)
                continue
            extensions = {k: v for k, v in item.items() if k not in known}
            body = _ordered_fields(item, order, namespaces)
            body += _joined(_generic_fields(extensions, namespaces))
            pieces += [name + body] if body else []
        return pieces

    return render


def _ordered_fields(obj: Mapping[str, Any], order: Order, namespaces: Namespaces) -> str:
    return "".join(
        _joined(render(field, obj[field], namespaces))
        for field, render in order
        if obj.get(field) is not None
    )


def _fields(*names: str, vocab: Mapping[str, str] | None = None) -> Order:
    return tuple((name, scalar((vocab or {}).get(name))) for name in names)


# --- the canonical order (CBV 2.0 section 8.9, as the reference generator applies it) ----

_EPC_LIST = listed("epc", generic)
_QUANTITY_LIST = listed("quantityElement", record(_fields("epcClass", "quantity", "uom")))
_LOCATION = record(_fields("id"))
_SENSOR_METADATA = _fields(
    "time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
    "dataProcessingMethod", "bizRules",
)  # fmt: skip
_SENSOR_REPORT = _fields(
    "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod",
    "time", "microorganism", "chemicalSubstance", "value", "component", "stringValue",
    "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev",
    "percRank", "percValue", "uom", "coordinateReferenceSystem",
    vocab={"type": GS1_VOCABULARY, "exception": GS1_VOCABULARY, "component": COMPONENT},
)  # fmt: skip
_SENSOR_ELEMENT = (
    ("sensorMetadata", record(_SENSOR_METADATA)),
    ("sensorReport", record(_SENSOR_REPORT)),
)
_PERSISTENT_DISPOSITION = _fields("set", "unset", vocab={"set": DISPOSITION, "unset": DISPOSITION})

EVENT_ORDER: Order = (
    *_fields("eventTime", "eventTimeZoneOffset", "certificationInfo", "parentID"),
    ("epcList", _EPC_LIST),
    ("inputEPCList", _EPC_LIST),
    ("childEPCs", _EPC_LIST),
    ("quantityList", _QUANTITY_LIST),
    ("childQuantityList", _QUANTITY_LIST),
    ("inputQuantityList", _QUANTITY_LIST),
    ("outputEPCList", _EPC_LIST),
    ("outputQuantityList", _QUANTITY_LIST),
    *_fields("action", "transformationID", "bizStep", "disposition",
             vocab={"bizStep": BIZ_STEP, "disposition": DISPOSITION}),
    ("persistentDisposition", record(_PERSISTENT_DISPOSITION)),
    ("readPoint", _LOCATION),
    ("bizLocation", _LOCATION),
    ("sensorElementList", listed("sensorElement", record(_SENSOR_ELEMENT))),
)  # fmt: skip


def _typed_links(id_name: str, vocab: str) -> Renderer:
    # Each entry hashes as type=...<id_name>=..., and the entries are sorted.
    return listed("", record(_fields("type", id_name, vocab={"type": vocab})))


_REMAINDER: dict[str, Renderer] = {
    "bizTransactionList": _typed_links("bizTransaction", BIZ_TRANSACTION_TYPE),
    "sourceList": _typed_links("source", SOURCE_DESTINATION_TYPE),
    "destinationList": _typed_links("destination", SOURCE_DESTINATION_TYPE),
}
