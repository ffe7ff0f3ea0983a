"""Registering batches, and who may see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from registry.access.credentials import Principal
from registry.catalogue.codes import parse_cas_rn
from registry.custody.outcome import Outcome
from registry.custody.quantities import (
    Amount,
    decimal_text,
    parse_factor,
    parse_quantity,
    pure_grams,
)
from registry.db import db, new_id, utcnow
from registry.errors import Forbidden, InvalidInput, NotFound, message
from registry.labels.issuing import issuance_details, issue_identifiers, signed_identifiers
from registry.ledger import events
from registry.models import Batch, Container, Event, Facility, Identifier, Substance
from registry.pagination import Page, paginate

MAX_CONTAINERS = 1000
MAX_BULK = 1000
EVENTS_PER_REGISTRATION = 2  # registered, identifiers_issued
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class BatchSpec:
    """What an enterprise declares when it registers a batch (already shape-checked)."""

    cas_rn: str
    lot_number: str
    quantity: dict[str, Any]
    facility_id: str
    origin: dict[str, Any]
    concentration_pct: str | None = None
    density_kg_per_l: str | None = None
    manufactured_on: date | None = None
    expires_on: date | None = None
    containers: int | list[str] | None = None
    documents: list[dict[str, str]] = field(default_factory=list)


def register(spec: BatchSpec, actor: Principal, prefix: str = "") -> Outcome:
    """A new active batch held by the registering enterprise, with its ``registered`` event."""
    columns, substance, serials = _checked(spec, actor, prefix, {})
    batch = Batch(**columns)
    # A new batch has no identifiers yet (nor containers, unless given): saying so as the
    # loaded state spares a lazy load later, and costs far less than assigning empty lists
    # (an assignment fires the collection's replace events and history for nothing).
    set_committed_value(batch, "identifiers", [])
    # The substance by its id, and the loaded object set as it is: assigning the
    # relationship fires replace events and cascades through the catalogue.
    set_committed_value(batch, "substance", substance)
    if serials:
        batch.containers = [Container(serial=s) for s in serials]
    else:
        set_committed_value(batch, "containers", [])
    db.session.add(batch)
    # Both events' ledger indexes in one claim (this flushes the batch before its events).
    events.reserve_ledger_indexes(EVENTS_PER_REGISTRATION)
    return Outcome(batch, _record_registration(batch, serials, spec, actor))


class BatchRow:
    """A batch written by ``register_many``: its columns as attributes, with its substance,
    containers and identifiers, read as a ``Batch`` is (the answer, its events' columns,
    its label), without being an object of the session's unit of work."""

    __slots__ = (*Batch.__mapper__.column_attrs.keys(), "substance", "containers", "identifiers")

    def __init__(self, columns: dict[str, Any], substance: Substance) -> None:
        for name, value in columns.items():
            setattr(self, name, value)
        self.substance = substance
        self.containers: list[SimpleNamespace] = []
        self.identifiers: list[SimpleNamespace] = []


def register_many(specs: list[BatchSpec], actor: Principal) -> list[Outcome]:
    """All or nothing: the first bad item refuses the whole request, naming its position.

    The same rows, events and leaves as ``register`` one item after another, written in
    bulk without ORM objects: every item is checked and its row built first, then the
    batches, containers and identifiers (every label signed) go in with one Core insert
    each; only then are all ledger indexes claimed at once (the ledger head's lock, held
    until commit) and the events inserted in item order with one more.
    """
    if not 1 <= len(specs) <= MAX_BULK:
        raise InvalidInput(
            "items", message("Send 1 to {max_bulk} items.", max_bulk=MAX_BULK), "bulk_size"
        )
    looked_up: dict[tuple[str, str], Any] = {}  # substances and facilities, once each
    built = []
    with db.session.no_autoflush:
        for i, spec in enumerate(specs):
            columns, substance, serials = _checked(spec, actor, f"items.{i}.", looked_up)
            built.append((BatchRow(columns, substance), serials, columns))
    containers: list[dict[str, Any]] = []
    identifiers: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for (batch, serials, _), spec in zip(built, specs, strict=True):
        rows = signed_identifiers(batch, serials)
        identifiers.extend(rows)
        batch.identifiers = [SimpleNamespace(**row) for row in rows]
        batch.containers = [
            SimpleNamespace(id=new_id(), batch_id=batch.id, serial=s) for s in serials
        ]
        containers.extend(vars(c) for c in batch.containers)
        pending.append(events.columns(batch, "registered", actor, **_registered(batch, spec)))
        pending.append(
            events.columns(
                batch, "identifiers_issued", actor, details=issuance_details(rows, serials)
            )
        )
    db.session.execute(insert(Batch.__table__), [columns for _, _, columns in built])
    if containers:
        db.session.execute(insert(Container.__table__), containers)
    db.session.execute(insert(Identifier.__table__), identifiers)
    recorded = events.record_all(pending)
    return [
        Outcome(batch, event)
        for (batch, _, _), event in zip(built, recorded[::EVENTS_PER_REGISTRATION], strict=True)
    ]


