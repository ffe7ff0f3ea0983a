"""Recomputing the whole ledger from the database, for ``chemtrace ledger verify``.

Every event row is turned back into its leaf and compared with the leaf the ledger appended
for that index; the tree is rebuilt from those leaves and compared with every stored node
and every signed checkpoint. The first disagreement is named:

- ``edited``: the event recorded at this index no longer hashes to its leaf;
- ``deleted``: the ledger has an entry whose event row is gone;
- ``inserted``: an event row that the ledger never appended;
- ``reordered``: an event sits at another index than the one it was appended at;
- ``node_mismatch``: a stored subtree hash disagrees with the leaves (proofs would lie);
- ``checkpoint``: a checkpoint whose signature or root does not hold.

Memory stays flat: rows are streamed in index order and the tree is rebuilt with a frontier
of at most one subtree per level.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from crypto import merkle, notes
from registry.db import db
from registry.ledger.records import leaf_bytes
from registry.ledger.tree import verifiers
from registry.models import Event, LedgerCheckpoint, LedgerHead, LedgerLeaf, LedgerNode

CHUNK = 8192


@dataclass(frozen=True)
class Finding:
    kind: str
    index: int | None
    event_id: str | None
    detail: str

    def __str__(self) -> str:
        where = f"entry {self.index}" if self.index is not None else "ledger"
        event = f" (event {self.event_id})" if self.event_id else ""
        return f"{where}{event}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Report:
    size: int
    checkpoints: int
    root: bytes
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


class _Tampered(Exception):
    def __init__(self, finding: Finding) -> None:
        super().__init__(str(finding))
        self.finding = finding


def _stream(query, chunk: int = CHUNK) -> Iterator:
    return db.session.execute(query.execution_options(yield_per=chunk))


class _Frontier:
    """The complete subtrees on the right edge of a growing tree: O(log n) hashes."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def append(self, digest: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf hash; returns the inner nodes ``(level, index, hash)`` it completes."""
        completed = []
        level, current = 0, digest
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            current = merkle.node_hash(left, current)
            level += 1
            completed.append((level, self.size >> level, current))
        self.stack.append((level, current))
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = merkle.node_hash(left, result)
        return result


def verify_ledger(progress: Callable[[int], None] | None = None) -> Report:
    """Check everything; ``progress(n)`` is told how many entries were just checked."""
    head = db.session.get(LedgerHead, 1)
    size = head.size if head else 0
    checkpoints = list(db.session.scalars(select(LedgerCheckpoint).order_by("tree_size")))
    frontier = _Frontier()
    try:
        _check_checkpoint_signatures(checkpoints)
        _walk(frontier, checkpoints, progress)
        if frontier.size != size:
            raise _Tampered(
                Finding(
                    "deleted" if frontier.size < size else "inserted",
                    frontier.size,
                    None,
                    f"the ledger head says {size} entries, the tables hold {frontier.size}",
                )
            )
        for checkpoint in checkpoints:
            if checkpoint.tree_size > size:
                raise _Tampered(
                    Finding(
                        "deleted",
                        size,
                        None,
                        f"a checkpoint signed {checkpoint.tree_size} entries; only {size} remain",
                    )
                )
    except _Tampered as tampered:
        return Report(size, len(checkpoints), frontier.root(), tampered.finding)
    return Report(size, len(checkpoints), frontier.root(), None)


def _check_checkpoint_signatures(checkpoints: list[LedgerCheckpoint]) -> None:
    keys_of: dict[str, list[notes.Verifier]] = {}  # per origin: built once, not per checkpoint
    for checkpoint in checkpoints:
        if checkpoint.origin not in keys_of:
            keys_of[checkpoint.origin] = verifiers(checkpoint.origin)
        try:
            signed = notes.open_checkpoint(
                checkpoint.note, keys_of[checkpoint.origin], checkpoint.origin
            )
        except notes.NoteError as error:
            raise _Tampered(
                Finding(
                    "checkpoint",
                    None,
                    None,
                    f"the checkpoint of size {checkpoint.tree_size} does not verify: "
                    f"{error.detail}",
                )
            ) from None
        if (signed.tree_size, signed.root_hash) != (checkpoint.tree_size, checkpoint.root_hash):
            raise _Tampered(
                Finding(
                    "checkpoint",
                    None,
                    None,
                    f"the stored size or root of checkpoint {checkpoint.id} differs from "
                    "what its note signs",
                )
            )


