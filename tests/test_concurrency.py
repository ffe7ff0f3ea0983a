"""Many clients racing on one batch through a real multi-worker gunicorn service.

Splits, consumptions and shipments of random exact quantities arrive from many threads
at once, asking for far more than the batch holds. Whatever the interleaving, every
request is answered with a success or a 409, never a 5xx; the quantity never goes below
zero; and what is left plus everything that left adds up to the registered amount, to
the microgram, in the answers and in the database.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from registry.db import db
from registry.models import Batch, BatchLink, Event, LedgerHead
from tests.api.batch_helpers import make_party
from tests.live import chemtrace_command, running_service

WORKERS = 4
THREADS = 16
REQUESTS = 300
REQUEST_TIMEOUT = 35  # above the 30 s SQLite busy_timeout, so a lock wait shows as a 5xx
REGISTERED_KG = Decimal(100)
MICRO_PER = {"g": 10**6, "kg": 10**9}
# The answers a racing request may get: success, or one of these two conflicts.
EXPECTED_CONFLICTS = {"insufficient_quantity", "state_conflict"}


def _call(
    base: str, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, dict[str, Any]]:
    """One request to 127.0.0.1; (status, JSON body). Network failures propagate."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}{path}",
        data=data,
        method=method,
        headers={**headers, "Content-Type": "application/json"} if data else dict(headers),
    )
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        parsed = json.loads(raw) if raw else {}
    except ValueError:
        parsed = {"raw": raw.decode(errors="replace")[:500]}
    return status, parsed


def _micro(quantity: dict[str, str]) -> int:
    micro = Decimal(quantity["value"]) * MICRO_PER[quantity["unit"]]
    assert micro == micro.to_integral_value(), quantity
    return int(micro)


def _kg(micro: int) -> str:
    return f"{Decimal(micro).scaleb(-9).normalize():f}"


def _random_quantity(rng: random.Random, max_mg: int) -> dict[str, str]:
    """A random exact mass of 1 mg to ``max_mg`` mg, written in g or in kg."""
    mg = rng.randint(1, max_mg)
    if rng.random() < 0.5:
        return {"value": f"{Decimal(mg).scaleb(-3):f}", "unit": "g"}
    return {"value": f"{Decimal(mg).scaleb(-6):f}", "unit": "kg"}


