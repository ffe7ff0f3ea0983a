"""EPCIS 2.0 capture: an enterprise's EPCISDocument recorded as registry operations.

A document is checked whole first (``registry.epcis.documents``); if it is refused,
nothing is done. Then :func:`apply` maps and records each event in a SAVEPOINT
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

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from registry.access.credentials import Principal
from registry.custody import operations, transfers, transformations
from registry.custody.batches import MAX_BULK, BatchSpec, register, register_many
from registry.db import db
from registry.epcis import cbv, mapping
from registry.errors import DomainError, FieldError, Malformed, message
from registry.ledger import events as ledger_events
from registry.models import Facility, Transfer

UOM_UNITS = {"KGM": "kg", "GRM": "g", "TNE": "t", "LTR": "L", "MLT": "mL", "MTQ": "m3"}
COMMISSIONING = {"commissioning", "creating_class_instance"}
ROLLBACK, PROCEED = "rollback", "proceed"


class CaptureRefused(Malformed):
    """A single event (POST /epcis/events) that cannot be recorded."""

    code = "epcis_unmappable"
    title = message("Some EPCIS events cannot be recorded")


class _Unmappable(Exception):
    pass


class _Undo(Exception):
    pass


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


def apply(
    events: list[dict[str, Any]], actor: Principal, base_url: str, behaviour: str = ROLLBACK
) -> Outcome:
    """Record each event in a savepoint of its own. With ``rollback`` one refusal undoes
    every event (the outcome lists every refusal and nothing captured)."""
    context = Context(actor, base_url)
    if behaviour != PROCEED:
        captured = _all_at_once(events, context)
        if captured is not None:
            return Outcome(captured)
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


def _all_at_once(events: list[dict[str, Any]], context: Context) -> list[Captured] | None:
    """All events in one savepoint, without one each, and each run of consecutive
    registrations as one bulk registration (``register_many``: the same rows, events and
    leaves, in the same order). For ``rollback``, where one refusal undoes everything: if
    any event is refused, all is undone and None returned, for ``apply`` to go again event
    by event and say which were refused and why, exactly as before."""
    captured: list[Captured] = []
    run: list[tuple[int, BatchSpec]] = []

    def register_run() -> None:
        for start in range(0, len(run), MAX_BULK):
            part = run[start : start + MAX_BULK]
            made = register_many([spec for _, spec in part], context.actor)
            captured.extend(
                Captured(index, "registration", outcome.batch.id)
                for (index, _), outcome in zip(part, made, strict=True)
            )
        run.clear()

    try:
        with ledger_events.savepoint():
            for index, event in enumerate(events):
                spec = context.registration(event)
                if spec is not None:
                    run.append((index, spec))
                    continue
                register_run()
                captured.append(Captured(index, *context.apply(event)))
            register_run()
    except (_Unmappable, DomainError):
        return None
    return captured


def refusal_errors(refusals: list[Refusal]) -> list[FieldError]:
    return [FieldError(f"epcisBody.eventList.{r.index}", r.message, r.code) for r in refusals]


def _step(event: dict[str, Any]) -> str | None:
    """The event's bizStep in any CBV form (bare word, cbv: compact IRI, full URI)."""
    biz_step = event.get("bizStep")
    return cbv.BIZ_STEP.short(biz_step) if isinstance(biz_step, str) else None


def _extension(event: dict[str, Any], name: str) -> Any:
    for key in (f"ct:{name}", name):
        if key in event:
            return event[key]
    return None


@dataclass
class Context:
    actor: Principal
    base_url: str
    _facilities: list[Facility] | None = None

    def registration(self, event: dict[str, Any]) -> BatchSpec | None:
        """What a commissioning ObjectEvent registers; None for any other event."""
        kind, action, step = event.get("type"), event.get("action"), _step(event)
        if kind == "ObjectEvent" and action == "ADD" and step in COMMISSIONING:
            return self._spec(event, self._one(event, "quantityList"), "produced")
        return None

    def apply(self, event: dict[str, Any]) -> tuple[str, str]:
        kind, action, biz_step = event.get("type"), event.get("action"), event.get("bizStep")
        step = _step(event)
        spec = self.registration(event)
        if spec is not None:
            return "registration", register(spec, self.actor).batch.id
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
        if self._facilities is None:  # once per capture: capturing makes no facility
            self._facilities = list(
                db.session.scalars(
                    select(Facility).where(Facility.organization_id == self.actor.organization_id)
                )
            )
        for facility in self._facilities:
            if location in mapping.location_uris(self.base_url, facility):
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
