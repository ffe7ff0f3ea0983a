"""The registry's one transaction boundary: how a write begins, what closes it, how it ends.

Domain functions only add to and read from the session; they never commit or roll back.
Whoever runs them (one HTTP request, ``api.transactions``; a CLI command; a script or a
test) ends the write here, so the steps that close a write are written once:

1. the outbox: a message for each webhook subscription an event of this transaction
   matches (``registry.subscriptions.outbox``), committed with the events or not at all;
2. the ledger: the leaves of the events this transaction recorded and the Merkle nodes
   they complete (``tree.append``), then a signed checkpoint if one is due;
3. the database commit.

A read needs nothing from here: its transaction ends when the session is closed (the app
context's teardown), or when ``write_separately`` ends it to write something of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from registry.db import begin_write, db
from registry.ledger import events, tree
from registry.subscriptions import outbox

T = TypeVar("T")

__all__ = ["begin_write", "commit", "rollback", "write_separately"]


def commit() -> None:
    """Close the current write: append its events to the ledger, then commit."""
    recorded = events.take_recorded()
    if recorded:
        outbox.enqueue(recorded)
        tree.checkpoint_if_due(tree.append(recorded))
    db.session.commit()


def rollback() -> None:
    """Undo the current transaction, whatever it wrote (the ledger indexes it claimed too)."""
    db.session.rollback()


def write_separately(work: Callable[[], T]) -> T:
    """Run ``work`` in a write transaction of its own and commit it; what this session was
    reading until now is ended first. Rolled back if ``work`` raises."""
    rollback()
    begin_write()
    try:
        result = work()
        commit()
    except BaseException:
        rollback()
        raise
    return result
