"""The database goes away and comes back: readiness says so, requests fail fast with 503
problem+json and change nothing, and the service recovers by itself.

On PostgreSQL the server is reached through a loopback proxy that the test cuts, as a
stopped server would (new connections refused, open ones reset). An embedded SQLite database
has no server to lose; its counterpart is a database held busy by another writer, which must
also be answered with a 503 and Retry-After, never a 500.
"""

from __future__ import annotations

import sqlite3
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from registry.db import db
from registry.models import Batch
from tests.api.batch_helpers import Party, qty
from tests.api.test_errors import assert_problem
from tests.faults import proxied

# A bound on how long the whole outage phase may take, so that a hanging request fails the
# test instead of the CI job; not a performance target (the connect timeout is 3 s).
OUTAGE_BOUND_SECONDS = 60


def register(client, party: Party, lot_number: str, key: str | None = None):
    return client.post(
        "/api/v1/batches",
        json={
            "cas_rn": "108-24-7",
            "lot_number": lot_number,
            "quantity": qty("500"),
            "facility_id": party.facility_id,
            "origin": {"kind": "produced"},
        },
        headers={**party.headers, **({"Idempotency-Key": key} if key else {})},
    )


def _batch_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Batch))


def test_postgresql_outage_fails_fast_loses_nothing_and_recovers(
    app, another_app, database_url, producer
):
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("needs a database server to take away: runs in the PostgreSQL pass of CI")
    with proxied(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        service = another_app(SQLALCHEMY_DATABASE_URI=through, RATELIMIT_ENABLED=True)
        client = service.test_client()

        assert client.get("/readyz").status_code == 200
        assert register(client, producer, "BEFORE").status_code == 201
        assert _batch_count(app) == 1

        proxy.cut()
        started = time.monotonic()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == ["database unreachable"]
        for _ in range(3):
            refused = register(client, producer, "DURING", key="k-1")
            body = assert_problem(refused, 503, "database_unavailable")
            assert refused.headers["Retry-After"] == "5"
            assert "SELECT" not in body["detail"] and "psycopg" not in body["detail"]
        listed = client.get("/api/v1/batches", headers=producer.headers)
        assert_problem(listed, 503, "database_unavailable")
        assert time.monotonic() - started < OUTAGE_BOUND_SECONDS
        assert _batch_count(app) == 1, "a refused request wrote something"

        proxy.restore()
        assert client.get("/readyz").status_code == 200
        # The client retries with the same key; it is applied once.
        for _ in range(2):
            retried = register(client, producer, "DURING", key="k-1")
            assert retried.status_code == 201, retried.json
        assert _batch_count(app) == 2
        lots = client.get("/api/v1/batches", headers=producer.headers).json["items"]
        assert sorted(b["lot_number"] for b in lots) == ["BEFORE", "DURING"]


def test_sqlite_held_busy_is_answered_503_and_then_served(app, another_app, database_url, producer):
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's busy database: runs in the SQLite pass of CI")
    client = another_app(
        RATELIMIT_ENABLED=True,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.5}},
    ).test_client()

    other_writer = sqlite3.connect(url.database, timeout=0)
    other_writer.execute("BEGIN IMMEDIATE")
    try:
        refused = register(client, producer, "BUSY")
        assert_problem(refused, 503, "database_unavailable")
        assert refused.headers["Retry-After"] == "5"
    finally:
        other_writer.rollback()
        other_writer.close()
    assert _batch_count(app) == 0
    assert register(client, producer, "BUSY").status_code == 201
