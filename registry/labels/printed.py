"""What one printed label shows, read in one indexed statement.

A label is asked for again and again (printers, revalidation with its ETag), and its
ETag is computed from every word drawn, so each request needs the batch, its substance,
the identifier and the holder when it was issued. Read here as one Core select of only
those columns (``registry.db.read_first``), not as ORM objects and their lazy loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select

from registry.access.credentials import Principal
from registry.db import read_first
from registry.errors import NotFound, message
from registry.models import Batch, Identifier, Organization, Substance


@dataclass(frozen=True)
class PrintedSubstance:
    name: str
    names: dict[str, str]
    signal_word: str | None
    ghs_pictograms: list[str]
    hazard_statements: list[str]
    precautionary_statements: list[str]


@dataclass(frozen=True)
class PrintedBatch:
    """The columns of a ``Batch`` a label draws, with its substance."""

    id: str
    cas_rn: str | None
    lot_number: str
    dimension: str
    unit: str
    initial_quantity_micro: int
    concentration_pct: str
    manufactured_on: date | None
    expires_on: date | None
    origin_kind: str
    origin_document: str | None
    substance: PrintedSubstance


@dataclass(frozen=True)
class PrintedIdentifier:
    token: str
    container_serial: str | None


@dataclass(frozen=True)
class PrintedHolder:
    name: str


@dataclass(frozen=True)
class LabelFacts:
    batch: PrintedBatch
    identifier: PrintedIdentifier
    holder: PrintedHolder  # who held the batch when the identifier was issued


_b, _s, _i = Batch.__table__, Substance.__table__, Identifier.__table__
_issued_to = Organization.__table__.alias("issued_to")
_BATCH = (
    _b.c.id,
    _b.c.cas_rn,
    _b.c.lot_number,
    _b.c.dimension,
    _b.c.unit,
    _b.c.initial_quantity_micro,
    _b.c.concentration_pct,
    _b.c.manufactured_on,
    _b.c.expires_on,
    _b.c.origin_kind,
    _b.c.origin_document,
)
_SUBSTANCE = (
    _s.c.name,
    _s.c.names,
    _s.c.signal_word,
    _s.c.ghs_pictograms,
    _s.c.hazard_statements,
    _s.c.precautionary_statements,
)
# The batch by primary key with its substance; its first identifier for this container (the
# batch's own label when none), in the order the batch's identifiers are kept (issue time),
# through ``ix_identifiers_batch_id``; and the organisation that held it at issue.
_LABEL = (
    select(
        *_BATCH,
        _b.c.holder_organization_id,
        *(column.label(f"substance_{column.name}") for column in _SUBSTANCE),
        _i.c.token,
        _i.c.container_serial,
        _issued_to.c.name.label("issued_to_name"),
    )
    .join_from(_b, _s, _s.c.id == _b.c.substance_id)
    .outerjoin(
        _i,
        (_i.c.batch_id == _b.c.id)
        & _i.c.container_serial.is_not_distinct_from(bindparam("container")),
    )
    .outerjoin(_issued_to, _issued_to.c.id == _i.c.holder_organization_id)
    .where(_b.c.id == bindparam("batch_id"))
    .order_by(_i.c.issued_at)
    .limit(1)
)


def label_facts(batch_id: str, container: str | None, viewer: Principal) -> LabelFacts:
    """The label of ``batch_id`` (or of its ``container``), if ``viewer`` may see the batch:
    its holder, a regulator, an inspector, an admin (as ``batches.visible_batch``)."""
    row = read_first(_LABEL, batch_id=batch_id, container=container)
    if row is None or (
        viewer.role == "enterprise" and row.holder_organization_id != viewer.organization_id
    ):
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    if row.token is None:
        if container:
            raise NotFound(
                message(
                    "Batch {batch} has no container {container}.",
                    batch=row.id,
                    container=container,
                )
            )
        raise NotFound(message("No label yet."))
    substance = PrintedSubstance(*(row._mapping[f"substance_{c.name}"] for c in _SUBSTANCE))
    batch = PrintedBatch(*(row._mapping[c.name] for c in _BATCH), substance=substance)
    return LabelFacts(
        batch,
        PrintedIdentifier(row.token, row.container_serial),
        PrintedHolder(row.issued_to_name),
    )