@pytest.mark.slow
def test_racing_splits_consumptions_and_shipments_add_up_exactly(app, auth, database_url, tmp_path):
    seed = int(os.environ.get("CHEMTRACE_RACE_SEED", random.randrange(2**32)))
    rng = random.Random(seed)
    producer = make_party(app, auth, "Producer", 0)
    receiver = make_party(app, auth, "Receiver", 1)

    log_path = tmp_path / "data" / "server.log"  # where running_service logs
    # (operation, outcome) -> count; outcome is "2xx", a 409 code, or the unexpected status.
    outcomes: Counter[tuple[str, str]] = Counter()
    unexpected: list[tuple[str, int | str, Any]] = []
    split_children: dict[str, int] = {}  # child id -> micro, from successful answers
    consumed_micro: list[int] = []
    shipped: dict[str, int] = {}  # shipped batch id -> micro
    reported_remaining: list[int] = []  # the parent's quantity in each split/consume answer
    asked_micro = 0
    lock = threading.Lock()
    with running_service(database_url, tmp_path / "data", workers=WORKERS) as service:
        base = service.base_url
        status, batch = _call(
            base,
            "POST",
            "/api/v1/batches",
            producer.headers,
            {
                "cas_rn": "108-24-7",
                "lot_number": "RACE-1",
                "quantity": {"value": str(REGISTERED_KG), "unit": "kg"},
                "facility_id": producer.facility_id,
                "origin": {"kind": "produced"},
            },
        )
        assert status == 201, f"{batch}\n{log_path.read_text()[-5000:]}"
        batch_id = batch["id"]
        registered_micro = _micro(batch["quantity"])
        assert registered_micro == int(REGISTERED_KG * MICRO_PER["kg"])

        # Each plan is drawn up front, from the seed, so a failing run can be replayed.
        plans: list[tuple[str, Any]] = []
        for n in range(REQUESTS):
            draw = rng.random()
            if n >= REQUESTS * 0.8 and draw < 0.1:
                plans.append(("consume_rest", None))  # read the quantity, then take all of it
            elif draw < 0.35:
                parts = [_random_quantity(rng, 500_000) for _ in range(rng.randint(1, 3))]
                plans.append(("split", parts))
            elif draw < 0.65:
                plans.append(("consume", _random_quantity(rng, 1_000_000)))
            else:
                plans.append(("ship", _random_quantity(rng, 1_000_000)))

        def outcome(operation: str, status: int, body: dict[str, Any]) -> str:
            if 200 <= status < 300:
                return "2xx"
            code = body.get("code")
            if status == 409 and code in EXPECTED_CONFLICTS:
                return f"409 {code}"
            unexpected.append((operation, status, body))
            return f"{status} {code}"

        def run(plan: tuple[str, Any]) -> None:
            nonlocal asked_micro
            operation, argument = plan
            try:
                if operation == "split":
                    asked = sum(_micro(p) for p in argument)
                    status, body = _call(
                        base,
                        "POST",
                        f"/api/v1/batches/{batch_id}/split",
                        producer.headers,
                        {"parts": argument},
                    )
                elif operation == "ship":
                    asked = _micro(argument)
                    status, body = _call(
                        base,
                        "POST",
                        "/api/v1/transfers",
                        producer.headers,
                        {
                            "batch_id": batch_id,
                            "quantity": argument,
                            "to_organization_id": receiver.id,
                            "documents": [{"type": "invoice", "number": "RACE"}],
                        },
                    )
                else:
                    if operation == "consume_rest":
                        seen_status, seen = _call(
                            base, "GET", f"/api/v1/batches/{batch_id}", producer.headers
                        )
                        if seen_status != 200:
                            with lock:
                                outcomes[("read", f"{seen_status}")] += 1
                                unexpected.append(("read", seen_status, seen))
                            return
                        argument = seen["quantity"]
                        if _micro(argument) == 0:
                            argument = {"value": "0.001", "unit": "g"}
                    asked = _micro(argument)
                    status, body = _call(
                        base,
                        "POST",
                        f"/api/v1/batches/{batch_id}/consume",
                        producer.headers,
                        {"quantity": argument, "purpose": "race"},
                    )
            except OSError as exc:  # a refused or timed-out connection is a failure too
                with lock:
                    outcomes[(operation, f"error {type(exc).__name__}")] += 1
                    unexpected.append((operation, type(exc).__name__, str(exc)))
                return
            with lock:
                asked_micro += asked
                result = outcome(operation, status, body)
                outcomes[(operation, result)] += 1
                if result != "2xx":
                    return
                if operation == "split":
                    children = {c["id"]: _micro(c["quantity"]) for c in body["children"]}
                    assert sorted(children.values()) == sorted(_micro(p) for p in argument)
                    split_children.update(children)
                    reported_remaining.append(_micro(body["parent"]["quantity"]))
                elif operation == "ship":
                    assert _micro(body["quantity"]) == asked, body
                    shipped[body["shipped_batch_id"]] = asked
                else:
                    consumed_micro.append(asked)
                    reported_remaining.append(_micro(body["quantity"]))

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(run, plans))
        elapsed = time.monotonic() - started

        status, final = _call(base, "GET", f"/api/v1/batches/{batch_id}", producer.headers)
        assert status == 200, final
        # The Merkle tree the racing writers appended to recomputes from the event rows.
        ledger_check = subprocess.run(
            [chemtrace_command(), "ledger", "verify"],
            env=service.env,
            capture_output=True,
            text=True,
            check=False,
        )
    server_log = log_path.read_text()

    final_micro = _micro(final["quantity"])
    split_sum, consumed_sum, shipped_sum = (
        sum(split_children.values()),
        sum(consumed_micro),
        sum(shipped.values()),
    )
    accounted = final_micro + split_sum + consumed_sum + shipped_sum

    with app.app_context():
        db.session.remove()
        parent = db.session.get(Batch, batch_id)
        event_sum = int(
            db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(Event.quantity_delta_micro), 0)).where(
                    Event.batch_id == batch_id
                )
            )
        )
        outflows = {
            kind: int(total)
            for kind, total in db.session.execute(
                sa.select(Event.type, sa.func.sum(Event.quantity_delta_micro))
                .where(
                    Event.batch_id == batch_id,
                    Event.type != "registered",
                    Event.quantity_delta_micro.is_not(None),
                )
                .group_by(Event.type)
            )
        }
        children_in_db = {
            kind: int(total)
            for kind, total in db.session.execute(
                sa.select(BatchLink.kind, sa.func.sum(Batch.quantity_micro))
                .join(Batch, Batch.id == BatchLink.child_id)
                .where(BatchLink.parent_id == batch_id)
                .group_by(BatchLink.kind)
            )
        }
        child_ids = set(
            db.session.scalars(sa.select(BatchLink.child_id).where(BatchLink.parent_id == batch_id))
        )
        negative = db.session.scalar(
            sa.select(sa.func.count()).select_from(Batch).where(Batch.quantity_micro < 0)
        )
        event_count = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
        max_index = db.session.scalar(sa.select(sa.func.max(Event.ledger_index)))
        ledger_size = db.session.get(LedgerHead, 1).size
        db_parent = (parent.quantity_micro, parent.status)

    by_operation: dict[str, Counter[str]] = {}
    for (operation, result), count in sorted(outcomes.items()):
        by_operation.setdefault(operation, Counter())[result] = count
    report = "\n".join(
        [
            f"race on {database_url.split('://')[0]}: seed {seed}, {WORKERS} workers, "
            f"{THREADS} threads, {sum(outcomes.values())} requests in {elapsed:.1f} s",
            *(f"  {op:<13} {dict(results)}" for op, results in by_operation.items()),
            f"  asked {_kg(asked_micro)} kg of {REGISTERED_KG} kg",
            f"  parent left {_kg(final_micro)} kg ({final['status']}); "
            f"split off {_kg(split_sum)} kg in {len(split_children)} children; "
            f"consumed {_kg(consumed_sum)} kg in {len(consumed_micro)}; "
            f"shipped {_kg(shipped_sum)} kg in {len(shipped)}",
            f"  database: parent {db_parent[0]} micro ({db_parent[1]}), event deltas "
            f"{event_sum}, outflows {outflows}, children {children_in_db}, "
            f"negative rows {negative}, events {event_count}, ledger size {ledger_size}",
            f"  unexpected: {unexpected[:5]}",
            f"  ledger verify: {ledger_check.stdout.strip()} {ledger_check.stderr.strip()}",
        ]
    )
    print(f"\n{report}")

    assert not unexpected, f"unexpected answers ({len(unexpected)}):\n{report}"
    assert not any(r.startswith("5") for results in by_operation.values() for r in results), report
    assert "unhandled error" not in server_log and "Traceback" not in server_log, (
        f"{report}\nserver log:\n{server_log[-5000:]}"
    )
    assert asked_micro > registered_micro, f"the race never asked for more than held:\n{report}"
    assert any(r.startswith("409") for results in by_operation.values() for r in results), report
    assert final_micro >= 0, report
    assert accounted == registered_micro, (
        f"left + split + consumed + shipped = {accounted} micro, not {registered_micro}:\n{report}"
    )
    # Each success left a different remainder behind: no two saw the same starting amount.
    assert len(reported_remaining) == len(set(reported_remaining)), f"lost update:\n{report}"
    # The database agrees with the answers, and the parent's events explain its quantity.
    assert db_parent[0] == final_micro, report
    assert event_sum == final_micro, f"event deltas do not sum to the quantity:\n{report}"
    assert outflows.get("split", 0) == -split_sum, report
    assert outflows.get("consumed", 0) == -consumed_sum, report
    assert outflows.get("shipped", 0) == -shipped_sum, report
    assert set(outflows) <= {"split", "consumed", "shipped"}, report
    assert children_in_db.get("split", 0) == split_sum, report
    assert children_in_db.get("transfer", 0) == shipped_sum, report
    assert child_ids == set(split_children) | set(shipped), report
    assert negative == 0, f"{negative} batches below zero:\n{report}"
    # Every event claimed its own ledger index: dense, no gaps, none lost.
    assert ledger_size == event_count == max_index + 1, report
    assert ledger_check.returncode == 0, ledger_check.stderr
    assert ledger_check.stdout.startswith(f"ok: {event_count} entries"), ledger_check.stdout
