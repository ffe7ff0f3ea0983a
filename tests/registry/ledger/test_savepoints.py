"""A savepoint that fails leaves the ledger as if it had never begun: its events are
forgotten, its claimed indexes undone, and reserved indexes it used handed back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry import unit_of_work
from registry.access.credentials import Principal
from registry.custody.batches import BatchSpec, register
from registry.db import db
from registry.ledger import events
from registry.ledger.audit import verify_ledger
from registry.models import Batch, Event, LedgerHead, LedgerLeaf
from tests.api.batch_helpers import make_party


class Refused(Exception):
    pass


def _spec(party, lot: str) -> BatchSpec:
    return BatchSpec(
        cas_rn="108-24-7",
        lot_number=lot,
        quantity={"value": "10", "unit": "kg"},
        facility_id=party.facility_id,
        origin={"kind": "produced"},
    )


def _actor(party) -> Principal:
    return Principal("savepoint-test", "enterprise", party.id)


def _counts() -> tuple[int, int, int, int]:
    def count(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    return count(Batch), count(Event), count(LedgerLeaf), db.session.get(LedgerHead, 1).size


def test_a_failed_savepoint_between_good_ones_leaves_a_dense_verified_ledger(app, auth):
    party = make_party(app, auth, "Savepoint Chemicals JSC", 0)
    with app.app_context():
        unit_of_work.begin_write()
        with events.savepoint():
            register(_spec(party, "GOOD-1"), _actor(party))
        with pytest.raises(Refused), events.savepoint():
            # It records its events (and claims their indexes), then fails.
            register(_spec(party, "BAD"), _actor(party))
            raise Refused
        with events.savepoint():
            register(_spec(party, "GOOD-2"), _actor(party))
        unit_of_work.commit()

        batches, recorded, leaves, head = _counts()
        assert batches == 2
        assert recorded == leaves == head == 4  # two events per registration
        indexes = sorted(db.session.scalars(sa.select(Event.ledger_index)))
        assert indexes == list(range(4))
        assert verify_ledger().finding is None


def test_reserved_indexes_used_in_a_failed_savepoint_are_handed_back(app, auth):
    party = make_party(app, auth, "Savepoint Chemicals JSC", 0)
    with app.app_context():
        unit_of_work.begin_write()
        batch = register(_spec(party, "GOOD-1"), _actor(party)).batch
        events.reserve_ledger_indexes(2)
        with pytest.raises(Refused), events.savepoint():
            events.record(batch, "adjusted", _actor(party), delta_micro=1)
            raise Refused
        # The two reserved indexes are still this transaction's, in order.
        first = events.record(batch, "adjusted", _actor(party), delta_micro=1)
        second = events.record(batch, "adjusted", _actor(party), delta_micro=1)
        assert (first.ledger_index, second.ledger_index) == (2, 3)
        unit_of_work.commit()
        assert verify_ledger().finding is None
