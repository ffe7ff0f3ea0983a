"""Writes racing on one batch through a real multi-worker gunicorn service.

Two requests are sent at the same moment (threads released together by a barrier), round
after round. Like every write they must serialise on PostgreSQL, each taking the row locks
of the batches it changes before the ledger's lock, so that the second sees what the first
did and neither waits for the other in a cycle (a deadlock, answered 503):

- two recalls of one batch, or a recall and a shipment of the whole batch: exactly one of
  the two succeeds and the other is a 409 state_conflict, the batch records at most one
  recall, and the answers, the rows and the events agree;
- a transformation and a consumption of the same input, both of which fit: both succeed.

The ledger verifies after each.
"""

from __future__ import annotations

import subprocess
import threading
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from registry.db import db
from registry.models import Batch, Event, LedgerHead, Transfer
from tests.api.batch_helpers import make_party
from tests.live import chemtrace_command, running_service
from tests.test_concurrency import _call, _micro

ROUNDS = 12
WORKERS = 4
QUANTITY = {"value": "10", "unit": "kg"}
FOUR_KG = {"value": "4", "unit": "kg"}


def _together(*calls: Any) -> list[tuple[int, dict[str, Any]]]:
    """Run the ``calls`` (each a function of no argument) at the same moment; their answers."""
    barrier = threading.Barrier(len(calls))
    answers: list[Any] = [None] * len(calls)

    def run(position: int) -> None:
        barrier.wait()
        try:
            answers[position] = calls[position]()
        except OSError as exc:  # a refused or timed-out connection is an answer too
            answers[position] = (type(exc).__name__, {"error": str(exc)})

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _code(answer: tuple[int, dict[str, Any]]) -> str:
    status, body = answer
    return "ok" if status in (200, 201) else f"{status} {body.get('code')}"


def _register(base: str, party: Any, count: int, lot: str) -> list[dict[str, Any]]:
    status, created = _call(
        base,
        "POST",
        "/api/v1/batches:bulk",
        party.headers,
        {
            "items": [
                {
                    "cas_rn": "108-24-7",
                    "lot_number": f"{lot}-{n}",
                    "quantity": QUANTITY,
                    "facility_id": party.facility_id,
                    "origin": {"kind": "produced"},
                }
                for n in range(count)
            ]
        },
    )
    assert status == 201, created
    return created["items"]


def _verify_ledger(service: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [chemtrace_command(), "ledger", "verify"],
        env=service.env,
        capture_output=True,
        text=True,
        check=False,
    )


def _event_deltas(batch_ids: list[str]) -> dict[str, int]:
    """Each batch's event quantity deltas, summed: what its events say it holds."""
    return dict(
        db.session.execute(
            sa.select(Event.batch_id, sa.func.sum(Event.quantity_delta_micro))
            .where(Event.batch_id.in_(batch_ids))
            .group_by(Event.batch_id)
        ).all()
    )


def _ledger_counts() -> tuple[int, int, int]:
    """(ledger size, events, highest ledger index + 1), read now."""
    db.session.remove()
    event_count = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    max_index = db.session.scalar(sa.select(sa.func.max(Event.ledger_index)))
    return db.session.get(LedgerHead, 1).size, event_count, max_index + 1


