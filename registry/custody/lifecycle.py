"""The batch lifecycle as an explicit state machine, and the exact quantity moves it allows.

Every operation names the statuses it may start from; anything else is a state conflict
and changes nothing. Quantity leaves a batch through one conditional UPDATE, so two
requests racing on one batch can never take more than it holds, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import update

from registry.db import db
from registry.errors import Conflict, NotFound, message
from registry.models import Batch

BIGINT_MAX = 2**63 - 1

# operation -> the statuses it may be applied in
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "split": frozenset({"active"}),
    "ship": frozenset({"active"}),
    "consume": frozenset({"active"}),
    "dispose": frozenset({"active", "recalled"}),
    "export": frozenset({"active"}),
    "incident": frozenset({"active", "in_transit", "recalled", "suspended"}),
    "recall": frozenset({"active", "in_transit", "suspended"}),
    "suspend": frozenset({"active", "in_transit", "recalled"}),
    "release": frozenset({"suspended"}),
    "adjust": frozenset({"active", "depleted"}),
    "transform": frozenset({"active"}),
    "receive": frozenset({"in_transit"}),
    "reject": frozenset({"in_transit"}),
    "restock": frozenset({"active", "depleted", "recalled", "suspended"}),
}

# The status a batch ends in when an outflow takes all that is left.
EMPTIED_BY: dict[str, str] = {
    "split": "depleted",
    "ship": "depleted",
    "transform": "consumed",
    "consume": "consumed",
    "dispose": "disposed",
    "export": "exported",
    "loss": "lost",
    "theft": "stolen",
    "spill": "spilled",
}


class StateConflict(Conflict):
    def __init__(self, batch: Batch, operation: str) -> None:
        allowed = ", ".join(sorted(ALLOWED_FROM[operation]))
        super().__init__(
            message(
                "Batch {batch_id} is {status}; {operation} is allowed only when {allowed}.",
                batch_id=batch.id,
                status=batch.status,
                operation=operation,
                allowed=allowed,
            ),
            "state_conflict",
        )


class InsufficientQuantity(Conflict):
    def __init__(self, batch: Batch) -> None:
        super().__init__(
            message("Batch {batch_id} does not hold that much.", batch_id=batch.id),
            "insufficient_quantity",
        )


def check_allowed(batch: Batch, operation: str) -> None:
    if batch.status not in ALLOWED_FROM[operation]:
        raise StateConflict(batch, operation)


def lock(batch_id: str) -> Batch:
    """The batch, re-read and locked for the rest of the transaction (FOR UPDATE on
    PostgreSQL; SQLite write transactions are already exclusive)."""
    batch = db.session.get(Batch, batch_id, with_for_update={"of": Batch}, populate_existing=True)
    if batch is None:
        raise NotFound(message("No batch {batch_id}.", batch_id=batch_id))
    return batch


def take(batch: Batch, amount_micro: int, operation: str, *, empties_to: str | None = None) -> int:
    """Take ``amount_micro`` out of ``batch``; returns what is left.

    One conditional UPDATE does the check and the subtraction together, so the quantity
    never goes below zero whatever runs concurrently.
    """
    remaining = None
    # More than a BIGINT (a split into many large parts) is more than any batch holds.
    if amount_micro <= BIGINT_MAX:
        remaining = db.session.execute(
            update(Batch)
            .where(
                Batch.id == batch.id,
                Batch.status.in_(ALLOWED_FROM[operation]),
                Batch.quantity_micro >= amount_micro,
            )
            .values(quantity_micro=Batch.quantity_micro - amount_micro)
            .returning(Batch.quantity_micro)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
    current = lock(batch.id)
    if remaining is None:
        if current.status not in ALLOWED_FROM[operation]:
            raise StateConflict(current, operation)
        raise InsufficientQuantity(current)
    if remaining == 0:
        current.status = empties_to or EMPTIED_BY.get(operation, "depleted")
    return remaining


def give(batch: Batch, amount_micro: int) -> None:
    """Put quantity back (a rejected shipment returning); an emptied batch is active again."""
    db.session.execute(
        update(Batch)
        .where(Batch.id == batch.id)
        .values(quantity_micro=Batch.quantity_micro + amount_micro)
        .execution_options(synchronize_session=False)
    )
    current = lock(batch.id)
    if current.status == "depleted":
        current.status = "active"


def set_status(batch: Batch, operation: str, new_status: str) -> None:
    check_allowed(batch, operation)
    if new_status == "suspended":
        batch.status_before_suspension = batch.status
    batch.status = new_status