def _checked(
    spec: BatchSpec, actor: Principal, prefix: str, looked_up: dict[tuple[str, str], Any]
) -> tuple[dict[str, Any], Substance, list[str]]:
    """Check ``spec``: the new batch's row (every column), its substance and its container
    serials. Nothing is added to the session."""
    if actor.role != "enterprise" or actor.organization_id is None:
        raise Forbidden(message("Only an enterprise registers batches."))
    cas_rn = parse_cas_rn(spec.cas_rn, f"{prefix}cas_rn")
    if ("substance", cas_rn) not in looked_up:
        looked_up[("substance", cas_rn)] = db.session.scalar(
            select(Substance).where(Substance.cas_rn == cas_rn)
        )
    substance = looked_up[("substance", cas_rn)]
    if substance is None:
        raise InvalidInput(
            f"{prefix}cas_rn",
            message("{cas_rn} is not in the substance catalogue.", cas_rn=cas_rn),
            "substance_unknown",
        )
    amount, unit = parse_quantity(spec.quantity, f"{prefix}quantity")
    concentration = (
        parse_factor(spec.concentration_pct, f"{prefix}concentration_pct", maximum=HUNDRED)
        if spec.concentration_pct is not None
        else HUNDRED
    )
    density = (
        parse_factor(spec.density_kg_per_l, f"{prefix}density_kg_per_l", maximum=Decimal(25))
        if spec.density_kg_per_l is not None
        else None
    )
    # Held here: the session's identity map is weak, so a second lookup would query again.
    facility = looked_up.get(("facility", spec.facility_id))
    if facility is None:
        facility = own_facility(spec.facility_id, actor.organization_id, f"{prefix}facility_id")
        looked_up[("facility", spec.facility_id)] = facility
    origin_kind, origin_document = _origin(spec.origin, f"{prefix}origin")
    if spec.manufactured_on and spec.expires_on and spec.expires_on < spec.manufactured_on:
        raise InvalidInput(
            f"{prefix}expires_on",
            message("A batch cannot expire before it is made."),
            "dates_invalid",
        )
    serials = _serials(spec.containers, prefix)
    columns = new_batch_columns(
        amount.micro,
        substance_id=substance.id,
        cas_rn=cas_rn,
        lot_number=spec.lot_number,
        status="active",
        dimension=amount.dimension,
        unit=unit,
        concentration_pct=decimal_text(concentration),
        density_kg_per_l=decimal_text(density) if density is not None else None,
        holder_organization_id=actor.organization_id,
        producer_organization_id=actor.organization_id,
        facility_id=facility.id,
        origin_kind=origin_kind,
        origin_document=origin_document,
        manufactured_on=spec.manufactured_on,
        expires_on=spec.expires_on,
    )
    return columns, substance, serials


# What a batch made from another keeps of it: substance, lot, composition and where it is.
LOT_FIELDS = (
    "substance_id",
    "cas_rn",
    "lot_number",
    "dimension",
    "unit",
    "concentration_pct",
    "density_kg_per_l",
    "producer_organization_id",
    "facility_id",
    "manufactured_on",
    "expires_on",
)


def new_batch(quantity_micro: int, **fields: Any) -> Batch:
    """A batch under a new id, holding ``quantity_micro``: all it starts with."""
    return Batch(**new_batch_columns(quantity_micro, **fields))


def new_batch_columns(quantity_micro: int, **fields: Any) -> dict[str, Any]:
    """Every column of a new batch's row (``new_batch``'s, or a Core insert's)."""
    return {
        "id": new_id(),
        "quantity_micro": quantity_micro,
        "initial_quantity_micro": quantity_micro,
        "status_before_suspension": None,
        "created_at": utcnow(),
        **fields,
    }


