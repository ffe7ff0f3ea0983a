"""What a custody operation on one batch answers with."""

from __future__ import annotations

from typing import NamedTuple

from registry.models import Batch, Event


class Outcome(NamedTuple):
    """The batch as the operation left it, and the event that records the operation (whose
    ledger index the answer carries), so no caller has to look the event up again. A bulk
    registration answers the rows it wrote, read as these are (``batches.BatchRow``,
    ``events.EventRow``)."""

    batch: Batch
    event: Event
