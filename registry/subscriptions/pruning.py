"""Delivered outbox messages are kept for a while (a receiver's "what did you send me?"),
then deleted by the delivery worker: the oldest first, a batch per transaction, through the
index on ``delivered_at``. A message not delivered yet is never deleted, however old.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from registry.db import begin_write, db, utcnow
from registry.models import OutboxMessage

BATCH = 1000  # messages deleted per transaction, so no delete holds locks for long
log = logging.getLogger(__name__)


def prune_batch(cutoff: datetime, limit: int = BATCH) -> int:
    """Delete up to ``limit`` messages delivered before ``cutoff``; how many (no commit)."""
    ids = list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.delivered_at < cutoff)
            .order_by(OutboxMessage.delivered_at)
            .limit(limit)
            # Another worker pruning at the same moment takes other rows.
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        db.session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.id.in_(ids), OutboxMessage.delivered_at < cutoff
            )
        )
    return len(ids)


def prune(retention: timedelta, limit: int = BATCH) -> int:
    """Delete every message delivered more than ``retention`` ago, ``limit`` per committed
    transaction; how many."""
    cutoff = utcnow() - retention
    total = 0
    while True:
        db.session.rollback()
        begin_write()
        deleted = prune_batch(cutoff, limit)
        db.session.commit()
        total += deleted
        if deleted < limit:
            return total


class Pruner:
    """Runs :func:`prune` from the worker's loop at most once every ``every`` seconds."""

    def __init__(self, retention: timedelta, every: float) -> None:
        self.retention, self.every = retention, every
        self.next_at = 0.0  # at once, when the worker starts

    def prune_if_due(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            return
        self.next_at = now + self.every
        try:
            deleted = prune(self.retention)
        except Exception:
            # The database is away, or a defect: the next round tries again, and deliveries
            # go on meanwhile.
            db.session.rollback()
            log.warning("pruning the outbox failed", exc_info=True)
            return
        if deleted:
            log.info("pruned %d delivered outbox messages", deleted)
