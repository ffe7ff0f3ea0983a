"""The benchmark suite: one command, its own data, the real server, figures and ratios.

    .venv/bin/python -m bench.run                       # SQLite and PostgreSQL, 10k and 1M
    .venv/bin/python -m bench.run --quick               # 10k and 100k events, short runs
    .venv/bin/python -m bench.run --database sqlite     # one backend
    .venv/bin/python -m bench.run --sweep               # also try gunicorn configurations
    .venv/bin/python -m bench.run --no-writers          # without target 6 (bench.writers)

For each database it seeds a small (10,000 events) and a large (1,000,000) registry
(``bench.seed``), starts ``chemtrace serve`` on 127.0.0.1 with its default gunicorn
configuration, and the bare Flask app of ``bench.baseline`` under the same configuration
file, then drives them from separate load-generator processes (``bench.load``: wrk, or
Python). With PostgreSQL it then runs target 6, several writers (``bench.writers``). It
prints one markdown table (``bench.report``) and writes it (``--output``) for
docs/performance.md.

PostgreSQL: ``--postgresql-url`` (default: postgres on 127.0.0.1:5432, or
``CHEMTRACE_BENCH_POSTGRESQL_URL``) names a server on which scratch databases are created
and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from bench import ingest, load, seed, service, writers
from bench.ledger_proofs import drop_database, scratch_database
from bench.report import sweep_table, table
from registry.pagination import encode_cursor

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PERIOD = "since=2026-01-01T00:00:00Z&until=2027-01-01T00:00:00Z"


class Settings:
    def __init__(self, quick: bool) -> None:
        self.small = 10_000
        self.large = 100_000 if quick else 1_000_000
        self.seconds = 5 if quick else 15  # per throughput measurement
        self.rounds = 1 if quick else 2  # baseline and service alternate; best of each
        self.samples = 60 if quick else 200  # per latency figure
        self.bulk_requests = 3 if quick else 8  # per client, 2 clients, 500 batches each
        self.capture_requests = 2 if quick else 5  # per client, 250 events each
        self.writer_seconds = 10 if quick else 30  # per configuration of bench.writers


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- one database size ------------------------------------------------------------------


def scale_figures(server, seeded: seed.Seeded, regulator: str, samples: int, rng) -> dict:
    """(p50, p99) ms of each read whose cost must not grow with the database."""
    auth = {"Authorization": f"Bearer {regulator}"}
    base = server.base_url
    size = seeded.events
    roots = [rng.choice(seeded.roots) for _ in range(samples)]
    orgs = [rng.choice(seeded.parties).id for _ in range(max(10, samples // 5))]
    depth = [rng.randrange(seeded.events - 100) for _ in range(samples)]
    return {
        "history": load.sequential(
            base, [f"/api/v1/batches/{r}/history?direction=both" for r in roots], auth
        ),
        "genealogy_svg": load.sequential(
            base, [f"/api/v1/batches/{r}/history.svg?direction=both" for r in roots], auth
        ),
        "events_page": load.sequential(
            base,
            [f"/api/v1/events?limit=100&cursor={encode_cursor(str(d))}" for d in depth],
            auth,
        ),
        "events_page_org": load.sequential(
            base,
            [
                f"/api/v1/events?limit=100&organization_id={o}&cursor=" + encode_cursor(str(d // 2))
                for o, d in zip(orgs * samples, depth, strict=False)
            ],
            auth,
        ),
        "mass_balance": load.sequential(
            base, [f"/api/v1/reports/mass-balance?organization_id={o}&{PERIOD}" for o in orgs], auth
        ),
        "inclusion": load.sequential(
            base,
            [
                f"/api/v1/ledger/proofs/inclusion?index={rng.randrange(size)}&tree_size={size}"
                for _ in range(samples)
            ],
            {},
        ),
        "consistency": load.sequential(
            base,
            [
                f"/api/v1/ledger/proofs/consistency?first={rng.randrange(1, size)}&second={size}"
                for _ in range(samples)
            ],
            {},
        ),
    }


def throughput(server, bare, seeded, regulator, settings, rng, ceiling: bool = True) -> dict:
    """Verification, cached labels and the floor against the bare endpoints and (with
    ``ceiling``) the measured ceilings of ``bench.baseline``, alternating rounds."""
    tokens = rng.sample(seeded.tokens, min(200, len(seeded.tokens)))
    verify_requests = [("/api/v1/verify", json.dumps({"token": t})) for t in tokens]
    echo_requests = [("/echo", json.dumps({"token": t})) for t in tokens]
    json_headers = {"Content-Type": "application/json"}
    auth = {"Authorization": f"Bearer {regulator}"}
    labelled = rng.sample(seeded.roots, min(24, len(seeded.roots)))
    first_render = load.sequential(
        server.base_url, [f"/api/v1/batches/{b}/label.png" for b in labelled[8:]], auth
    )
    label_requests = [(f"/api/v1/batches/{b}/label.png", "") for b in labelled[:8]]
    # A client that kept the label revalidates it: If-None-Match answered 304, no body.
    etag = _etag(server.base_url + label_requests[0][0], auth)
    revalidate = {**auth, "If-None-Match": etag}
    figures: dict[str, load.Load] = {}

    def best(name: str, result: load.Load) -> None:
        if result.failures:
            raise RuntimeError(f"{name}: {result.failures} failed requests")
        if name not in figures or result.rate > figures[name].rate:
            figures[name] = result

    # Warm every worker (imports, caches, connections) before anything counts.
    load.run(server.base_url, "POST", verify_requests, json_headers, 2)
    load.run(server.base_url, "GET", label_requests, auth, 2)
    load.run(bare.base_url, "POST", echo_requests, json_headers, 2)
    ceiling_verify = [("/ceiling/verify", body) for _, body in verify_requests]
    ceiling_label = [(f"/ceiling/label/{b}", "") for b in labelled[:8]]
    if ceiling:
        load.run(bare.base_url, "POST", ceiling_verify, json_headers, 2)
        load.run(bare.base_url, "GET", ceiling_label, {}, 2)
        ceiling_etag = _etag(bare.base_url + ceiling_label[0][0], {})
    for _ in range(settings.rounds):
        s = settings.seconds
        best("bare_post", load.run(bare.base_url, "POST", echo_requests, json_headers, s))
        if ceiling:
            best("ceiling_verify", load.run(bare.base_url, "POST", ceiling_verify, json_headers, s))
        best("verify", load.run(server.base_url, "POST", verify_requests, json_headers, s))
        best("bare_get", load.run(bare.base_url, "GET", [("/hello", "")], {}, s))
        if ceiling:
            best("ceiling_label", load.run(bare.base_url, "GET", ceiling_label, {}, s))
            best(
                "ceiling_label_304",
                load.run(
                    bare.base_url, "GET", ceiling_label[:1], {"If-None-Match": ceiling_etag}, s
                ),
            )
        best("label", load.run(server.base_url, "GET", label_requests, auth, s))
        best("label_304", load.run(server.base_url, "GET", label_requests[:1], revalidate, s))
        # The service's floor: its middleware without the rate limiter, then with it.
        best("healthz", load.run(server.base_url, "GET", [("/healthz", "")], {}, s))
        best("jwks", load.run(server.base_url, "GET", [("/.well-known/jwks.json", "")], {}, s))
    return {"loads": figures, "first_render": first_render}


def _etag(url: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers["ETag"]


def ceiling_env(server, database_url: str, data_dir: Path, seeded, regulator: str) -> dict:
    """What ``bench.baseline``'s ceilings read: the database, the service's keys, and the
    PNG of a label the service drew."""
    request = urllib.request.Request(
        f"{server.base_url}/api/v1/batches/{seeded.roots[0]}/label.png",
        headers={"Authorization": f"Bearer {regulator}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        png = data_dir / "ceiling-label.png"
        png.write_bytes(response.read())
    return {
        "CHEMTRACE_BENCH_CEILING_DATABASE_URL": database_url,
        "CHEMTRACE_BENCH_CEILING_KEYS_DIR": str(data_dir / "keys"),
        "CHEMTRACE_BENCH_CEILING_PNG": str(png),
    }


def ingestion(server, database_url, data_dir, seeded, settings) -> dict:
    parties = seeded.parties[:2]
    keys = [seed.issue_key(database_url, data_dir, "enterprise", p.id) for p in parties]
    # A first small request per client: connections and caches warm, not counted.
    ingest.drive(
        server.base_url,
        "/api/v1/batches:bulk",
        [[ingest.bulk_body(p, 10, f"WARM{i}")] for i, p in enumerate(parties)],
        keys,
        "application/json",
    )
    bulk_items = 500
    bodies = [
        [ingest.bulk_body(p, bulk_items, f"BULK{i}-{r}") for r in range(settings.bulk_requests)]
        for i, p in enumerate(parties)
    ]
    bulk_seconds = ingest.drive(
        server.base_url, "/api/v1/batches:bulk", bodies, keys, "application/json"
    )
    bulk_events = len(parties) * settings.bulk_requests * bulk_items * ingest.EVENTS_PER_BATCH
    capture_items = 250
    documents = [
        [
            ingest.epcis_body(p, capture_items, f"EPCIS{i}-{r}")
            for r in range(settings.capture_requests)
        ]
        for i, p in enumerate(parties)
    ]
    capture_seconds = ingest.drive(
        server.base_url, "/api/v1/epcis/capture", documents, keys, "application/ld+json"
    )
    capture_events = (
        len(parties) * settings.capture_requests * capture_items * ingest.EVENTS_PER_BATCH
    )
    raw_batches = bulk_events // ingest.EVENTS_PER_BATCH
    raw_seconds = ingest.raw_insert(database_url, data_dir, parties[0], raw_batches)
    return {
        "bulk": bulk_events / bulk_seconds,
        "bulk_events": bulk_events,
        "capture": capture_events / capture_seconds,
        "capture_events": capture_events,
        "raw": raw_batches * ingest.EVENTS_PER_BATCH / raw_seconds,
    }


def export_memory(server, regulator: str) -> dict:
    """Stream the NDJSON export of every event; the serving worker's peak RSS."""
    request = urllib.request.Request(
        server.base_url + "/api/v1/exports/events.ndjson",
        headers={"Authorization": f"Bearer {regulator}"},
    )
    lines = received = 0
    with service.PeakRss(server) as rss:
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=3600) as response:
            while chunk := response.read(1 << 16):
                received += len(chunk)
                lines += chunk.count(b"\n")
        seconds = time.perf_counter() - started
    peak, at_rest = rss.worst()
    return {
        "rows": lines,
        "seconds": seconds,
        "mb": received / 2**20,
        "peak": peak,
        "rest": at_rest,
    }


