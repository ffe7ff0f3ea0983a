"""The scan for shipments not received in time, run by the delivery worker.

``shipment_not_received`` is raised by the passing of time, not by a write: every so often
the worker (``registry.subscriptions.delivery.run``) looks for transfers still in transit
``transit_days`` after they were shipped (``ix_transfers_overdue``) and writes, for each,
an alert about its ``shipped`` event to every subscription that matches it
(``outbox.enqueue_alerts``). The transfer is marked in the same transaction, so each is
raised once, across restarts; two workers on PostgreSQL lock the rows they take
(``FOR UPDATE SKIP LOCKED``) and re-check the mark, so they never raise one twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select

from registry import unit_of_work
from registry.db import db, utcnow
from registry.models import Event, Transfer
from registry.reports import red_flags
from registry.subscriptions import outbox

FLAG = "shipment_not_received"
# Transfers handled per transaction; the scan goes on until none is left.
CHUNK = 100


def _overdue(cutoff: datetime) -> Select:
    return select(Transfer).where(red_flags.overdue(cutoff), Transfer.overdue_alerted_at.is_(None))


def _take_overdue(cutoff: datetime) -> list[Transfer]:
    return list(
        db.session.scalars(
            _overdue(cutoff)
            .order_by(Transfer.shipped_at, Transfer.id)
            .limit(CHUNK)
            .with_for_update(skip_locked=True)
        )
    )


def scan(thresholds: red_flags.Thresholds, now: datetime | None = None) -> int:
    """Raise ``shipment_not_received`` for each transfer that became overdue by ``now``;
    commits; how many transfers were marked."""
    now = now or utcnow()
    cutoff = red_flags.overdue_cutoff(now, thresholds)
    # Mostly there is nothing to raise: found by a read, without taking SQLite's write lock.
    found_any = db.session.scalar(_overdue(cutoff).with_only_columns(Transfer.id).limit(1))
    db.session.rollback()
    if found_any is None:
        return 0

    def raise_some() -> int:
        overdue = _take_overdue(cutoff)
        for transfer in overdue:
            transfer.overdue_alerted_at = now
        if overdue:
            shipped = db.session.scalars(
                red_flags.shipped_events()
                .where(Transfer.id.in_([transfer.id for transfer in overdue]))
                .order_by(Event.ledger_index)
            )
            outbox.enqueue_alerts(list(shipped), [FLAG])
        return len(overdue)

    marked = 0
    while True:
        found = unit_of_work.write_separately(raise_some)
        marked += found
        if found < CHUNK:
            return marked
