"""How roots and proofs scale with the ledger: 10,000 leaves against 1,000,000.

Builds two ledgers of synthetic leaves (the tree tables only: leaves and stored subtree
nodes, as the service writes them), then times, through the HTTP routes in-process, the
checkpoint root, inclusion proofs and consistency proofs at random positions, and counts the
SQL statements and stored nodes each one reads. O(log n) means the 1M figures stay close to
the 10k ones; O(n) would make them 100x slower.

    python bench/ledger_proofs.py                 # SQLite files in a temporary directory
    CHEMTRACE_DATABASE_URL=postgresql+psycopg://... python bench/ledger_proofs.py

The PostgreSQL database named in the URL is used as a server to create two scratch databases.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from api import create_app
from api.database import upgrade_to_head
from crypto import merkle
from registry.db import db
from registry.ledger import events, tree
from registry.models import LedgerLeaf, LedgerNode
from registry.signing import signer

SIZES = (10_000, 1_000_000)
SAMPLES = 300
CHUNK = 50_000


def scratch_database(base_url: str | None, name: str, directory: Path) -> str:
    if not base_url:
        return f"sqlite:///{directory / name}.db"
    url = make_url(base_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(base_url: str | None, name: str) -> None:
    if base_url:
        admin = sa.create_engine(make_url(base_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def fill(size: int) -> float:
    """Append ``size`` synthetic leaves with their nodes, as ``tree.append`` would."""
    started = time.perf_counter()
    frontier: dict[tuple[int, int], bytes] = {}
    leaves, nodes = [], []
    for n in range(size):
        digest = merkle.leaf_hash(n.to_bytes(8, "big"))
        for level, index, h in merkle.append_leaf(n, digest, lambda lv, i: frontier[(lv, i)]):
            frontier[(level, index)] = h
            if level:
                nodes.append({"level": level, "index": index, "hash": h})
                # Both children are now inside this node: no later append reads them.
                frontier.pop((level - 1, 2 * index), None)
                frontier.pop((level - 1, 2 * index + 1), None)
            else:
                leaves.append({"index": index, "event_id": f"B{index:025d}", "hash": h})
        if len(leaves) >= CHUNK or n == size - 1:
            db.session.execute(sa.insert(LedgerLeaf), leaves)
            if nodes:
                db.session.execute(sa.insert(LedgerNode), nodes)
            db.session.commit()
            leaves, nodes = [], []
    db.session.execute(sa.text("UPDATE ledger_head SET size = :n"), {"n": size})
    db.session.commit()
    return time.perf_counter() - started


class Statements:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn, cursor, statement, *args) -> None:
        if not statement.startswith("BEGIN"):
            self.count += 1


def measure(client, paths: list[str]) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, SQL statements per request) over ``paths``."""
    counter = Statements()
    sa.event.listen(db.engine, "before_cursor_execute", counter)
    timings = []
    try:
        for path in paths:
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    timings.sort()
    return (
        statistics.median(timings),
        timings[int(len(timings) * 0.99) - 1],
        counter.count / len(paths),
    )


def bench_size(size: int, database_url: str, data_dir: Path) -> dict[str, object]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATA_DIR": data_dir})
    rng = random.Random(size)
    with app.app_context():
        upgrade_to_head()
        signer().keys.ensure()
        events.ensure_ledger_head()
        db.session.commit()
        fill_seconds = fill(size)
        client = app.test_client()
        indexes = [rng.randrange(size) for _ in range(SAMPLES)]
        firsts = [rng.randrange(1, size) for _ in range(SAMPLES)]
        figures = {
            "size": size,
            "fill_s": fill_seconds,
            "inclusion": measure(
                client,
                [f"/api/v1/ledger/proofs/inclusion?index={i}&tree_size={size}" for i in indexes],
            ),
            "consistency": measure(
                client,
                [f"/api/v1/ledger/proofs/consistency?first={f}&second={size}" for f in firsts],
            ),
            "nodes_inclusion": statistics.mean(
                len(merkle.inclusion_nodes(i, size)) + len(merkle.root_nodes(size)) for i in indexes
            ),
            "nodes_consistency": statistics.mean(
                len(merkle.consistency_nodes(f, size)) for f in firsts
            ),
        }
        started = time.perf_counter()
        for _ in range(SAMPLES):
            tree.root_at(size)
        figures["root_ms"] = (time.perf_counter() - started) * 1000 / SAMPLES
        db.session.remove()
        db.engine.dispose()
    return figures


def main() -> int:
    base_url = os.environ.get("CHEMTRACE_DATABASE_URL")
    backend = "postgresql" if base_url else "sqlite"
    results = []
    with tempfile.TemporaryDirectory(prefix="chemtrace-bench-") as tmp:
        for size in SIZES:
            name = f"chemtrace_bench_ledger_{size}"
            url = scratch_database(base_url, name, Path(tmp))
            try:
                print(f"building {size:,} leaves on {backend}...", file=sys.stderr, flush=True)
                results.append(bench_size(size, url, Path(tmp) / name))
            finally:
                drop_database(base_url, name)
    small, large = results
    print(f"\nledger proofs on {backend}: {SAMPLES} random requests per figure, in-process HTTP")
    columns = [f"{small['size']:,} leaves", f"{large['size']:,} leaves", "ratio"]
    header = f"{'':<34}{columns[0]:>18}{columns[1]:>18}{columns[2]:>10}"
    print(header)
    print("-" * len(header))

    def row(label: str, a: float, b: float, unit: str = "") -> None:
        print(f"{label:<34}{a:>16.3f}{unit:>2}{b:>16.3f}{unit:>2}{b / a:>10.2f}")

    for name in ("inclusion", "consistency"):
        row(f"{name} proof p50", small[name][0], large[name][0], "ms")
        row(f"{name} proof p99", small[name][1], large[name][1], "ms")
        row(f"{name} SQL statements/request", small[name][2], large[name][2])
    row("inclusion nodes read", small["nodes_inclusion"], large["nodes_inclusion"])
    row("consistency nodes read", small["nodes_consistency"], large["nodes_consistency"])
    row("root at size (domain call)", small["root_ms"], large["root_ms"], "ms")
    row("building the tree", small["fill_s"], large["fill_s"], "s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