def bench_size(backend, size, base_pg, tmp, settings, large: bool, gunicorn=None) -> dict:
    name = f"chemtrace_bench_{backend}_{size}"
    url = scratch_database(base_pg if backend == "postgresql" else None, name, tmp)
    data_dir = tmp / name
    rng = random.Random(size)
    try:
        log(f"{backend}: seeding {size:,} events")
        seeded = seed.seed(url, data_dir, size)
        log(f"{backend}: {seeded.events:,} events in {seeded.seconds:.0f} s")
        regulator = seed.issue_key(url, data_dir, "regulator")
        result = {"events": seeded.events, "seed_seconds": seeded.seconds}
        with service.registry(url, data_dir, gunicorn) as server:
            log(f"{backend} {size:,}: scale figures")
            result["scale"] = scale_figures(server, seeded, regulator, settings.samples, rng)
            if large:
                log(f"{backend} {size:,}: throughput against the bare endpoint")
                ceilings = ceiling_env(server, url, data_dir, seeded, regulator)
                with service.baseline(
                    tmp / "baseline.log", {**(gunicorn or {}), **ceilings}
                ) as bare:
                    result.update(throughput(server, bare, seeded, regulator, settings, rng))
                log(f"{backend} {size:,}: export memory")
                result["export"] = export_memory(server, regulator)
                log(f"{backend} {size:,}: ingestion")
                result["ingestion"] = ingestion(server, url, data_dir, seeded, settings)
        return result
    finally:
        drop_database(base_pg if backend == "postgresql" else None, name)


