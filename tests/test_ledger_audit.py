"""docs/examples/ledger_auditor.py against a live service: HTTP and the public key only.

The auditor keeps a checkpoint, 10,000 new events are recorded, and it checks that the new
checkpoint extends the kept one and that a chosen event is in it. Then an operator rewrites
that event in the database, and the auditor's inclusion check fails.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.live import chemtrace_command, example_path, load_example, running_service

NEW_EVENTS = 10_000
BULK = 1000  # items per batches:bulk request; each registration is two events


def run_auditor(service, keys: list[str], state: Path, *command: str):
    pins = [arg for key in keys for arg in ("--verifier-key", key)]
    return subprocess.run(
        [
            sys.executable,
            str(example_path("ledger_auditor")),
            "--url",
            service.base_url,
            *pins,
            "--state",
            str(state),
            *command,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.slow
def test_auditor_checks_consistency_and_inclusion_over_http(app, database_url, tmp_path):
    scenario = load_example("scenario")
    state = tmp_path / "auditor-state.json"
    with running_service(database_url, tmp_path / "data") as service:
        admin_key = service.chemtrace("apikey", "create", "--role", "admin").split()[-1]
        admin = scenario.Api(service.base_url, admin_key)
        regulator_key = admin.call("POST", "/api/v1/api-keys", {"role": "regulator"}, 201)["key"]
        producer, _, site = scenario.party(
            admin, admin.as_(regulator_key), "Audited JSC", random.Random(5)
        )

        def batch(lot: str) -> dict:
            return {
                "cas_rn": "108-24-7",
                "lot_number": lot,
                "quantity": scenario.q("25"),
                "facility_id": site,
                "origin": {"kind": "produced"},
            }

        chosen = producer.call("POST", "/api/v1/batches", batch("CHOSEN-1"), 201)
        # The auditor pins the verifier keys (in real life: from the regulator, out of band).
        status, published = service.get("/api/v1/ledger/checkpoint?format=verifier-key")
        assert status == 200
        keys = published.split()

        first = run_auditor(service, keys, state, "checkpoint")
        assert first.returncode == 0, first.stderr
        kept_size = json.loads(state.read_text())["checkpoints"][0]["note"].split("\n")[1]
        assert first.stdout.startswith(f"first checkpoint kept: {kept_size} entries")

        for start in range(0, NEW_EVENTS // 2, BULK):
            items = [batch(f"BULK-{n}") for n in range(start, start + BULK)]
            producer.call("POST", "/api/v1/batches:bulk", {"items": items}, 201)

        second = run_auditor(service, keys, state, "checkpoint")
        assert second.returncode == 0, second.stderr
        grown = int(kept_size) + NEW_EVENTS
        assert second.stdout.startswith(f"consistent: {kept_size} -> {grown} entries")

        index = str(chosen["ledger_index"])
        included = run_auditor(service, keys, state, "include", index, "--api-key", regulator_key)
        assert included.returncode == 0, included.stderr
        assert f"included: entry {index} (event " in included.stdout
        assert f"registered of batch {chosen['id']}" in included.stdout

        verify = subprocess.run(
            [chemtrace_command(), "ledger", "verify"],
            env=service.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert verify.returncode == 0, verify.stderr
        assert verify.stdout.startswith(f"ok: {grown} entries")

        # A rogue operator rewrites the chosen event; the served leaf no longer proves.
        engine = sa.create_engine(database_url)
        with engine.begin() as connection:
            connection.execute(
                sa.text("UPDATE events SET quantity_micro = 1 WHERE ledger_index = :i"),
                {"i": chosen["ledger_index"]},
            )
        engine.dispose()
        tampered = run_auditor(service, keys, state, "include", index, "--api-key", regulator_key)
        assert tampered.returncode == 1
        assert f"AUDIT FAILED: entry {index} is not in the tree" in tampered.stderr
