"""The tamper-evident ledger: an RFC 9162 Merkle tree over every event, and signed checkpoints.

Each event's leaf is appended in the transaction that records the event: ``events.record``
claims the next index under the ``ledger_head`` row lock, and the unit of work's commit
(``registry.unit_of_work.commit``) calls ``append`` with the transaction's events, which
writes their leaves and the subtree nodes they complete in two bulk inserts, then
``checkpoint_if_due``. Because the lock is held until commit, the next writer only starts
appending once these nodes are committed, so the stored tree never has a gap.

Reads never lock: any size up to the committed ``ledger_head.size`` has all its nodes stored.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from crypto import merkle, notes
from crypto.merkle import Node
from registry.db import db, new_id, utcnow
from registry.errors import InvalidInput, message
from registry.ledger.records import leaf_bytes
from registry.models import Event, LedgerCheckpoint, LedgerHead, LedgerLeaf, LedgerNode
from registry.signing import kid_text, signer

EXTENSION = "chemtrace_ledger"
MAX_ENTRIES = 1000


@dataclass(frozen=True)
class Settings:
    origin: str
    checkpoint_every: int
    checkpoint_seconds: float


def default_origin(public_url: str) -> str:
    """A schema-less URL naming the log, as C2SP recommends: ``host[:port][/path]/ledger``."""
    parts = urlsplit(public_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/ledger"


def init_app(app: Flask) -> None:
    origin = app.config.get("LEDGER_ORIGIN") or default_origin(app.config["PUBLIC_URL"])
    notes.check_key_name(origin)  # a bad CHEMTRACE_LEDGER_ORIGIN fails at start-up
    app.extensions[EXTENSION] = Settings(
        origin=origin,
        checkpoint_every=int(app.config["CHECKPOINT_EVERY"]),
        checkpoint_seconds=float(app.config["CHECKPOINT_SECONDS"]),
    )


def settings() -> Settings:
    return current_app.extensions[EXTENSION]


# --- Appending ----------------------------------------------------------------------------


def append(events: list[Event]) -> int:
    """Write the leaves of ``events`` (this transaction's, contiguous indexes) and the nodes
    they complete; the ledger's size after them."""
    session = db.session
    events = sorted(events, key=lambda e: e.ledger_index)
    first = events[0].ledger_index
    if [e.ledger_index for e in events] != list(range(first, first + len(events))):
        raise RuntimeError("a transaction's ledger indexes are not contiguous")
    session.flush()
    # Nodes completed before this transaction that the new ones hash with: the left
    # siblings whose last leaf precedes ours (at most one per level).
    older = {
        (level, index)
        for n in range(first, first + len(events))
        for level, index in merkle.append_nodes(n)
        if ((index + 1) << level) - 1 < first
    }
    known = _read_nodes(session, older)
    leaves, nodes = [], []
    for event in events:
        for level, index, digest in merkle.append_leaf(
            event.ledger_index,
            merkle.leaf_hash(leaf_bytes(event)),
            lambda level, index: known[(level, index)],
        ):
            known[(level, index)] = digest
            if level == 0:
                leaves.append({"index": index, "event_id": event.id, "hash": digest})
            else:
                nodes.append({"level": level, "index": index, "hash": digest})
    session.execute(insert(LedgerLeaf), leaves)
    if nodes:
        session.execute(insert(LedgerNode), nodes)
    return first + len(events)


def checkpoint_if_due(tree_size: int) -> LedgerCheckpoint | None:
    """After an append that brought the ledger to ``tree_size``: sign a checkpoint if the
    log crossed a multiple of ``checkpoint_every`` or the last one is older than the period
    (the caller holds the ledger_head lock, taken when the indexes were claimed)."""
    head = db.session.get(LedgerHead, 1)
    if _checkpoint_due(head, tree_size):
        return _sign_checkpoint(db.session, tree_size)
    return None


def _checkpoint_due(head: LedgerHead, size: int) -> bool:
    config = settings()
    if head.checkpoint_size is None or head.checkpoint_at is None:
        return True
    crossed = size // config.checkpoint_every > head.checkpoint_size // config.checkpoint_every
    stale = utcnow() - head.checkpoint_at >= timedelta(seconds=config.checkpoint_seconds)
    return crossed or (stale and size > head.checkpoint_size)


# --- Reading the tree ---------------------------------------------------------------------


def _read_nodes(session: Session, keys: set[Node] | list[Node]) -> dict[Node, bytes]:
    """The stored hashes of ``keys``, in at most two queries (leaves, then inner nodes)."""
    keys = set(keys)
    found: dict[Node, bytes] = {}
    leaf_indexes = [index for level, index in keys if level == 0]
    if leaf_indexes:
        rows = session.execute(
            select(LedgerLeaf.index, LedgerLeaf.hash).where(LedgerLeaf.index.in_(leaf_indexes))
        )
        found.update({(0, index): bytes(digest) for index, digest in rows})
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        if level > 0:
            by_level.setdefault(level, []).append(index)
    if by_level:
        # One primary-key lookup per level, OR-ed: both databases turn each term into an
        # index probe. (A row-value `(level, node_index) IN (...)` made SQLite scan the table.)
        rows = session.execute(
            select(LedgerNode.level, LedgerNode.index, LedgerNode.hash).where(
                or_(
                    *(
                        and_(LedgerNode.level == level, LedgerNode.index.in_(indexes))
                        for level, indexes in by_level.items()
                    )
                )
            )
        )
        found.update({(level, index): bytes(digest) for level, index, digest in rows})
    missing = keys - found.keys()
    if missing:
        raise RuntimeError(f"ledger nodes missing from storage: {sorted(missing)[:5]}")
    return found


def _getter(keys: list[Node], session: Session | None = None) -> merkle.GetNode:
    stored = _read_nodes(session or db.session, keys)
    return lambda level, index: stored[(level, index)]


def size() -> int:
    """How many leaves the ledger holds (committed)."""
    return db.session.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0


def root_at(tree_size: int, session: Session | None = None) -> bytes:
    """The root hash of the tree of the first ``tree_size`` leaves."""
    return merkle.root(tree_size, _getter(merkle.root_nodes(tree_size), session))


@dataclass(frozen=True)
class InclusionProof:
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    proof: list[bytes]
    root_hash: bytes


def _check_tree_size(field: str, tree_size: int) -> None:
    current = size()
    if tree_size > current:
        raise InvalidInput(
            field,
            message(
                "the ledger holds {current} entries, fewer than {tree_size}",
                current=current,
                tree_size=tree_size,
            ),
            "tree_too_large",
        )


def inclusion_proof(leaf_index: int, tree_size: int) -> InclusionProof:
    """The audit path of a leaf in the tree of ``tree_size`` leaves, with that tree's root."""
    _check_tree_size("tree_size", tree_size)
    if leaf_index >= tree_size:
        raise InvalidInput(
            "index",
            message(
                "entry {leaf_index} is not in a tree of {tree_size}",
                leaf_index=leaf_index,
                tree_size=tree_size,
            ),
            "index_out_of_range",
        )
    keys = merkle.inclusion_nodes(leaf_index, tree_size) + merkle.root_nodes(tree_size)
    get_node = _getter([*keys, (0, leaf_index)])
    return InclusionProof(
        leaf_index,
        tree_size,
        get_node(0, leaf_index),
        merkle.inclusion_proof(leaf_index, tree_size, get_node),
        merkle.root(tree_size, get_node),
    )


def consistency_proof(first: int, second: int) -> list[bytes]:
    """The proof that the tree of ``first`` leaves is a prefix of the tree of ``second``."""
    _check_tree_size("second", second)
    if first > second:
        raise InvalidInput("first", message("first must not exceed second"), "bad_tree_sizes")
    if first == 0:
        return []  # the empty tree is a prefix of every tree; RFC 9162 defines no proof
    return merkle.consistency_proof(first, second, _getter(merkle.consistency_nodes(first, second)))


@dataclass(frozen=True)
class Entry:
    index: int
    leaf: bytes
    event_id: str


def entries(start: int, end: int) -> list[Entry]:
    """The leaves ``[start, end)``: each event's exact leaf bytes."""
    if end <= start:
        raise InvalidInput("end", message("end must be greater than start"), "bad_range")
    if end - start > MAX_ENTRIES:
        raise InvalidInput(
            "end",
            message("at most {max_entries} entries per request", max_entries=MAX_ENTRIES),
            "range_too_large",
        )
    rows = db.session.scalars(
        select(Event)
        .where(Event.ledger_index >= start, Event.ledger_index < min(end, size()))
        .order_by(Event.ledger_index)
    )
    return [Entry(e.ledger_index, leaf_bytes(e), e.id) for e in rows]


# --- Checkpoints --------------------------------------------------------------------------


def _sign_checkpoint(session: Session, tree_size: int) -> LedgerCheckpoint:
    """Sign the tree at ``tree_size``; the caller holds the ledger_head lock."""
    origin = settings().origin
    root = root_at(tree_size, session)
    key = signer().keys.current()
    body = notes.Checkpoint(origin, tree_size, root).text()
    now = utcnow()
    checkpoint = LedgerCheckpoint(
        id=new_id(),
        tree_size=tree_size,
        root_hash=root,
        origin=origin,
        note=notes.sign(body, origin, key.private_key),
        kid=key.kid.hex(),
        created_at=now,
    )
    session.add(checkpoint)
    session.execute(
        update(LedgerHead)
        .where(LedgerHead.id == 1)
        .values(checkpoint_size=tree_size, checkpoint_at=now)
        .execution_options(synchronize_session=False)
    )
    return checkpoint


def _locked_head() -> LedgerHead:
    return db.session.scalars(
        select(LedgerHead)
        .where(LedgerHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def sign_checkpoint_now() -> LedgerCheckpoint:
    """A checkpoint of the whole ledger as it is now (on demand). Call in a write transaction."""
    return _sign_checkpoint(db.session, _locked_head().size)


def refresh_checkpoint() -> LedgerCheckpoint:
    """The latest checkpoint, signing one first if it is stale. Call in a write transaction:
    under the ledger_head lock, so that of two requests finding it stale only one signs."""
    head = _locked_head()
    latest = latest_checkpoint()  # another request may have signed one meanwhile
    if checkpoint_is_stale(latest):
        latest = _sign_checkpoint(db.session, head.size)
    return latest


def latest_checkpoint() -> LedgerCheckpoint | None:
    return db.session.scalars(
        select(LedgerCheckpoint).order_by(
            LedgerCheckpoint.tree_size.desc(), LedgerCheckpoint.created_at.desc()
        )
    ).first()


def checkpoint_is_stale(checkpoint: LedgerCheckpoint | None) -> bool:
    """No checkpoint yet, or the log grew since the latest and it is older than the period."""
    if checkpoint is None:
        return True
    age = utcnow() - checkpoint.created_at
    return size() > checkpoint.tree_size and age >= timedelta(seconds=settings().checkpoint_seconds)


def verifiers(origin: str | None = None) -> list[notes.Verifier]:
    """Note verifier keys for every signing key under the log's origin: the current key
    first, then the next one (published before it signs), the retired ones, and the
    compromised ones (their checkpoints from before the compromise stay checkable)."""
    name = origin or settings().origin
    order = {"current": 0, "next": 1, "retired": 2, "compromised": 3}
    keys = sorted(signer().keys.all_keys(), key=lambda k: order[k.state])
    return [notes.verifier(name, key.public_key) for key in keys]


def checkpoint_json(checkpoint: LedgerCheckpoint) -> dict[str, object]:
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": base64.b64encode(checkpoint.root_hash).decode(),
        "timestamp": checkpoint.created_at.isoformat(),
        "origin": checkpoint.origin,
        "kid": kid_text(bytes.fromhex(checkpoint.kid)),
        "note": checkpoint.note,
    }