@pytest.mark.slow
def test_concurrent_recalls_and_a_recall_racing_a_shipment_serialise(
    app, auth, database_url, tmp_path
):
    producer = make_party(app, auth, "Producer", 0)
    receiver = make_party(app, auth, "Receiver", 1)
    regulator = auth("regulator")
    log_path = tmp_path / "data" / "server.log"
    double: dict[str, list[str]] = {}  # batch id -> the two recalls' outcomes
    versus: dict[str, dict[str, Any]] = {}  # batch id -> the recall's and the shipment's
    with running_service(database_url, tmp_path / "data", workers=WORKERS) as service:
        base = service.base_url
        created = _register(base, producer, 2 * ROUNDS, "RECALL")
        ids = [item["id"] for item in created]
        registered = _micro(created[0]["quantity"])

        def recall(batch_id: str, headers: dict[str, str]):
            return lambda: _call(
                base, "POST", f"/api/v1/batches/{batch_id}/recall", headers, {"reason": "race"}
            )

        def ship(batch_id: str):
            return lambda: _call(
                base,
                "POST",
                "/api/v1/transfers",
                producer.headers,
                {
                    "batch_id": batch_id,
                    "quantity": QUANTITY,
                    "to_organization_id": receiver.id,
                    "documents": [{"type": "invoice", "number": "RACE"}],
                },
            )

        for batch_id in ids[:ROUNDS]:
            answers = _together(recall(batch_id, producer.headers), recall(batch_id, regulator))
            double[batch_id] = sorted(_code(a) for a in answers)
        for batch_id in ids[ROUNDS:]:
            recalled, shipped = _together(recall(batch_id, producer.headers), ship(batch_id))
            versus[batch_id] = {
                "recall": _code(recalled),
                "ship": _code(shipped),
                "recall_answer": recalled[1],
                "ship_answer": shipped[1],
            }
        ledger_check = _verify_ledger(service)
    server_log = log_path.read_text()

    with app.app_context():
        db.session.remove()
        batches = {b.id: b for b in db.session.scalars(sa.select(Batch).where(Batch.id.in_(ids)))}
        recalls = Counter(
            db.session.scalars(
                sa.select(Event.batch_id).where(Event.batch_id.in_(ids), Event.type == "recalled")
            )
        )
        deltas = _event_deltas(ids)
        transfers = {
            t.source_batch_id: t
            for t in db.session.scalars(
                sa.select(Transfer).where(Transfer.source_batch_id.in_(ids))
            )
        }
        shipped_batches = {
            b.id: b
            for b in db.session.scalars(
                sa.select(Batch).where(
                    Batch.id.in_([t.shipped_batch_id for t in transfers.values()])
                )
            )
        }
        cascaded = Counter(
            db.session.scalars(
                sa.select(Event.batch_id).where(
                    Event.batch_id.in_(list(shipped_batches)), Event.type == "recalled"
                )
            )
        )
        event_count = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        max_index = db.session.scalar(sa.select(sa.func.max(Event.ledger_index)))
        ledger_size = db.session.get(LedgerHead, 1).size

    report = "\n".join(
        [
            f"recall races on {database_url.split('://')[0]}:",
            f"  two recalls: {Counter(tuple(o) for o in double.values())}",
            f"  recall vs shipment: {Counter((v['recall'], v['ship']) for v in versus.values())}",
            f"  ledger verify: {ledger_check.stdout.strip()} {ledger_check.stderr.strip()}",
        ]
    )
    print(f"\n{report}")

    assert "Traceback" not in server_log, f"{report}\nserver log:\n{server_log[-5000:]}"
    for batch_id, outcomes in double.items():
        # One recall went through; the other found the batch recalled already.
        assert outcomes == ["409 state_conflict", "ok"], f"{batch_id}: {outcomes}\n{report}"
        batch = batches[batch_id]
        assert recalls[batch_id] == 1, f"{batch_id}: {recalls[batch_id]} recalls\n{report}"
        assert (batch.status, batch.quantity_micro) == ("recalled", registered), report
        assert batch_id not in transfers, report
    for batch_id, race in versus.items():
        batch = batches[batch_id]
        outcome = (race["recall"], race["ship"])
        assert deltas[batch_id] == batch.quantity_micro, report
        if outcome == ("ok", "409 state_conflict"):
            # The recall came first: nothing left, the batch is recalled with all it held.
            assert (batch.status, batch.quantity_micro) == ("recalled", registered), report
            assert _micro(race["recall_answer"]["quantity"]) == registered, report
            assert recalls[batch_id] == 1, report
            assert batch_id not in transfers, report
        else:
            # The shipment came first: the batch is empty, so it can no longer be recalled.
            assert outcome == ("409 state_conflict", "ok"), f"{batch_id}: {outcome}\n{report}"
            assert (batch.status, batch.quantity_micro) == ("depleted", 0), report
            assert recalls[batch_id] == 0, report
            transfer = transfers[batch_id]
            assert transfer.status == "in_transit", report
            shipped = shipped_batches[transfer.shipped_batch_id]
            assert (shipped.status, shipped.quantity_micro) == ("in_transit", registered), report
            assert cascaded[shipped.id] == 0, report
    assert ledger_size == event_count == max_index + 1, report
    assert ledger_check.returncode == 0, ledger_check.stderr
    assert ledger_check.stdout.startswith(f"ok: {event_count} entries"), ledger_check.stdout


@pytest.mark.slow
def test_a_transformation_racing_a_consumption_of_its_input_serialises(
    app, auth, database_url, tmp_path
):
    """The transformation used to claim the ledger's lock (registering its output) before
    the input's row lock, the consumption the other way round: on PostgreSQL some pairs
    deadlocked and one of them was answered 503."""
    producer = make_party(app, auth, "Producer", 0)
    log_path = tmp_path / "data" / "server.log"
    outcomes: Counter[tuple[str, str]] = Counter()
    with running_service(database_url, tmp_path / "data", workers=WORKERS) as service:
        base = service.base_url
        ids = [item["id"] for item in _register(base, producer, ROUNDS, "INPUT")]
        for batch_id in ids:
            transformed, consumed = _together(
                lambda batch_id=batch_id: _call(
                    base,
                    "POST",
                    "/api/v1/transformations",
                    producer.headers,
                    {
                        "inputs": [{"batch_id": batch_id, "quantity": FOUR_KG}],
                        "output": {
                            "cas_rn": "67-64-1",
                            "lot_number": "OUT",
                            "quantity": FOUR_KG,
                            "facility_id": producer.facility_id,
                        },
                    },
                ),
                lambda batch_id=batch_id: _call(
                    base,
                    "POST",
                    f"/api/v1/batches/{batch_id}/consume",
                    producer.headers,
                    {"quantity": FOUR_KG, "purpose": "race"},
                ),
            )
            outcomes[(_code(transformed), _code(consumed))] += 1
        ledger_check = _verify_ledger(service)
    server_log = log_path.read_text()

    with app.app_context():
        left = dict(
            db.session.execute(
                sa.select(Batch.id, Batch.quantity_micro).where(Batch.id.in_(ids))
            ).all()
        )
        deltas = _event_deltas(ids)
        ledger_size, event_count, next_index = _ledger_counts()
    report = f"transformation vs consumption: {dict(outcomes)}; {ledger_check.stdout.strip()}"
    print(f"\n{report}")

    assert "Traceback" not in server_log, f"{report}\nserver log:\n{server_log[-5000:]}"
    assert outcomes == Counter({("ok", "ok"): ROUNDS}), report
    two_kg = 2 * 10**9
    assert left == dict.fromkeys(ids, two_kg), report
    assert deltas == left, report
    assert ledger_size == event_count == next_index, report
    assert ledger_check.returncode == 0, ledger_check.stderr