def sweep(backend, base_pg, tmp, settings, configs) -> list[tuple[str, dict]]:
    """Verification and bare throughput under each gunicorn configuration, on 10k events."""
    name = f"chemtrace_bench_{backend}_sweep"
    url = scratch_database(base_pg if backend == "postgresql" else None, name, tmp)
    data_dir = tmp / name
    rng = random.Random(1)
    out = []
    try:
        seeded = seed.seed(url, data_dir, settings.small)
        regulator = seed.issue_key(url, data_dir, "regulator")
        for workers, threads, worker_class in configs:
            env = service.gunicorn_env(workers, threads, worker_class)
            label = f"{workers} x {worker_class}" + (f" {threads} threads" if threads else "")
            log(f"{backend}: gunicorn {label}")
            with (
                service.registry(url, data_dir, env) as server,
                service.baseline(tmp / "baseline.log", env) as bare,
            ):
                figures = throughput(server, bare, seeded, regulator, settings, rng, False)
                out.append((label, figures))
    finally:
        drop_database(base_pg if backend == "postgresql" else None, name)
    return out


# --- the table ----------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        int(line.split()[1]) / 2**20
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem:.0f} GB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def pg_version(base_pg: str) -> str:
    engine = sa.create_engine(base_pg)
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version").scalar()
    engine.dispose()
    return f"PostgreSQL {version}"


