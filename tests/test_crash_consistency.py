"""kill -9 in the middle of bulk ingestion: first one gunicorn worker, then the whole server.

Clients keep sending bulk registrations of 50 batches (each with an Idempotency-Key) and
splits of what was registered. After the crash and a restart on the same database:
``chemtrace ledger verify`` passes; every bulk request is wholly applied or not at all, and
every one answered 201 is there; every interrupted request can be completed by retrying it
with its key (applied once); and the mass balance adds up to the microgram, with no
discrepancy. Runs on SQLite and, in CI's second pass, on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from registry.db import db
from registry.models import Batch
from tests.api.batch_helpers import make_party
from tests.live import start_server, stop_server
from tests.test_concurrency import _call

BULK = 50
CLIENTS = 4
LOT_PREFIX = "CRASH"


def _workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _bulk(facility_id: str, key: str) -> dict[str, Any]:
    return {
        "items": [
            {
                "cas_rn": "108-24-7",
                "lot_number": f"{key}.{n}",
                "quantity": {"value": "1.5", "unit": "kg"},
                "facility_id": facility_id,
                "origin": {"kind": "produced"},
            }
            for n in range(BULK)
        ]
    }


def _moment(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@pytest.mark.slow
def test_kill_9_mid_ingestion_leaves_nothing_half_applied(app, auth, database_url, tmp_path):
    producer = make_party(app, auth, "Producer", 0)
    regulator = auth("regulator")
    since = datetime.now(UTC) - timedelta(seconds=1)
    data_dir = tmp_path / "data"
    sent: dict[str, dict[str, Any]] = {}  # idempotency key -> body
    outcomes: dict[str, str] = {}  # idempotency key -> "201", another status, or "lost"
    answered_after: Counter[str] = Counter()
    registered: list[str] = []  # batch ids from 201 answers, for splits
    phase = ["before"]
    lock = threading.Lock()
    stop = threading.Event()
    numbers = itertools.count()

    server, service = start_server(database_url, data_dir, workers=2)
    base = service.base_url

    def feed(client: int) -> None:
        while not stop.is_set():
            n = next(numbers)
            if n % 3 == 2 and registered:
                with lock:
                    batch_id = registered[n % len(registered)]
                path = f"/api/v1/batches/{batch_id}/split"
                key, body = f"{LOT_PREFIX}-split-{n}", {"parts": [{"value": "0.25", "unit": "kg"}]}
            else:
                path = "/api/v1/batches:bulk"
                key = f"{LOT_PREFIX}-{n}"
                body = _bulk(producer.facility_id, key)
            headers = {**producer.headers, "Idempotency-Key": key}
            with lock:
                sent[key] = {"path": path, "body": body}
            try:
                status, answer = _call(base, "POST", path, headers, body)
                outcome = str(status)
            except OSError:
                outcome = "lost"
            with lock:
                outcomes[key] = outcome
                answered_after[phase[0]] += outcome != "lost"
                if outcome == "201" and path.endswith(":bulk"):
                    registered.extend(item["id"] for item in answer["items"])

    threads = [threading.Thread(target=feed, args=(c,), daemon=True) for c in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        _wait_for(lambda: answered_after["before"] >= 6, "six answers before the first kill")
        os.kill(_workers(server.pid)[0], signal.SIGKILL)
        phase[0] = "after worker kill"
        # The master replaces the worker and the service goes on answering.
        _wait_for(lambda: answered_after["after worker kill"] >= 6, "answers after it")
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        phase[0] = "dead"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)

    tally = Counter(outcomes.values())
    assert tally["lost"] >= 1, f"no request was cut off by the kills: {tally}"
    assert set(tally) <= {"200", "201", "409", "lost"}, tally
    print(f"outcomes before the restart: {dict(tally)}")

    server, service = start_server(database_url, data_dir, workers=2)
    try:
        assert service.chemtrace("ledger", "verify").startswith("ok:")
        lots = _lots_by_request(app)
        for key, outcome in outcomes.items():
            if key.startswith(f"{LOT_PREFIX}-split"):
                continue
            assert lots.get(key, 0) in (0, BULK), f"{key} half-applied: {lots.get(key)} batches"
            if outcome == "201":
                assert lots.get(key) == BULK, f"{key} was answered 201 but is not all there"

        # Every request cut off by the crash is completed by its client's retry, once.
        for key, outcome in outcomes.items():
            if outcome == "lost":
                request = sent[key]
                headers = {**producer.headers, "Idempotency-Key": key}
                status, answer = _call(
                    service.base_url, "POST", request["path"], headers, request["body"]
                )
                assert status in (200, 201), (key, status, answer)
        lots = _lots_by_request(app)
        bulk_keys = [k for k in outcomes if not k.startswith(f"{LOT_PREFIX}-split")]
        assert all(lots[key] == BULK for key in bulk_keys)
        assert service.chemtrace("ledger", "verify").startswith("ok:")

        query = (
            f"organization_id={producer.id}&since={_moment(since)}"
            f"&until={_moment(datetime.now(UTC) + timedelta(seconds=1))}"
        )
        status, report = _call(
            service.base_url, "GET", f"/api/v1/reports/mass-balance?{query}", regulator
        )
        assert status == 200, report
        (line,) = report["lines"]
        produced = Decimal("1.5") * BULK * len(bulk_keys)
        assert Decimal(line["inflows"]["produced"]["value"]) == produced
        assert Decimal(line["actual_closing"]["value"]) == produced
        assert line["expected_closing"] == line["actual_closing"]
        assert Decimal(line["discrepancy"]["value"]) == 0
        assert _stock_matches_events(app)
    finally:
        stop_server(server)


def _wait_for(condition, what: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _lots_by_request(app) -> Counter[str]:
    with app.app_context():
        lots = db.session.scalars(
            # Registered batches only: the parts split off keep their parent's lot number.
            sa.select(Batch.lot_number).where(
                Batch.lot_number.like(f"{LOT_PREFIX}-%"), Batch.origin_kind == "produced"
            )
        )
        return Counter(lot.rsplit(".", 1)[0] for lot in lots)


def _stock_matches_events(app) -> bool:
    """Each batch holds exactly what its events added and took away."""
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT b.id, b.quantity_micro, COALESCE(SUM(e.quantity_delta_micro), 0) "
                "FROM batches b LEFT JOIN events e ON e.batch_id = b.id GROUP BY b.id, "
                "b.quantity_micro"
            )
        ).all()
    mismatched = [row for row in rows if row[1] != row[2]]
    assert not mismatched, mismatched[:5]
    return True
