"""The ledger's storage: leaves and nodes appended with each write, O(log n) reads, checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from crypto import merkle
from registry.db import db
from registry.ledger import tree
from registry.ledger.audit import verify_ledger
from registry.ledger.records import leaf_bytes
from registry.models import Event, LedgerCheckpoint, LedgerLeaf, LedgerNode
from tests.api.batch_helpers import make_party, qty, register


def test_leaf_format_is_pinned():
    """The leaf bytes are part of the public ledger format: this exact record, RFC 8785."""
    event = Event(
        id="01JD0000000000000000000000",
        ledger_index=7,
        type="consumed",
        batch_id="01JD0000000000000000000001",
        cas_rn="108-24-7",
        organization_id="01JD0000000000000000000002",
        facility_id=None,
        credential_id="01JD0000000000000000000003",
        actor_organization_id="01JD0000000000000000000002",
        actor_role="enterprise",
        dimension="mass",
        quantity_micro=2_500_000,
        quantity_delta_micro=-2_500_000,
        related_batch_id=None,
        transfer_id=None,
        documents=[{"type": "invoice", "number": "Số 1"}],
        details={"purpose": "acetylation"},
        flagged=False,
        recorded_at=datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=UTC),
    )
    assert (
        leaf_bytes(event)
        == (
            '{"actor":{"credential_id":"01JD0000000000000000000003",'
            '"organization_id":"01JD0000000000000000000002","role":"enterprise"},'
            '"batch_id":"01JD0000000000000000000001","cas_rn":"108-24-7",'
            '"details":{"purpose":"acetylation"},'
            '"documents":[{"number":"Số 1","type":"invoice"}],'
            '"facility_id":null,"flagged":false,"id":"01JD0000000000000000000000",'
            '"ledger_index":7,"organization_id":"01JD0000000000000000000002",'
            '"quantity":{"unit":"g","value":"2.5"},"quantity_delta":{"unit":"g","value":"-2.5"},'
            '"recorded_at":"2026-11-23T09:30:00.123456+00:00","related_batch_id":null,'
            '"transfer_id":null,"type":"consumed"}'
        ).encode()
    )


@pytest.fixture
def producer(app, auth):
    return make_party(app, auth, "Tree Chemicals JSC", 0)


def every_four_events(app, seconds: float = 3600) -> None:
    origin = app.extensions[tree.EXTENSION].origin
    app.extensions[tree.EXTENSION] = tree.Settings(origin, 4, seconds)


def test_stored_tree_matches_a_tree_built_from_the_event_rows(app, client, producer):
    for i in range(9):
        register(client, producer, lot_number=f"R-{i}")
    with app.app_context():
        events = list(db.session.scalars(sa.select(Event).order_by(Event.ledger_index)))
        hashes = [merkle.leaf_hash(leaf_bytes(e)) for e in events]
        assert len(hashes) == tree.size() == 18
        for size in range(1, 19):
            assert tree.root_at(size) == merkle.root_from_leaf_hashes(hashes[:size])
        stored = db.session.execute(sa.select(LedgerLeaf.index, LedgerLeaf.event_id)).all()
        assert sorted(stored) == [(e.ledger_index, e.id) for e in events]


def test_checkpoints_every_n_events(app, client, producer):
    every_four_events(app)
    for i in range(5):  # two events per registration: sizes 2, 4, 6, 8, 10
        register(client, producer, lot_number=f"C-{i}")
    with app.app_context():
        sizes = db.session.scalars(
            sa.select(LedgerCheckpoint.tree_size).order_by(LedgerCheckpoint.tree_size)
        ).all()
    # The first write signs (there was none); then each write that crosses a multiple of 4.
    assert sizes == [2, 4, 8]


def test_checkpoints_after_a_period_when_the_log_grew(app, client, producer):
    every_four_events(app, seconds=0)
    register(client, producer, lot_number="P-0")
    register(client, producer, lot_number="P-1")
    with app.app_context():
        sizes = db.session.scalars(
            sa.select(LedgerCheckpoint.tree_size).order_by(LedgerCheckpoint.tree_size)
        ).all()
    assert sizes == [2, 4]


def test_a_rolled_back_write_appends_nothing(app, client, producer):
    register(client, producer, lot_number="B-0")
    good = {
        "cas_rn": "108-24-7",
        "lot_number": "B-1",
        "quantity": qty("1"),
        "facility_id": producer.facility_id,
        "origin": {"kind": "produced"},
    }
    # The second item fails after the first has recorded its events: all or nothing.
    bad = {**good, "lot_number": "B-2", "facility_id": "01JD0000000000000000000000"}
    response = client.post(
        "/api/v1/batches:bulk", json={"items": [good, bad]}, headers=producer.headers
    )
    assert response.status_code == 422
    after = register(client, producer, lot_number="B-3")
    assert after["ledger_index"] == 2
    with app.app_context():
        assert tree.size() == 4
        assert verify_ledger().ok


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn, cursor, statement, *args) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's transaction start is not a read
            self.count += 1


@pytest.mark.parametrize("size", [1, 7, 64, 129])
def test_proofs_cost_a_constant_number_of_queries(app, size):
    """Whatever the size, a root, an inclusion proof or a consistency proof is at most three
    queries (the ledger size, the leaves, the inner nodes), reading O(log n) rows."""
    with app.app_context():
        hashes = [merkle.leaf_hash(str(i).encode()) for i in range(size)]
        known: dict[tuple[int, int], bytes] = {}
        for n, digest in enumerate(hashes):
            for level, index, h in merkle.append_leaf(n, digest, lambda lv, i: known[(lv, i)]):
                known[(level, index)] = h
        db.session.execute(
            sa.insert(LedgerLeaf),
            [{"index": i, "event_id": f"E{i:025d}", "hash": known[(0, i)]} for i in range(size)],
        )
        inner = [{"level": lv, "index": i, "hash": h} for (lv, i), h in known.items() if lv]
        if inner:
            db.session.execute(sa.insert(LedgerNode), inner)
        db.session.execute(sa.text("UPDATE ledger_head SET size = :n"), {"n": size})
        db.session.commit()
        counter = QueryCounter()
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            proof = tree.inclusion_proof(size // 2, size)
            inclusion_queries, counter.count = counter.count, 0
            consistency = tree.consistency_proof(max(1, size // 3), size)
            consistency_queries = counter.count
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)
        root = merkle.root_from_leaf_hashes(hashes)
        assert proof.root_hash == root
        merkle.verify_inclusion(hashes[size // 2], size // 2, size, proof.proof, root)
        first = max(1, size // 3)
        merkle.verify_consistency(
            first, size, consistency, merkle.root_from_leaf_hashes(hashes[:first]), root
        )
        assert inclusion_queries <= 3
        assert consistency_queries <= 3
