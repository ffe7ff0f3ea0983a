"""EPCIS 2.0 capture: an enterprise's EPCISDocument recorded as registry operations.

A document is checked whole first (:func:`events_of`): valid EPCIS 2.0, with the EPCIS
``@context`` in either of GS1's forms, at most :data:`MAX_EVENTS` events; if not, it is
refused and nothing is done. Then :func:`apply` maps and records each event in a SAVEPOINT
of the caller's transaction (``registry.ledger.events.savepoint``), so an event that cannot
be recorded leaves nothing behind. With ``proceed`` the good events stay and the bad are
listed; otherwise (``rollback``, the default) one bad event undoes them all. What maps:

- ObjectEvent ADD, bizStep commissioning or creating_class_instance: a registration. The
  substance is the `ct:casRN` extension (CAS RNs are not GS1 keys), the lot `ct:lotNumber`
  or ILMD `cbvmda:lotNumber`, the quantity its one quantityList entry, the facility its
  bizLocation (one of the enterprise's facilities, by our URI or by GLN).
- ObjectEvent OBSERVE shipping of one of our batches (epcClass = its batch URI) to an
  organisation named in destinationList (owning_party): a shipment.
- ObjectEvent OBSERVE receiving of a batch in transit to the enterprise: its receipt.
- ObjectEvent DELETE destroying: disposal; DELETE with another bizStep: consumption.
- TransformationEvent: inputs from inputQuantityList (our batches), one output from
  outputQuantityList with `ct:casRN` and a lot number, at the bizLocation facility.

Anything else (AggregationEvent, AssociationEvent, TransactionEvent, GS1 keys the registry
does not know) is refused with its reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from sqlalchemy import select

from registry.access.credentials import Principal
from registry.custody import operations, transfers, transformations
from registry.custody.batches import BatchSpec, register
from registry.db import db
from registry.epcis import cbv, mapping
from registry.errors import DomainError, FieldError, LimitExceeded, Malformed, message
from registry.ledger import events as ledger_events
from registry.models import Facility, Transfer

UOM_UNITS = {"KGM": "kg", "GRM": "g", "TNE": "t", "LTR": "L", "MLT": "mL", "MTQ": "m3"}
COMMISSIONING = {"commissioning", "creating_class_instance"}
# As many events as a bulk registration takes batches: one capture is one transaction.
MAX_EVENTS = 1000
# GS1 publishes the EPCIS 2.0 context under both addresses; either names it.
EPCIS_CONTEXTS = frozenset(
    {
        "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    }
)
ROLLBACK, PROCEED = "rollback", "proceed"


class DocumentInvalid(Malformed):
    code = "epcis_invalid"
    title = message("The EPCIS document is not valid")


class CaptureLimitExceeded(LimitExceeded):
    code = "epcis_capture_limit"
    title = message("Too many EPCIS events at once")


class CaptureRefused(Malformed):
    """A single event (POST /epcis/events) that cannot be recorded."""

    code = "epcis_unmappable"
    title = message("Some EPCIS events cannot be recorded")


class _Unmappable(Exception):
    pass


class _Undo(Exception):
    pass


@cache
def _validator() -> Draft7Validator:
    text = resources.files("registry.data").joinpath("EPCIS-JSON-Schema.json").read_text()
    return Draft7Validator(json.loads(text))


@dataclass(frozen=True)
class Captured:
    """What one event became: the operation and the id of what it made or moved (the new
    batch, the transfer, or for a consumption or disposal the event)."""

    index: int
    operation: str
    object_id: str


@dataclass(frozen=True)
class Refusal:
    """Why event ``index`` was not recorded; ``message`` is a translatable Message."""

    index: int
    code: str
    message: str


@dataclass
class Outcome:
    captured: list[Captured] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


def _invalid(detail: str, errors: list[FieldError]) -> DocumentInvalid:
    return DocumentInvalid(detail, field_errors=errors)


def _names_epcis_context(context: Any) -> bool:
    parts = context if isinstance(context, list) else [context]
    return any(isinstance(p, str) and p in EPCIS_CONTEXTS for p in parts)


def _event_list(document: Any) -> Any:
    """The eventList of an EPCISDocument, or of an EPCISQueryDocument's results (the
    binding's capture takes both)."""
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if isinstance(body, dict) and document.get("type") == "EPCISQueryDocument":
        results = body.get("queryResults")
        body = results.get("resultsBody") if isinstance(results, dict) else None
    return body.get("eventList") if isinstance(body, dict) else None