def _walk(
    frontier: _Frontier,
    checkpoints: list[LedgerCheckpoint],
    progress: Callable[[int], None] | None,
) -> None:
    events = iter(_stream(select(Event).order_by(Event.ledger_index)).scalars())
    leaves = iter(_stream(select(LedgerLeaf).order_by(LedgerLeaf.index)).scalars())
    pending_checkpoints = iter(checkpoints)
    next_checkpoint = next(pending_checkpoints, None)
    computed: dict[tuple[int, int], bytes] = {}
    index = 0
    event = next(events, None)
    leaf = next(leaves, None)
    while next_checkpoint is not None and next_checkpoint.tree_size == 0:
        _check_root(next_checkpoint, frontier)
        next_checkpoint = next(pending_checkpoints, None)
    while event is not None or leaf is not None:
        _check_entry(index, event, leaf)
        digest = leaf.hash
        for level, node_index, node in frontier.append(bytes(digest)):
            computed[(level, node_index)] = node
        index += 1
        while next_checkpoint is not None and next_checkpoint.tree_size == index:
            _check_root(next_checkpoint, frontier)
            next_checkpoint = next(pending_checkpoints, None)
        if index % CHUNK == 0:
            _check_nodes(computed)
            computed.clear()
            if progress:
                progress(CHUNK)
        event = next(events, None)
        leaf = next(leaves, None)
    _check_nodes(computed)
    if progress and index % CHUNK:
        progress(index % CHUNK)


def _check_entry(index: int, event: Event | None, leaf: LedgerLeaf | None) -> None:
    if leaf is None or leaf.index != index:
        raise _Tampered(
            Finding(
                "inserted",
                index,
                event.id if event else None,
                "this event was never appended to the ledger",
            )
        )
    if event is None or event.ledger_index != index:
        moved = db.session.scalar(select(Event.ledger_index).where(Event.id == leaf.event_id))
        if moved is not None:
            raise _Tampered(
                Finding(
                    "reordered",
                    index,
                    leaf.event_id,
                    f"the event appended here now claims index {moved}",
                )
            )
        raise _Tampered(Finding("deleted", index, leaf.event_id, "the event appended here is gone"))
    if event.id != leaf.event_id:
        appended_at = db.session.scalar(
            select(LedgerLeaf.index).where(LedgerLeaf.event_id == event.id)
        )
        if appended_at is None:
            raise _Tampered(
                Finding(
                    "inserted",
                    index,
                    event.id,
                    f"this event was never appended; the ledger holds event {leaf.event_id} here",
                )
            )
        raise _Tampered(
            Finding(
                "reordered",
                index,
                event.id,
                f"this event was appended at index {appended_at}, not here",
            )
        )
    if merkle.leaf_hash(leaf_bytes(event)) != bytes(leaf.hash):
        raise _Tampered(
            Finding("edited", index, event.id, "the event no longer matches its ledger leaf")
        )


def _check_root(checkpoint: LedgerCheckpoint, frontier: _Frontier) -> None:
    if frontier.root() != bytes(checkpoint.root_hash):
        raise _Tampered(
            Finding(
                "checkpoint",
                frontier.size - 1 if frontier.size else None,
                None,
                f"the leaves do not give the root signed in the checkpoint of size "
                f"{checkpoint.tree_size}",
            )
        )


def _check_nodes(computed: dict[tuple[int, int], bytes]) -> None:
    """Compare the inner nodes rebuilt from one chunk of leaves with the stored ones."""
    if not computed:
        return
    by_level: dict[int, list[int]] = {}
    for level, index in computed:
        by_level.setdefault(level, []).append(index)
    for level, indexes in sorted(by_level.items()):
        stored = dict(
            db.session.execute(
                select(LedgerNode.index, LedgerNode.hash).where(
                    LedgerNode.level == level,
                    LedgerNode.index >= min(indexes),
                    LedgerNode.index <= max(indexes),
                )
            ).all()
        )
        for index in sorted(indexes):
            found = stored.get(index)
            if found is None or bytes(found) != computed[(level, index)]:
                first_leaf = index << level
                raise _Tampered(
                    Finding(
                        "node_mismatch",
                        first_leaf,
                        None,
                        f"the stored hash of leaves [{first_leaf}, {(index + 1) << level}) "
                        "is missing or wrong",
                    )
                )
