"""Recording events: append-only rows, each with the next dense ledger index.

``record`` adds the event and keeps it with its transaction; ``record_all`` writes many at
once with one Core insert (no ORM objects) and keeps lightweight ``EventRow`` records of
them. The unit of work's commit (``registry.unit_of_work.commit``) takes them
(``take_recorded``) and appends their leaves to the Merkle log before the database commit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypedDict, Unpack

from sqlalchemy import event as sa_event
from sqlalchemy import insert, select, update

from registry.access.credentials import Principal
from registry.db import RegistrySession, db, new_id, utcnow
from registry.models import Batch, Event, LedgerHead


def ensure_ledger_head() -> None:
    if db.session.get(LedgerHead, 1) is None:
        db.session.add(LedgerHead(id=1, size=0))
        db.session.flush()


# This transaction's reserved indexes and recorded events, kept in the session's ``info``
# beside the transaction they belong to, so a rolled-back transaction's are never used by
# the next one (no hook has to forget them).
_RESERVED = "chemtrace_reserved_ledger_indexes"
_RECORDED = "chemtrace_recorded_events"


def _this_transactions(key: str, make: Callable[[], Any]) -> Any:
    session = db.session()  # the session itself: the scoped proxy has no get_transaction
    transaction = session.get_transaction()
    held = session.info.get(key)
    if held is None or held[0] is not transaction:
        held = (transaction, make())
        session.info[key] = held
    return held[1]


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
    _this_transactions(_RESERVED, deque).extend(range(first, first + count))


def next_ledger_index() -> int:
    """The next ledger index: a reserved one if any, else claimed now."""
    pool = _this_transactions(_RESERVED, deque)
    if pool:
        return pool.popleft()
    return _claim(1)


def take_recorded() -> list[Event | EventRow]:
    """The events this transaction recorded, handed over once, for the ledger to append
    their leaves (``registry.unit_of_work.commit``)."""
    if _this_transactions(_RESERVED, deque):
        raise RuntimeError("ledger indexes were reserved but not used")
    recorded = _this_transactions(_RECORDED, list)
    db.session.info.pop(_RECORDED, None)
    return recorded


@contextmanager
def savepoint() -> Iterator[None]:
    """A part of this transaction that can fail alone (a SAVEPOINT): if the block raises,
    what it wrote is undone, and so is what it did to the ledger's bookkeeping. The
    ledger head's claims roll back with the savepoint, so the events the block recorded
    are forgotten and the reserved indexes it used are handed back: the log stays dense."""
    recorded = _this_transactions(_RECORDED, list)
    reserved = _this_transactions(_RESERVED, deque)
    kept_recorded, kept_reserved = len(recorded), list(reserved)
    nested = db.session.begin_nested()
    try:
        yield
    except BaseException:
        if nested.is_active:
            nested.rollback()
        del recorded[kept_recorded:]
        reserved.clear()
        reserved.extend(kept_reserved)
        raise
    nested.commit()


@sa_event.listens_for(RegistrySession, "before_commit")
def _refuse_unsealed(session: RegistrySession) -> None:
    """A guard, not a step: a commit that skipped the ledger's step would leave a gap in
    the log, so it is refused. Nothing is written here."""
    if session.in_nested_transaction():
        return  # releasing a savepoint (``savepoint``) commits nothing yet
    transaction = session.get_transaction()
    for key in (_RESERVED, _RECORDED):
        held = session.info.get(key)
        if held is not None and held[0] is transaction and held[1]:
            raise RuntimeError(
                "events were recorded (or ledger indexes reserved) but not appended to the "
                "ledger: commit writes through registry.unit_of_work.commit"
            )


class EventFields(TypedDict, total=False):
    """What an event says beyond its batch, type and actor (``record``, ``columns``)."""

    organization_id: str | None  # default: the batch's holder
    delta_micro: int | None
    quantity_micro: int | None  # default: the size of delta_micro
    facility_id: str | None  # default: the batch's facility
    related_batch_id: str | None
    transfer_id: str | None
    documents: list[dict[str, str]] | None
    details: dict[str, Any] | None
    flagged: bool


def record(
    batch: Batch, type_: str, actor: Principal | None, **fields: Unpack[EventFields]
) -> Event:
    # The index first: claiming it may wait for another writer's commit, and a time taken
    # after the wait keeps recorded_at in ledger order, which period queries rely on.
    ledger_index = next_ledger_index()
    event = Event(
        id=new_id(),
        recorded_at=utcnow(),
        ledger_index=ledger_index,
        **columns(batch, type_, actor, **fields),
    )
    db.session.add(event)
    _this_transactions(_RECORDED, list).append(event)  # its leaf is appended at commit
    return event


def columns(
    batch: Batch, type_: str, actor: Principal | None, **fields: Unpack[EventFields]
) -> dict[str, Any]:
    """An event's columns but its id, ledger index and time (``record``'s arguments), for
    ``record`` and for ``record_all``, so both write the same rows and leaves."""
    delta_micro = fields.get("delta_micro")
    quantity_micro = fields.get("quantity_micro")
    facility_id = fields.get("facility_id")
    return {
        "type": type_,
        "batch_id": batch.id,
        "cas_rn": batch.cas_rn,
        "organization_id": fields.get("organization_id") or batch.holder_organization_id,
        "facility_id": facility_id if facility_id is not None else batch.facility_id,
        "credential_id": actor.credential_id if actor else None,
        "actor_organization_id": actor.organization_id if actor else None,
        "actor_role": actor.role if actor else None,
        "dimension": batch.dimension,
        "quantity_micro": abs(delta_micro)
        if quantity_micro is None and delta_micro
        else quantity_micro,
        "quantity_delta_micro": delta_micro,
        "related_batch_id": fields.get("related_batch_id"),
        "transfer_id": fields.get("transfer_id"),
        "documents": list(fields.get("documents") or []),
        "details": dict(fields.get("details") or {}),
        "flagged": fields.get("flagged", False),
    }


class EventRow:
    """An event written by ``record_all``: its columns as attributes, read as an ``Event``
    is (its leaf, the outbox's matching, an answer's ledger index), without being an object
    of the session's unit of work."""

    __slots__ = tuple(Event.__mapper__.column_attrs.keys())

    def __init__(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)


def record_all(pending: list[dict[str, Any]]) -> list[EventRow]:
    """Record events given by their ``columns``, in order, in one claim of their indexes and
    one multi-row insert. Build everything before calling this: the claim takes the ledger
    head's lock, held until commit, so only the index, id and time are made after it."""
    if not pending:
        return []
    if _this_transactions(_RESERVED, deque):
        raise RuntimeError("ledger indexes were reserved but not used")
    first = _claim(len(pending))
    rows = [
        {"id": new_id(), "recorded_at": utcnow(), "ledger_index": first + n, **values}
        for n, values in enumerate(pending)
    ]
    db.session.execute(insert(Event.__table__), rows)
    recorded = [EventRow(row) for row in rows]
    _this_transactions(_RECORDED, list).extend(recorded)  # their leaves are appended at commit
    return recorded


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
