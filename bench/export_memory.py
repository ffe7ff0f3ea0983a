"""Peak memory of a gunicorn worker streaming an export of 1,000,000 events.

Builds a database with EVENTS events (default 1,000,000), starts `chemtrace serve` with one
worker on 127.0.0.1, streams GET /api/v1/exports/events.ndjson and events.csv from this
process, and samples the worker's resident memory (VmRSS) every 20 ms. Prints the worker's
RSS at rest, its peak while streaming, rows, seconds and MB/s.

    python bench/export_memory.py
    CHEMTRACE_DATABASE_URL=postgresql+psycopg://... python bench/export_memory.py

With a PostgreSQL URL, a scratch database is created next to the one named and dropped after.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import create_app
from api.database import upgrade_to_head
from bench.ledger_proofs import drop_database, scratch_database
from registry.catalogue import organizations, substances
from registry.db import db, new_id
from registry.ledger import events
from registry.models import Batch, Event, Substance
from registry.signing import signer
from tests.live import chemtrace_command, free_port

EVENTS = int(os.environ.get("BENCH_EXPORT_EVENTS", 1_000_000))
CHUNK = 20_000
LIMIT_MB = 200


def build(database_url: str, data_dir: Path) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATA_DIR": data_dir})
    with app.app_context():
        upgrade_to_head()
        signer().keys.ensure()
        events.ensure_ledger_head()
        substances.seed_catalogue()
        org = organizations.create_organization("Bench Chemicals JSC", "0100109106")
        facility = organizations.add_facility(org.id, "Bench site", "Zone A")
        substance = db.session.scalars(
            sa.select(Substance).where(Substance.cas_rn == "108-24-7")
        ).one()
        batch = Batch(
            id=new_id(),
            substance_id=substance.id,
            cas_rn="108-24-7",
            lot_number="BENCH-1",
            dimension="mass",
            unit="kg",
            quantity_micro=10**15,
            initial_quantity_micro=10**15,
            concentration_pct="100",
            status="active",
            holder_organization_id=org.id,
            producer_organization_id=org.id,
            facility_id=facility.id,
            origin_kind="produced",
        )
        db.session.add(batch)
        db.session.commit()
        started = datetime(2026, 1, 1, tzinfo=UTC)
        table = Event.__table__
        for first in range(0, EVENTS, CHUNK):
            db.session.execute(
                table.insert(),
                [
                    {
                        "id": new_id(),
                        "ledger_index": n,
                        "type": "consumed",
                        "batch_id": batch.id,
                        "cas_rn": "108-24-7",
                        "organization_id": org.id,
                        "facility_id": facility.id,
                        "credential_id": "bench",
                        "actor_organization_id": org.id,
                        "actor_role": "enterprise",
                        "dimension": "mass",
                        "quantity_micro": 1_000_000 + n,
                        "quantity_delta_micro": -(1_000_000 + n),
                        "documents": [{"type": "invoice", "number": f"INV-{n}"}],
                        "details": {"purpose": "bench"},
                        "flagged": False,
                        "recorded_at": started + timedelta(seconds=n),
                    }
                    for n in range(first, min(first + CHUNK, EVENTS))
                ],
            )
            db.session.commit()
        db.session.remove()
        db.engine.dispose()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_of(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker appeared")


def stream(url: str, key: str, worker: int) -> tuple[int, float, float, float]:
    """(lines, seconds, MB received, peak worker RSS in MB) for one export."""
    peak = [rss_mb(worker)]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(worker))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    lines = received = 0
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        while chunk := response.read(1 << 16):
            received += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return lines, elapsed, received / 2**20, peak[0]


def main() -> int:
    base_url = os.environ.get("CHEMTRACE_DATABASE_URL")
    backend = "postgresql" if base_url else "sqlite"
    with tempfile.TemporaryDirectory(prefix="chemtrace-export-") as tmp:
        name = "chemtrace_bench_export"
        url = scratch_database(base_url, name, Path(tmp))
        data_dir = Path(tmp) / "data"
        try:
            print(f"building {EVENTS:,} events on {backend}...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            build(url, data_dir)
            built = time.perf_counter() - started
            env = {
                **os.environ,
                "CHEMTRACE_DATABASE_URL": url,
                "CHEMTRACE_DATA_DIR": str(data_dir),
                "CHEMTRACE_LOG_LEVEL": "WARNING",
            }
            key = subprocess.run(
                [chemtrace_command(), "apikey", "create", "--role", "regulator"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
            port = free_port()
            server = subprocess.Popen(
                [chemtrace_command(), "serve", "--port", str(port), "--workers", "1"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                base = f"http://127.0.0.1:{port}"
                for _ in range(300):
                    try:
                        urllib.request.urlopen(base + "/readyz", timeout=2)
                        break
                    except OSError:
                        time.sleep(0.2)
                worker = worker_of(server.pid)
                at_rest = rss_mb(worker)
                results = {
                    fmt: stream(f"{base}/api/v1/exports/events.{fmt}", key, worker)
                    for fmt in ("ndjson", "csv")
                }
            finally:
                server.terminate()
                server.wait(timeout=30)
        finally:
            drop_database(base_url, name)
    print(f"\nexport of {EVENTS:,} events on {backend} (built in {built:.0f} s), 1 worker")
    header = ("rows", "seconds", "MB", "MB/s", "RSS rest", "RSS peak")
    widths = (12, 10, 9, 8, 11, 11)
    print(f"{'':<10}" + "".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for fmt, (lines, seconds, megabytes, peak) in results.items():
        rows = lines - (1 if fmt == "csv" else 0)
        print(
            f"{fmt:<10}{rows:>12,}{seconds:>10.1f}{megabytes:>9.0f}{megabytes / seconds:>8.1f}"
            f"{at_rest:>10.0f}M{peak:>10.0f}M"
        )
    worst = max(peak for *_, peak in results.values())
    verdict = "under" if worst < LIMIT_MB else "OVER"
    print(f"peak worker RSS {worst:.0f} MB: {verdict} the {LIMIT_MB} MB target")
    return 0


if __name__ == "__main__":
    sys.exit(main())
