"""The checks of ``bench.writers`` (docs/scaling.md): they pass on a ledger written by the
service, and they catch a gap, a duplicate and a quantity that is not what was registered."""

from __future__ import annotations

import json

import sqlalchemy as sa

from bench import ingest, seed
from bench.writers import check_ledger, check_quantities, through_pooler
from registry.db import db
from tests.api.batch_helpers import make_party


def _register(app, client, auth, batches: int) -> None:
    party = make_party(app, auth, "Writers Co", 0)
    body = ingest.bulk_body(seed.Party(party.id, party.facility_id), batches, "T")
    answer = client.post(
        "/api/v1/batches:bulk",
        data=body,
        headers={**party.headers, "Content-Type": "application/json"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert len(json.loads(answer.get_data())["items"]) == batches


def test_checks_pass_on_what_the_service_wrote(app, client, auth):
    _register(app, client, auth, 3)
    with app.app_context(), db.engine.connect() as connection:
        assert check_ledger(connection).startswith("ok: 6 events, indexes 0..5 dense")
        assert check_quantities(connection, 3).startswith("ok: 3 batches")
        # The clients were answered for a batch the database does not hold.
        assert check_quantities(connection, 4).startswith("FAILED")


def test_a_gap_or_a_changed_quantity_is_caught(app, client, auth):
    _register(app, client, auth, 2)
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE ledger_head SET size = size + 1"))
        assert check_ledger(connection).startswith("FAILED: events: 4 rows")
        connection.execute(sa.text("UPDATE ledger_head SET size = size - 1"))
        connection.execute(sa.text("UPDATE ledger_leaves SET leaf_index = 7 WHERE leaf_index = 3"))
        assert check_ledger(connection).startswith("FAILED: ledger_leaves")
        connection.execute(sa.text("UPDATE ledger_leaves SET leaf_index = 3 WHERE leaf_index = 7"))
        assert check_ledger(connection).startswith("ok")
        connection.execute(sa.text("UPDATE batches SET quantity_micro = quantity_micro - 1"))
        assert check_quantities(connection, 2).startswith("FAILED: 2 batches")
        connection.rollback()


def test_through_the_pooler_only_the_address_changes():
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/chemtrace_bench_writers_2x8"
    assert through_pooler(url, None) == url
    assert through_pooler(url, "127.0.0.1:6432") == (
        "postgresql+psycopg://postgres@127.0.0.1:6432/chemtrace_bench_writers_2x8"
    )
