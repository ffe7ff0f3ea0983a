"""What holders, producers, regulators and inspectors do to a batch.

Each function checks who may act, takes exact quantities through ``lifecycle``, and
records one event per batch it changes, all in the caller's transaction. An operation on
one batch answers with its ``Outcome``: the batch and the event that records it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from registry.access.credentials import Principal
from registry.custody import lifecycle
from registry.custody.batches import density_of, held_batch, lot_of, new_batch
from registry.custody.history import descendant_ids
from registry.custody.outcome import Outcome
from registry.custody.quantities import MAX_MICRO, Amount, in_dimension, parse_quantity
from registry.db import db
from registry.errors import Forbidden, InvalidInput, NotFound, message
from registry.labels.issuing import issue_identifiers
from registry.ledger import events
from registry.models import Batch, BatchLink

INCIDENT_KINDS = ("loss", "theft", "spill")


OUTFLOW_EVENTS = {"consume": "consumed", "dispose": "disposed", "export": "exported"}


def amount_for(batch: Batch, quantity: Any, field: str = "quantity", **kwargs: Any) -> Amount:
    """A requested quantity in the batch's own dimension, converted exactly if need be."""
    amount, _unit = parse_quantity(quantity, field, **kwargs)
    converted = in_dimension(amount, batch.dimension, density_of(batch), field)
    if abs(converted.micro) > MAX_MICRO:  # through a density; it must still fit 64 bits
        raise InvalidInput(
            f"{field}.value", message("The quantity is implausibly large."), "quantity_invalid"
        )
    return converted


def split(batch_id: str, parts: list[Any], actor: Principal) -> tuple[Batch, list[Batch]]:
    parent = held_batch(batch_id, actor)
    lifecycle.check_allowed(parent, "split")
    if not 1 <= len(parts) <= 100:
        raise InvalidInput("parts", message("Split into 1 to 100 parts."), "parts_invalid")
    amounts = [amount_for(parent, part, f"parts.{i}") for i, part in enumerate(parts)]
    total = sum(a.micro for a in amounts)
    lifecycle.take(parent, total, "split")
    children = [
        derive(parent, a.micro, "split", holder=parent.holder_organization_id, actor=actor)
        for a in amounts
    ]
    events.record(
        parent,
        "split",
        actor,
        delta_micro=-total,
        details={"children": [c.id for c in children]},
    )
    for child in children:
        events.record(
            child,
            "created",
            actor,
            delta_micro=child.quantity_micro,
            related_batch_id=parent.id,
            details={"origin": "split"},
        )
        label(child, actor)
    db.session.flush()
    return parent, children


def derive(
    parent: Batch,
    quantity_micro: int,
    kind: str,
    *,
    holder: str,
    actor: Principal,
    status: str = "active",
) -> Batch:
    """A child batch carrying part of ``parent``: same substance, lot and composition."""
    child = new_batch(
        quantity_micro,
        **lot_of(parent),
        status=status,
        holder_organization_id=holder,
        origin_kind=kind,
    )
    db.session.add(child)
    # Insert the child now: no relationship() tells the unit of work that the link (and a
    # transfer) must follow it, and once the emptied parent is dirty it would not.
    db.session.flush()
    db.session.add(
        BatchLink(child_id=child.id, parent_id=parent.id, kind=kind, quantity_micro=quantity_micro)
    )
    return child


def label(child: Batch, actor: Principal) -> None:
    """A derived batch gets its own signed identifier, after the event that made it."""
    issue_identifiers(child, actor, [])


def take_out(
    batch_id: str,
    operation: str,
    quantity: Any,
    actor: Principal,
    details: dict[str, Any],
) -> Outcome:
    """Consume, dispose or export part or all of a held batch."""
    batch = held_batch(batch_id, actor)
    lifecycle.check_allowed(batch, operation)
    amount = amount_for(batch, quantity)
    lifecycle.take(batch, amount.micro, operation)
    event = events.record(
        batch,
        OUTFLOW_EVENTS[operation],
        actor,
        delta_micro=-amount.micro,
        details=details,
    )
    return Outcome(batch, event)


