"""Transformations: input batches are consumed and one output batch records what it came from."""

from __future__ import annotations

from typing import Any

from registry.access.credentials import Principal
from registry.custody import lifecycle
from registry.custody.batches import BatchSpec, held_batch, register
from registry.custody.operations import amount_for
from registry.db import db
from registry.errors import InvalidInput, message
from registry.ledger import events
from registry.models import Batch, BatchLink


def transform(inputs: list[dict[str, Any]], output: BatchSpec, actor: Principal) -> Batch:
    ids = [item["batch_id"] for item in inputs]
    if not 1 <= len(ids) <= 100 or len(set(ids)) != len(ids):
        raise InvalidInput("inputs", message("1 to 100 different input batches."), "inputs_invalid")
    taken: list[tuple[Batch, int]] = []
    for position, item in enumerate(inputs):
        # Each input's row lock is taken now, before registering the output claims the
        # ledger's lock, in the order every other write takes them (batch rows, then the
        # ledger): a consumption of an input racing this waits instead of deadlocking.
        batch = lifecycle.lock(held_batch(item["batch_id"], actor).id)
        lifecycle.check_allowed(batch, "transform")
        amount = amount_for(batch, item["quantity"], f"inputs.{position}.quantity")
        taken.append((batch, amount.micro))
    product = register(output, actor, "output.").batch
    db.session.flush()
    for batch, micro in taken:
        lifecycle.take(batch, micro, "transform")
        db.session.add(
            BatchLink(
                child_id=product.id, parent_id=batch.id, kind="transformation", quantity_micro=micro
            )
        )
        events.record(
            batch,
            "transformed",
            actor,
            delta_micro=-micro,
            related_batch_id=product.id,
            details={"output_batch_id": product.id},
        )
    return product