def lot_of(batch: Batch) -> dict[str, Any]:
    """The ``LOT_FIELDS`` of ``batch``, for a batch made from it."""
    return {name: getattr(batch, name) for name in LOT_FIELDS}


def density_of(batch: Batch) -> Decimal | None:
    """The batch's density (kg/L) as an exact number, or None if it has none."""
    return Decimal(batch.density_kg_per_l) if batch.density_kg_per_l else None


def pure_grams_of(batch: Batch, micro: int | None = None) -> Decimal | None:
    """Pure-substance grams in ``micro`` micro-units of ``batch`` (by default all it holds
    now), through its concentration and density; None for a volume without a density."""
    amount = Amount(batch.dimension, batch.quantity_micro if micro is None else micro)
    return pure_grams(amount, Decimal(batch.concentration_pct), density_of(batch))


def _registered(batch: Batch, spec: BatchSpec) -> events.EventFields:
    """The ``registered`` event's arguments beyond the batch, its type and actor."""
    return {
        "delta_micro": batch.quantity_micro,
        "documents": spec.documents,
        "details": {
            "origin": batch.origin_kind,
            "origin_document": batch.origin_document,
            "lot_number": spec.lot_number,
            "unit": batch.unit,
            "containers": len(batch.containers),
        },
    }


def _record_registration(
    batch: Batch, serials: list[str], spec: BatchSpec, actor: Principal
) -> Event:
    """The ``registered`` event (returned), then the label (``identifiers_issued``)."""
    registered = events.record(batch, "registered", actor, **_registered(batch, spec))
    issue_identifiers(batch, actor, serials)
    return registered


def own_facility(facility_id: str, organization_id: str, field_name: str) -> Facility:
    facility = db.session.get(Facility, facility_id)
    if facility is None or facility.organization_id != organization_id:
        raise InvalidInput(
            field_name, message("No facility of your organisation has that id."), "facility_unknown"
        )
    return facility


def _origin(origin: dict[str, Any], field_name: str) -> tuple[str, str | None]:
    kind, document = origin.get("kind"), origin.get("document")
    if kind == "imported" and not document:
        raise InvalidInput(
            f"{field_name}.document",
            message("An import names its customs declaration or import licence."),
            "import_document_required",
        )
    return kind, document


def _serials(containers: int | list[str] | None, prefix: str) -> list[str]:
    if containers is None:
        return []
    if isinstance(containers, int):
        if not 1 <= containers <= MAX_CONTAINERS:
            raise InvalidInput(
                f"{prefix}containers",
                message("1 to {max_containers} containers.", max_containers=MAX_CONTAINERS),
                "containers_invalid",
            )
        return [f"{n:04d}" for n in range(1, containers + 1)]
    if len(set(containers)) != len(containers) or not 1 <= len(containers) <= MAX_CONTAINERS:
        raise InvalidInput(
            f"{prefix}containers",
            message(
                "1 to {max_containers} container serials, each different.",
                max_containers=MAX_CONTAINERS,
            ),
            "containers_invalid",
        )
    return list(containers)


# --- reading ------------------------------------------------------------------------


def visible_batch(batch_id: str, viewer: Principal) -> Batch:
    """The batch, if this viewer may see it: its holder, a regulator, an inspector, an admin."""
    batch = db.session.get(Batch, batch_id)
    if batch is None or (
        viewer.role == "enterprise" and batch.holder_organization_id != viewer.organization_id
    ):
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    return batch


def held_batch(batch_id: str, actor: Principal) -> Batch:
    """The batch, if ``actor`` is the enterprise holding it; anyone else gets not found."""
    batch = db.session.get(Batch, batch_id)
    if batch is None or batch.holder_organization_id != actor.organization_id:
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    return batch


def list_batches(
    viewer: Principal,
    cas_rn: str | None,
    status: str | None,
    holder: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Batch]:
    query = select(Batch).options(selectinload(Batch.containers), selectinload(Batch.identifiers))
    if viewer.role == "enterprise":
        # Another holder's batches are simply none, but the other parameters are still checked.
        query = query.where(Batch.holder_organization_id == viewer.organization_id)
    if holder is not None:
        query = query.where(Batch.holder_organization_id == holder)
    if cas_rn is not None:
        query = query.where(Batch.cas_rn == parse_cas_rn(cas_rn))
    if status is not None:
        query = query.where(Batch.status == status)
    return paginate(query, Batch.id, limit, cursor)
