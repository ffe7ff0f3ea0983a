"""Several writers: how far the ledger's one serialisation point carries.

Every event takes the next dense ledger index under the ``ledger_head`` row lock
(``registry.ledger.events._claim``), held until its transaction commits. This benchmark puts
several servers and clients on that lock and checks that nothing was lost or doubled:

    .venv/bin/python -m bench.writers                  # 1 server x 1 client, then 2 x 8
    .venv/bin/python -m bench.writers --seconds 60 --items 100
    .venv/bin/python -m bench.writers --pooler 127.0.0.1:6432   # the servers through PgBouncer

For each configuration it creates a scratch PostgreSQL database on ``--postgresql-url``
(dropped afterwards), prepares it as ``chemtrace init`` would, makes one licensed
organisation and enterprise key per client, starts the servers with ``chemtrace serve``
(each its own data directory and port, one shared ``CHEMTRACE_KEYS_DIR``), and has the
clients post ``POST /api/v1/batches:bulk`` round-robin over the servers for a fixed time.
Then, on the database:

- the ledger indexes of the events and of the leaves are exactly 0..n-1 (no gap, no
  duplicate) and ``ledger_head.size`` is n;
- ``chemtrace ledger verify`` exits 0;
- every batch holds what it was registered with, its events' deltas sum to it, and the
  registered total equals what the clients were answered.

It prints events/s for each configuration and the ratio of the several-writer figure to the
one-writer one, measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import ingest, seed, service
from bench.ledger_proofs import drop_database, scratch_database
from registry.db import db
from tests.live import chemtrace_command

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
QUANTITY_MICRO = 250_500_000_000  # the 250.5 kg of every item of ingest.bulk_body, in µg


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class ClientResult:
    server: str
    requests: int = 0
    batches: int = 0
    latencies: list[float] = field(default_factory=list)
    error: str | None = None


@dataclass
class Outcome:
    servers: int
    clients: int
    seconds: float
    events: int
    per_server: dict[str, int]
    p50_ms: float
    p99_ms: float
    checks: dict[str, str]
    locks: str

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def ok(self) -> bool:
        return all(v.startswith("ok") for v in self.checks.values())


def client(
    base_url: str, key: str, party: seed.Party, tag: str, items: int, until: float
) -> ClientResult:
    """Post bulk requests one after another until ``until`` (a request under way finishes)."""
    result = ClientResult(base_url)
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    n = 0
    while time.monotonic() < until:
        body = ingest.bulk_body(party, items, f"{tag}-{n}")
        started = time.perf_counter()
        connection.request("POST", "/api/v1/batches:bulk", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 201:
            result.error = f"{response.status}: {answer[:300]!r}"
            break
        result.latencies.append(time.perf_counter() - started)
        result.requests += 1
        result.batches += len(json.loads(answer)["items"])
        n += 1
    connection.close()
    return result


class LockWatch:
    """Samples ``pg_stat_activity`` of the database every 50 ms: how many of its backends
    run a statement, and how many of those wait for a lock (the ledger head's row lock is
    the only one writers of different organisations share)."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.database = make_url(url).database
        self.samples: list[tuple[int, int]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        query = sa.text(
            "SELECT count(*) FILTER (WHERE state = 'active'), "
            "count(*) FILTER (WHERE state = 'active' AND wait_event_type = 'Lock') "
            "FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()"
        )
        with self.engine.connect() as connection:
            while not self._done.is_set():
                active, waiting = connection.execute(query, {"db": self.database}).one()
                self.samples.append((active, waiting))
                time.sleep(0.05)

    def __enter__(self) -> LockWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.engine.dispose()

    def summary(self) -> str:
        if not self.samples:
            return "no samples"
        n = len(self.samples)
        active = sum(a for a, _ in self.samples) / n
        waiting = sum(w for _, w in self.samples) / n
        blocked = sum(1 for _, w in self.samples if w) / n
        return (
            f"{active:.1f} statements running on average, {waiting:.1f} of them waiting for "
            f"a lock; a writer waited in {blocked:.0%} of {n} samples"
        )


def drive(servers: list[str], keys: list[str], parties, items: int, seconds: float, tag: str):
    """Every client (thread) on server ``i % len(servers)``; the wall time and results."""
    results: list[ClientResult | None] = [None] * len(keys)
    until = time.monotonic() + seconds

    def run(i: int) -> None:
        results[i] = client(
            servers[i % len(servers)], keys[i], parties[i], f"{tag}{i}", items, until
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(keys))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, [r for r in results if r is not None]


# --- the checks -----------------------------------------------------------------------------


def check_ledger(connection) -> str:
    head = connection.execute(sa.text("SELECT size FROM ledger_head WHERE id = 1")).scalar_one()
    for table, column in (("events", "ledger_index"), ("ledger_leaves", "leaf_index")):
        count, distinct, low, high = connection.execute(
            sa.text(
                f"SELECT count(*), count(DISTINCT {column}), min({column}), max({column}) "
                f"FROM {table}"
            )
        ).one()
        if not (count == distinct == head and low == 0 and high == head - 1):
            return (
                f"FAILED: {table}: {count} rows, {distinct} distinct indexes, "
                f"{low}..{high}, ledger_head.size {head}"
            )
    unmatched = connection.execute(
        sa.text(
            "SELECT count(*) FROM events e FULL JOIN ledger_leaves l "
            "ON l.leaf_index = e.ledger_index AND l.event_id = e.id "
            "WHERE e.id IS NULL OR l.event_id IS NULL"
        )
    ).scalar_one()
    if unmatched:
        return f"FAILED: {unmatched} events and leaves do not pair by index"
    return f"ok: {head:,} events, indexes 0..{head - 1:,} dense, one leaf each"


def check_quantities(connection, answered_batches: int) -> str:
    batches, total = connection.execute(
        sa.text("SELECT count(*), sum(quantity_micro) FROM batches")
    ).one()
    wrong = connection.execute(
        sa.text(
            "SELECT count(*) FROM batches b LEFT JOIN ("
            " SELECT batch_id, sum(quantity_delta_micro) AS moved FROM events GROUP BY batch_id"
            ") e ON e.batch_id = b.id "
            "WHERE b.quantity_micro <> :q OR b.initial_quantity_micro <> :q "
            "OR coalesce(e.moved, 0) <> b.quantity_micro"
        ),
        {"q": QUANTITY_MICRO},
    ).scalar_one()
    if wrong:
        return f"FAILED: {wrong} batches whose quantity is not what was registered"
    if batches != answered_batches or total != answered_batches * QUANTITY_MICRO:
        return (
            f"FAILED: {batches} batches holding {total} µg, the clients were answered for "
            f"{answered_batches} batches ({answered_batches * QUANTITY_MICRO} µg)"
        )
    return (
        f"ok: {batches:,} batches, {total / 10**9:,.1f} kg registered = held = "
        f"sum of their events' deltas"
    )


def ledger_verify(env: dict[str, str]) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [chemtrace_command(), "ledger", "verify"], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    text = (done.stdout + done.stderr).strip().splitlines()
    last = text[-1] if text else ""
    if done.returncode:
        return f"FAILED (exit {done.returncode}): {last}"
    return f"{last} (in {seconds:.1f} s, the command's start included)"


# --- one configuration ----------------------------------------------------------------------


def through_pooler(url: str, pooler: str | None) -> str:
    """The servers' database URL: the same database, through ``host:port`` when a pooler is
    named (the servers then run with CHEMTRACE_DB_PREPARE_THRESHOLD=none: transaction
    pooling hands each transaction any server connection, where psycopg's prepared
    statements do not exist or already do)."""
    if not pooler:
        return url
    host, port = pooler.rsplit(":", 1)
    return make_url(url).set(host=host, port=int(port)).render_as_string(hide_password=False)


def configuration(base_pg: str, tmp: Path, servers: int, clients: int, args, name: str) -> Outcome:
    url = scratch_database(base_pg, name, tmp)
    home = tmp / name
    keys_dir = home / "keys"
    served_url = through_pooler(url, args.pooler)
    try:
        seed.prepare(url, home)  # schema, signing key (home/keys), ledger head, catalogue
        app = seed.app_for(url, home)
        with app.app_context():
            parties = seed.make_parties(clients, random.Random(clients))
            db.session.remove()
            db.engine.dispose()
        keys = [seed.issue_key(url, home, "enterprise", p.id) for p in parties]
        shared = {"CHEMTRACE_KEYS_DIR": str(keys_dir)}
        if args.pooler:
            shared["CHEMTRACE_DB_PREPARE_THRESHOLD"] = "none"
        for i in range(servers):
            (home / f"server-{i}").mkdir()
        with contextlib.ExitStack() as stack:
            running = [
                stack.enter_context(service.registry(served_url, home / f"server-{i}", shared))
                for i in range(servers)
            ]
            urls = [s.base_url for s in running]
            log(f"{name}: {servers} server(s) {', '.join(urls)}; {clients} client(s)")
            # Warm every worker's connections and caches; counted in the checks, not the rate.
            _, warmed = drive(urls, keys, parties, 5, 0.01, "WARM")
            with LockWatch(url) as watch:
                seconds, results = drive(urls, keys, parties, args.items, args.seconds, "W")
        errors = [r.error for r in warmed + results if r.error]
        if errors:
            raise RuntimeError(f"a client was refused: {errors[0]}")
        answered = sum(r.batches for r in warmed + results)
        events = sum(r.batches for r in results) * ingest.EVENTS_PER_BATCH
        per_server: dict[str, int] = {}
        for r in results:
            per_server[r.server] = per_server.get(r.server, 0) + r.batches * 2
        latencies = sorted(t for r in results for t in r.latencies)
        engine = sa.create_engine(url)
        with engine.connect() as connection:
            checks = {
                "ledger indexes": check_ledger(connection),
                "quantities": check_quantities(connection, answered),
            }
        engine.dispose()
        env = {
            **os.environ,
            "CHEMTRACE_DATABASE_URL": url,
            "CHEMTRACE_DATA_DIR": str(home),
            "CHEMTRACE_LOG_LEVEL": "WARNING",
        }
        checks["chemtrace ledger verify"] = ledger_verify(env)
        return Outcome(
            servers,
            clients,
            seconds,
            events,
            per_server,
            statistics.median(latencies) * 1000,
            latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
            checks,
            watch.summary(),
        )
    finally:
        drop_database(base_pg, name)


def report(outcomes: list[Outcome], args) -> str:
    lines = [
        f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} CPUs "
        f"(`python -m bench.writers`, {args.seconds:g} s per configuration, {args.items} batches "
        f"= {args.items * 2} events per request"
        + (f", servers through {args.pooler}" if args.pooler else "")
        + ").",
        "",
        "| servers × clients | events/s | request p50 / p99 | events per server | database "
        "backends (sampled) | checks |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        split = ", ".join(f"{v:,}" for v in o.per_server.values())
        checks = "; ".join(f"{k}: {v}" for k, v in o.checks.items())
        lines.append(
            f"| {o.servers} × {o.clients} | {o.rate:,.0f} ({o.events:,} in {o.seconds:.1f} s) "
            f"| {o.p50_ms:.0f} / {o.p99_ms:.0f} ms | {split} | {o.locks} | {checks} |"
        )
    if len(outcomes) == 2:
        lines += [
            "",
            f"{outcomes[1].servers} × {outcomes[1].clients} / {outcomes[0].servers} × "
            f"{outcomes[0].clients}: ×{outcomes[1].rate / outcomes[0].rate:.2f}",
        ]
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.writers", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=30, help="per configuration")
    parser.add_argument("--items", type=int, default=100, help="batches per bulk request")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--no-single", action="store_true", help="skip the 1 × 1 baseline")
    parser.add_argument(
        "--pooler", help="host:port of a PgBouncer in front of the same server, for the servers"
    )
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("CHEMTRACE_BENCH_POSTGRESQL_URL", DEFAULT_PG),
    )
    return parser


def measure(args: argparse.Namespace) -> tuple[str, bool]:
    """Every configuration of ``args``: the markdown report, and whether every check held."""
    outcomes = run_plan(args)
    return report(outcomes, args), all(o.ok for o in outcomes)


def run_plan(args: argparse.Namespace) -> list[Outcome]:
    """1 server x 1 client (unless ``--no-single``), then ``--servers`` x ``--clients``."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="chemtrace-writers-") as directory:
        tmp = Path(directory)
        plan = [] if args.no_single else [(1, 1)]
        plan.append((args.servers, args.clients))
        for servers, clients in plan:
            name = f"chemtrace_bench_writers_{servers}x{clients}"
            outcomes.append(configuration(args.postgresql_url, tmp, servers, clients, args, name))
            log(f"{name}: {outcomes[-1].rate:,.0f} events/s")
    return outcomes


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ["CHEMTRACE_LOG_LEVEL"] = "WARNING"
    text, ok = measure(args)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