def events_of(document: Any, *, single: bool = False) -> list[dict[str, Any]]:
    """The events of an EPCISDocument (or, ``single``, the one event posted alone), after
    checking the whole: raise :class:`DocumentInvalid` or :class:`CaptureLimitExceeded`."""
    event_list = _event_list(document)
    if not single and isinstance(event_list, list) and len(event_list) > MAX_EVENTS:
        raise CaptureLimitExceeded(
            message(
                "A capture takes at most {max_events} events; split the document.",
                max_events=MAX_EVENTS,
            ),
            field_errors=[
                FieldError(
                    "epcisBody.eventList",
                    message(
                        "{count} events; at most {max_events}.",
                        count=len(event_list),
                        max_events=MAX_EVENTS,
                    ),
                    "too_many_events",
                )
            ],
        )
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise _invalid(
            message("The document is not a valid EPCIS 2.0 document."),
            [
                FieldError(
                    ".".join(str(p) for p in e.absolute_path) or "document",
                    e.message[:300],
                    "epcis_invalid",
                )
                for e in errors[:20]
            ],
        )
    kind = document.get("type")
    if single and kind in ("EPCISDocument", "EPCISQueryDocument"):
        raise _invalid(
            message("Send one EPCIS event here; documents go to /capture."),
            [FieldError("type", message("Send an EPCIS event."), "epcis_invalid")],
        )
    if not single and kind not in ("EPCISDocument", "EPCISQueryDocument"):
        raise _invalid(
            message("Capture takes an EPCISDocument or an EPCISQueryDocument."),
            [FieldError("type", message("Send an EPCISDocument."), "epcis_invalid")],
        )
    if not _names_epcis_context(document.get("@context")):
        raise _invalid(
            message("The @context must name the EPCIS 2.0 context."),
            [
                FieldError(
                    "@context",
                    message(
                        "Name {context} (or its 2.0.0 form).",
                        context=min(EPCIS_CONTEXTS, key=len),
                    ),
                    "epcis_invalid",
                )
            ],
        )
    if single:
        return [document]
    events = _event_list(document) or []
    if not events:
        raise _invalid(
            message("The document has no events."),
            [FieldError("epcisBody.eventList", message("No events."), "epcis_invalid")],
        )
    return events


def apply(
    events: list[dict[str, Any]], actor: Principal, base_url: str, behaviour: str = ROLLBACK
) -> Outcome:
    """Record each event in a savepoint of its own. With ``rollback`` one refusal undoes
    every event (the outcome lists every refusal and nothing captured)."""
    context = Context(actor, base_url)
    outcome = Outcome()
    try:
        with ledger_events.savepoint():
            for index, event in enumerate(events):
                try:
                    with ledger_events.savepoint():
                        outcome.captured.append(Captured(index, *context.apply(event)))
                except _Unmappable as reason:
                    outcome.refusals.append(Refusal(index, "unmappable", reason.args[0]))
                except DomainError as error:
                    outcome.refusals.append(Refusal(index, error.code, error.detail))
            if behaviour != PROCEED and outcome.refusals:
                raise _Undo
    except _Undo:
        outcome.captured.clear()
    return outcome


def refusal_errors(refusals: list[Refusal]) -> list[FieldError]:
    return [FieldError(f"epcisBody.eventList.{r.index}", r.message, r.code) for r in refusals]


def _extension(event: dict[str, Any], name: str) -> Any:
    for key in (f"ct:{name}", name):
        if key in event:
            return event[key]
    return None