def report_incident(
    batch_id: str, kind: str, quantity: Any, description: str, actor: Principal
) -> Outcome:
    batch = held_batch(batch_id, actor)
    lifecycle.check_allowed(batch, "incident")
    amount = amount_for(batch, quantity)
    lifecycle.take(batch, amount.micro, "incident", empties_to=lifecycle.EMPTIED_BY[kind])
    event = events.record(
        batch,
        "incident",
        actor,
        delta_micro=-amount.micro,
        details={"kind": kind, "description": description},
        flagged=True,
    )
    return Outcome(batch, event)


def recall(batch_id: str, reason: str, actor: Principal) -> Outcome:
    """Recall a batch and every live batch made from it (splits, shipments, products).

    The batch is locked before its status is read, as for every other change of status, so
    two recalls, or a recall and a shipment, serialise: the second sees what the first did.
    """
    batch = lifecycle.lock(batch_id)
    is_authority = actor.role in ("regulator", "admin")
    if not is_authority and actor.organization_id != batch.producer_organization_id:
        if actor.organization_id == batch.holder_organization_id:
            raise Forbidden(message("Only the producer or a regulator may recall a batch."))
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    lifecycle.set_status(batch, "recall", "recalled")
    # Every batch row this recall changes is locked before the first event claims the
    # ledger's lock, as other writes take theirs, so that they queue rather than deadlock.
    descendants = _live_descendants(batch.id)
    recalled = events.record(batch, "recalled", actor, details={"reason": reason})
    for descendant in descendants:
        if descendant.status in lifecycle.ALLOWED_FROM["recall"]:
            descendant.status = "recalled"
            events.record(
                descendant,
                "recalled",
                actor,
                related_batch_id=batch.id,
                details={"reason": reason, "cascaded_from": batch.id},
            )
    return Outcome(batch, recalled)


def _live_descendants(batch_id: str) -> list[Batch]:
    """Every batch made from ``batch_id``, re-read and locked (in id order, so that two
    transactions locking overlapping sets queue instead of deadlocking)."""
    ids = descendant_ids(batch_id)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Batch)
            .where(Batch.id.in_(ids))
            .order_by(Batch.id)
            .with_for_update(of=Batch)
            .execution_options(populate_existing=True)
        )
    )


def regulate(batch_id: str, operation: str, reason: str, actor: Principal) -> Outcome:
    """Suspend (nothing moves) or release a batch; regulators only."""
    if actor.role not in ("regulator", "admin"):
        raise Forbidden(message("Only a regulator suspends or releases batches."))
    batch = lifecycle.lock(batch_id)
    if operation == "suspend":
        lifecycle.set_status(batch, "suspend", "suspended")
        event = events.record(batch, "suspended", actor, details={"reason": reason}, flagged=True)
    else:
        lifecycle.check_allowed(batch, "release")
        batch.status = batch.status_before_suspension or "active"
        batch.status_before_suspension = None
        event = events.record(batch, "released", actor, details={"reason": reason})
    return Outcome(batch, event)


def inspect(
    batch_id: str, result: str, notes: str | None, observed: Any | None, actor: Principal
) -> Outcome:
    batch = db.session.get(Batch, batch_id)
    if batch is None:
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    details: dict[str, Any] = {"result": result, "notes": notes}
    if observed is not None:
        amount = amount_for(batch, observed, "observed_quantity", allow_zero=True)
        details["observed_quantity"] = amount.as_json(batch.unit)
        details["recorded_quantity"] = Amount(batch.dimension, batch.quantity_micro).as_json(
            batch.unit
        )
    event = events.record(batch, "inspected", actor, details=details, flagged=result != "pass")
    return Outcome(batch, event)


def adjust(batch_id: str, quantity: Any, reason: str, actor: Principal) -> Outcome:
    """A stock-count correction, signed; always flagged for the regulator."""
    batch = held_batch(batch_id, actor)
    lifecycle.check_allowed(batch, "adjust")
    delta = amount_for(batch, quantity, signed=True)
    if batch.quantity_micro + delta.micro > MAX_MICRO:
        raise InvalidInput(
            "quantity.value", message("The batch would be implausibly large."), "quantity_invalid"
        )
    if delta.micro < 0:
        lifecycle.take(batch, -delta.micro, "adjust", empties_to="depleted")
    else:
        lifecycle.give(batch, delta.micro)
    event = events.record(
        batch,
        "adjusted",
        actor,
        delta_micro=delta.micro,
        details={"reason": reason},
        flagged=True,
    )
    return Outcome(lifecycle.lock(batch.id), event)
