"""Recording events: append-only rows, each with the next dense ledger index."""

from __future__ import annotations

from collections import deque
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from registry.access.credentials import Principal
from registry.db import db, new_id, utcnow
from registry.ledger import tree
from registry.models import Batch, Event, LedgerHead


def ensure_ledger_head() -> None:
    if db.session.get(LedgerHead, 1) is None:
        db.session.add(LedgerHead(id=1, size=0))
        db.session.flush()


_RESERVED = "chemtrace_reserved_ledger_indexes"


def _claim(count: int) -> int:
    """Claim ``count`` consecutive indexes; the first. The row lock this takes is the log's
    one serialisation point: concurrent writers queue here, so indexes are dense and follow
    commit order."""
    claimed = db.session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == 1)
        .values(size=LedgerHead.size + count)
        .returning(LedgerHead.size)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return claimed - count


def reserve_ledger_indexes(count: int) -> None:
    """Claim the indexes of the next ``count`` events of this transaction in one statement,
    for a caller that knows how many it is about to record; ``record`` takes them in order.
    Every reserved index must be used before commit (the log has no gaps)."""
    first = _claim(count)
    pool = db.session.info.setdefault(_RESERVED, deque())
    pool.extend(range(first, first + count))


def next_ledger_index() -> int:
    """The next ledger index: a reserved one if any, else claimed now."""
    pool = db.session.info.get(_RESERVED)
    if pool:
        return pool.popleft()
    return _claim(1)


@sa_event.listens_for(Session, "before_commit")
def _check_reserved(session: Session) -> None:
    if session.info.get(_RESERVED):
        raise RuntimeError("ledger indexes were reserved but not used")


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_reserved(session: Session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction: commit or rollback
        session.info.pop(_RESERVED, None)


def record(
    batch: Batch,
    type_: str,
    actor: Principal | None,
    *,
    organization_id: str | None = None,
    delta_micro: int | None = None,
    quantity_micro: int | None = None,
    facility_id: str | None = None,
    related_batch_id: str | None = None,
    transfer_id: str | None = None,
    documents: list[dict[str, str]] | None = None,
    details: dict[str, Any] | None = None,
    flagged: bool = False,
) -> Event:
    # The index first: claiming it may wait for another writer's commit, and a time taken
    # after the wait keeps recorded_at in ledger order, which period queries rely on.
    ledger_index = next_ledger_index()
    event = Event(
        id=new_id(),
        recorded_at=utcnow(),
        ledger_index=ledger_index,
        type=type_,
        batch_id=batch.id,
        cas_rn=batch.cas_rn,
        organization_id=organization_id or batch.holder_organization_id,
        facility_id=facility_id if facility_id is not None else batch.facility_id,
        credential_id=actor.credential_id if actor else None,
        actor_organization_id=actor.organization_id if actor else None,
        actor_role=actor.role if actor else None,
        dimension=batch.dimension,
        quantity_micro=abs(delta_micro)
        if quantity_micro is None and delta_micro
        else quantity_micro,
        quantity_delta_micro=delta_micro,
        related_batch_id=related_batch_id,
        transfer_id=transfer_id,
        documents=list(documents or []),
        details=dict(details or {}),
        flagged=flagged,
    )
    db.session.add(event)
    tree.enqueue(event)
    return event


def events_of(batch_ids: list[str]) -> list[Event]:
    if not batch_ids:
        return []
    return list(
        db.session.scalars(
            select(Event).where(Event.batch_id.in_(batch_ids)).order_by(Event.ledger_index)
        )
    )


def latest_of(batch_id: str, type_: str | None = None) -> Event:
    """The most recent event of a batch (of one type, if given)."""
    query = select(Event).where(Event.batch_id == batch_id)
    if type_ is not None:
        query = query.where(Event.type == type_)
    return db.session.scalars(query.order_by(Event.ledger_index.desc())).first()