@dataclass
class Context:
    actor: Principal
    base_url: str

    def apply(self, event: dict[str, Any]) -> tuple[str, str]:
        kind, action, biz_step = event.get("type"), event.get("action"), event.get("bizStep")
        # Any CBV form (bare word, cbv: compact IRI, full URI) of a standard step.
        step = cbv.BIZ_STEP.short(biz_step) if isinstance(biz_step, str) else None
        if kind == "ObjectEvent" and action == "ADD" and step in COMMISSIONING:
            return "registration", self._register(event).id
        if kind == "ObjectEvent" and action == "OBSERVE" and step == "shipping":
            return "shipment", self._ship(event).id
        if kind == "ObjectEvent" and action == "OBSERVE" and step == "receiving":
            return "receipt", self._receive(event).id
        if kind == "ObjectEvent" and action == "DELETE":
            operation = "dispose" if step == "destroying" else "consume"
            return operation, self._take_out(event, operation).id
        if kind == "TransformationEvent":
            return "transformation", self._transform(event).id
        raise _Unmappable(
            message(
                "No registry operation records a {kind} with action {action} "
                "and bizStep {biz_step}.",
                kind=kind,
                action=action,
                biz_step=biz_step,
            )
        )

    # --- reading the event ----------------------------------------------------------

    def _quantity(self, element: dict[str, Any]) -> dict[str, str]:
        unit = UOM_UNITS.get(element.get("uom", ""))
        if unit is None or "quantity" not in element:
            raise _Unmappable(
                message("A quantity needs a uom of {units}.", units=", ".join(UOM_UNITS))
            )
        value = Decimal(str(element["quantity"]))
        return {"value": format(value.normalize(), "f"), "unit": unit}

    def _one(self, event: dict[str, Any], key: str) -> dict[str, Any]:
        elements = event.get(key) or []
        if len(elements) != 1:
            raise _Unmappable(
                message(
                    "Exactly one {key} entry is needed, not {count}.", key=key, count=len(elements)
                )
            )
        return elements[0]

    def _batch(self, element: dict[str, Any]) -> str:
        uri = element.get("epcClass", "")
        batch_id = mapping.parse_batch_uri(self.base_url, uri)
        if batch_id is None:
            raise _Unmappable(message("{uri} is not a batch of this registry.", uri=uri))
        return batch_id

    def _facility(self, event: dict[str, Any]) -> str:
        location = (event.get("bizLocation") or {}).get("id", "")
        facilities = db.session.scalars(
            select(Facility).where(Facility.organization_id == self.actor.organization_id)
        )
        for facility in facilities:
            if location == mapping.location_uri(self.base_url, facility):
                return facility.id
        raise _Unmappable(
            message(
                "bizLocation {location} is not one of your facilities.",
                location=location or "(none)",
            )
        )

    def _lot(self, event: dict[str, Any]) -> str:
        ilmd = event.get("ilmd") or {}
        lot = _extension(event, "lotNumber") or ilmd.get("cbvmda:lotNumber")
        if not isinstance(lot, str) or not lot:
            raise _Unmappable(
                message("A lot number is needed: ct:lotNumber or ilmd cbvmda:lotNumber.")
            )
        return lot

    def _spec(self, event: dict[str, Any], element: dict[str, Any], origin: str) -> BatchSpec:
        cas_rn = _extension(event, "casRN")
        if not isinstance(cas_rn, str):
            raise _Unmappable(message("The substance is needed as a ct:casRN extension."))
        return BatchSpec(
            cas_rn=cas_rn,
            lot_number=self._lot(event),
            quantity=self._quantity(element),
            facility_id=self._facility(event),
            origin={"kind": origin},
        )

    def _documents(self, event: dict[str, Any]) -> list[dict[str, str]]:
        kinds = {"inv": "invoice", "desadv": "delivery_note"}
        found = []
        for entry in event.get("bizTransactionList") or []:
            kind = cbv.BIZ_TRANSACTION_TYPE.short(str(entry.get("type", "")))
            found.append({"type": kinds.get(kind, "other"), "number": entry["bizTransaction"]})
        return found

    # --- the operations ---------------------------------------------------------------

    def _register(self, event: dict[str, Any]):
        spec = self._spec(event, self._one(event, "quantityList"), "produced")
        return register(spec, self.actor).batch

    def _ship(self, event: dict[str, Any]):
        element = self._one(event, "quantityList")
        owners = [
            d["destination"]
            for d in event.get("destinationList") or []
            if cbv.SOURCE_DESTINATION_TYPE.short(str(d.get("type", ""))) == "owning_party"
        ]
        prefix = f"{self.base_url.rstrip('/')}/organizations/"
        if len(owners) != 1 or not owners[0].startswith(prefix):
            raise _Unmappable(
                message("Name the receiver once, as an owning_party organisation URI.")
            )
        return transfers.ship(
            self._batch(element),
            self._quantity(element),
            owners[0].removeprefix(prefix),
            None,
            self._documents(event),
            self.actor,
        )

    def _receive(self, event: dict[str, Any]):
        element = self._one(event, "quantityList")
        transfer = db.session.scalar(
            select(Transfer).where(Transfer.shipped_batch_id == self._batch(element))
        )
        if transfer is None:
            raise _Unmappable(message("That batch is not a shipment in transit."))
        return transfers.receive(
            transfer.id, self._quantity(element), self._facility(event), self.actor
        )

    def _take_out(self, event: dict[str, Any], operation: str):
        element = self._one(event, "quantityList")
        details = {"method": "EPCIS capture"} if operation == "dispose" else {"purpose": "EPCIS"}
        return operations.take_out(
            self._batch(element), operation, self._quantity(element), self.actor, details
        ).event

    def _transform(self, event: dict[str, Any]):
        inputs = [
            {"batch_id": self._batch(e), "quantity": self._quantity(e)}
            for e in event.get("inputQuantityList") or []
        ]
        if not inputs:
            raise _Unmappable(message("A transformation needs inputQuantityList entries."))
        output = self._spec(event, self._one(event, "outputQuantityList"), "transformation")
        return transformations.transform(inputs, output, self.actor)
