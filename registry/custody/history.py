"""Genealogy: where a batch came from and where it went, in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import literal, select, union
from sqlalchemy.orm import selectinload

from registry.access.credentials import Principal
from registry.custody.batches import visible_batch
from registry.db import db
from registry.errors import NotFound, message
from registry.ledger import events
from registry.models import Batch, BatchLink, Event, Organization, Transfer


@dataclass(frozen=True)
class History:
    batch: Batch
    batches: list[Batch]
    links: list[BatchLink]
    events: list[Event]


def _walk(start_id: str, upstream: bool) -> set[str]:
    """Every batch reachable from ``start_id`` through links, by one recursive query."""
    near, far = (
        (BatchLink.child_id, BatchLink.parent_id)
        if upstream
        else (BatchLink.parent_id, BatchLink.child_id)
    )
    seed = select(far.label("id")).where(near == start_id).cte("walk", recursive=True)
    step = select(far.label("id")).join(seed, near == seed.c.id)
    walk = seed.union(step)
    return set(db.session.scalars(select(walk.c.id)))


def descendant_ids(batch_id: str) -> set[str]:
    return _walk(batch_id, upstream=False)


def ancestor_ids(batch_id: str) -> set[str]:
    return _walk(batch_id, upstream=True)


def history(batch_id: str, direction: str, viewer: Principal) -> History:
    batch = _viewable(batch_id, viewer)
    ids = {batch.id}
    if direction in ("upstream", "both"):
        ids |= ancestor_ids(batch.id)
    if direction in ("downstream", "both"):
        ids |= descendant_ids(batch.id)
    batches = list(
        db.session.scalars(
            select(Batch)
            .where(Batch.id.in_(ids))
            .options(selectinload(Batch.containers), selectinload(Batch.identifiers))
            .order_by(Batch.id)
        )
    )
    found = events.events_of(sorted(ids))
    if viewer.role == "enterprise":
        # An enterprise sees its own part of the chain, nothing of another's stock.
        found = [e for e in found if e.organization_id == viewer.organization_id]
        mine = {e.batch_id for e in found} | {batch.id}
        batches = [b for b in batches if b.id in mine]
        ids = mine
    links = list(
        db.session.scalars(
            select(BatchLink).where(BatchLink.child_id.in_(ids), BatchLink.parent_id.in_(ids))
        )
    )
    return History(batch, batches, links, found)


def holders(found: History) -> dict[str, Organization]:
    """The organisations holding the batches of ``found``, by id (to name them in a drawing)."""
    ids = {b.holder_organization_id for b in found.batches}
    return {
        o.id: o for o in db.session.scalars(select(Organization).where(Organization.id.in_(ids)))
    }


def _viewable(batch_id: str, viewer: Principal) -> Batch:
    """Holders past or present see a batch's history, as do regulators and inspectors."""
    if viewer.role != "enterprise":
        return visible_batch(batch_id, viewer)
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    if batch.holder_organization_id == viewer.organization_id:
        return batch
    held_before = db.session.scalar(
        select(literal(1)).where(
            union(
                select(Event.id).where(
                    Event.batch_id == batch_id, Event.organization_id == viewer.organization_id
                ),
                select(Transfer.id).where(
                    Transfer.shipped_batch_id == batch_id,
                    Transfer.from_organization_id == viewer.organization_id,
                ),
            ).exists()
        )
    )
    if not held_before:
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    return batch