SWEEP = [
    (2, 4, "gthread"),
    (4, 4, "gthread"),
    (4, 1, "gthread"),
    (4, None, "sync"),
    (8, None, "sync"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k and 100k events, short runs")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--large", type=int, help="events in the large database")
    parser.add_argument("--sweep", action="store_true", help="also compare gunicorn configs")
    parser.add_argument("--sweep-only", action="store_true", help="only compare gunicorn configs")
    parser.add_argument(
        "--no-writers",
        action="store_true",
        help="skip target 6 (bench.writers: 2 servers x 8 clients against 1 x 1, PostgreSQL)",
    )
    # Target 6 used to need --writers; it is part of every PostgreSQL run now.
    parser.add_argument("--writers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("CHEMTRACE_BENCH_POSTGRESQL_URL", DEFAULT_PG),
    )
    parser.add_argument("--output", type=Path, help="default: docs/performance-latest.md")
    args = parser.parse_args(argv)
    if args.output is None:
        name = "performance-sweep.md" if args.sweep_only else "performance-latest.md"
        args.output = ROOT / "docs" / name
    # The seeding and key commands of this process log quietly; the servers keep their default.
    os.environ["CHEMTRACE_LOG_LEVEL"] = "WARNING"
    settings = Settings(args.quick)
    if args.large:
        settings.large = args.large
    backends = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    started = time.perf_counter()
    results: dict[str, dict] = {}
    sweeps: dict[str, list] = {}
    with tempfile.TemporaryDirectory(prefix="chemtrace-bench-") as directory:
        tmp = Path(directory)
        for backend in backends:
            if args.sweep or args.sweep_only:
                sweeps[backend] = sweep(backend, args.postgresql_url, tmp, settings, SWEEP)
            if args.sweep_only:
                continue
            results[backend] = {
                "small": bench_size(
                    backend, settings.small, args.postgresql_url, tmp, settings, False
                ),
                "large": bench_size(
                    backend, settings.large, args.postgresql_url, tmp, settings, True
                ),
            }
    writers_text = None
    if "postgresql" in results and not args.no_writers:
        log("postgresql: several writers")
        writers_args = writers.parser().parse_args(
            ["--postgresql-url", args.postgresql_url, "--seconds", str(settings.writer_seconds)]
        )
        outcomes = writers.run_plan(writers_args)
        results["postgresql"]["writers"] = outcomes
        writers_text = writers.report(outcomes, writers_args)
        if not all(o.ok for o in outcomes):
            log("several writers: a check FAILED (see the table)")
    minutes = (time.perf_counter() - started) / 60
    about = machine()
    if "postgresql" in backends:
        about += ", " + pg_version(args.postgresql_url)
    header = (
        f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"(`python -m bench.run{' --quick' if args.quick else ''}`, {minutes:.0f} min) on {about}."
    )
    text = table(results, settings, header) if results else header
    if sweeps:
        text += "\n\ngunicorn configurations (10,000 events):\n\n" + sweep_table(sweeps)
    if writers_text:
        text += "\n\nSeveral writers (PostgreSQL, `bench.writers`):\n\n" + writers_text
    print(text)
    args.output.write_text(text + "\n")
    log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
