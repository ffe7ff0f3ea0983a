"""The benchmark suite: one command, its own data, the real server, figures and ratios.

    .venv/bin/python -m bench.run                       # SQLite and PostgreSQL, 10k and 1M
    .venv/bin/python -m bench.run --quick               # 10k and 100k events, short runs
    .venv/bin/python -m bench.run --database sqlite     # one backend
    .venv/bin/python -m bench.run --sweep               # also try gunicorn configurations
    .venv/bin/python -m bench.run --writers             # also several writers (bench.writers)

For each database it seeds a small (10,000 events) and a large (1,000,000) registry
(``bench.seed``), starts ``chemtrace serve`` on 127.0.0.1 with its default gunicorn
configuration, and the bare Flask app of ``bench.baseline`` under the same configuration
file, then drives them from separate load-generator processes (``bench.load``: wrk, or
Python). It prints one markdown table and writes it (``--output``) for docs/performance.md.

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


def throughput(server, bare, seeded, regulator, settings, rng) -> dict:
    """Verification and cached labels against the bare endpoint, alternating rounds."""
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
    for _ in range(settings.rounds):
        s = settings.seconds
        best("bare_post", load.run(bare.base_url, "POST", echo_requests, json_headers, s))
        best("verify", load.run(server.base_url, "POST", verify_requests, json_headers, s))
        best("bare_get", load.run(bare.base_url, "GET", [("/hello", "")], {}, s))
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
                with service.baseline(tmp / "baseline.log", gunicorn) as bare:
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
                out.append((label, throughput(server, bare, seeded, regulator, settings, rng)))
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


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


SCALE_ROWS = [
    ("history", "batch history + genealogy (JSON, both directions)"),
    ("genealogy_svg", "genealogy drawing (SVG)"),
    ("events_page", "page of 100 events at a random depth"),
    ("events_page_org", "page of 100 events of one organisation, random depth"),
    ("mass_balance", "mass-balance report, one organisation"),
    ("inclusion", "inclusion proof"),
    ("consistency", "consistency proof"),
]


def table(results: dict, settings: Settings, header: str) -> str:
    backends = list(results)
    cols = " | ".join(backends)
    lines = [header, "", f"| figure | {cols} | target |", "|---" * (len(backends) + 2) + "|"]

    def row(label: str, cells: list[str], target: str = "") -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")

    def half_of_bare(label: str, figure: str, bare: str) -> None:
        """A row of figure / bare rates, each judged against the 0.5 target."""
        ratios = [L[b][figure].rate / L[b][bare].rate for b in backends]
        row(label, [f"{r:.2f} ({verdict(r >= 0.5)})" for r in ratios], "≥ 0.50")

    large = {b: results[b]["large"] for b in backends}
    small = {b: results[b]["small"] for b in backends}
    row(
        "events in the database (small / large)",
        [f"{small[b]['events']:,} / {large[b]['events']:,}" for b in backends],
    )
    row("seeding the large database", [f"{large[b]['seed_seconds']:.0f} s" for b in backends])
    L = {b: large[b]["loads"] for b in backends}

    def rate(load_: load.Load) -> str:
        return f"{load_.rate:,.0f}/s (p50 {load_.p50_ms:.1f} ms, p99 {load_.p99_ms:.1f} ms)"

    row("bare Flask JSON POST", [rate(L[b]["bare_post"]) for b in backends])
    row("**1.** POST /verify, genuine token", [rate(L[b]["verify"]) for b in backends])
    half_of_bare("verify / bare", "verify", "bare_post")
    ing = {b: large[b]["ingestion"] for b in backends}
    row(
        "**2.** batches:bulk, events/s",
        [f"{ing[b]['bulk']:,.0f} ({verdict(ing[b]['bulk'] >= 10_000)})" for b in backends],
        "≥ 10,000",
    )
    row(
        "EPCIS capture, events/s",
        [f"{ing[b]['capture']:,.0f} ({verdict(ing[b]['capture'] >= 10_000)})" for b in backends],
        "≥ 10,000",
    )
    row(
        "raw SQL bulk insert of the same rows, events/s",
        [f"{ing[b]['raw']:,.0f}" for b in backends],
    )
    row(
        "bulk / raw, capture / raw",
        [
            f"{ing[b]['bulk'] / ing[b]['raw']:.2f}, {ing[b]['capture'] / ing[b]['raw']:.2f}"
            for b in backends
        ],
    )
    for key, label in SCALE_ROWS:
        cells = []
        for b in backends:
            (s50, s99), (l50, l99) = small[b]["scale"][key], large[b]["scale"][key]
            ratio = l50 / s50
            cells.append(
                f"{s50:.1f} → {l50:.1f} ms (p99 {s99:.1f} → {l99:.1f}); "
                f"×{ratio:.2f} ({verdict(ratio <= 2)})"
            )
        row(f"**3.** {label}, p50 small → large", cells, "≤ ×2")
    exp = {b: large[b]["export"] for b in backends}
    row(
        "**4.** worker peak RSS streaming the NDJSON export",
        [
            f"{exp[b]['peak']:.0f} MB (at rest {exp[b]['rest']:.0f}; {exp[b]['rows']:,} rows in "
            f"{exp[b]['seconds']:.0f} s) ({verdict(exp[b]['peak'] < 200)})"
            for b in backends
        ],
        "< 200 MB",
    )
    row("bare Flask JSON GET", [rate(L[b]["bare_get"]) for b in backends])
    row("**5.** cached label PNG", [rate(L[b]["label"]) for b in backends])
    half_of_bare("cached label / bare GET", "label", "bare_get")
    row(
        "cached label revalidated (If-None-Match → 304)",
        [rate(L[b]["label_304"]) for b in backends],
    )
    half_of_bare("revalidated label / bare GET", "label_304", "bare_get")
    row(
        "floor: GET /healthz (middleware, no rate limiter, no database)",
        [
            f"{rate(L[b]['healthz'])}; ×{L[b]['healthz'].rate / L[b]['bare_get'].rate:.2f}"
            for b in backends
        ],
    )
    row(
        "floor: GET /.well-known/jwks.json (middleware and rate limiter, no database)",
        [
            f"{rate(L[b]['jwks'])}; ×{L[b]['jwks'].rate / L[b]['bare_get'].rate:.2f}"
            for b in backends
        ],
    )
    row(
        "first rendering of a label PNG, p50 (p99)",
        [
            f"{large[b]['first_render'][0]:.1f} ms ({large[b]['first_render'][1]:.1f} ms)"
            for b in backends
        ],
    )
    tool = next(iter(L.values()))["verify"].tool
    lines += [
        "",
        f"Load generator: {tool}, 16 keep-alive connections, {settings.seconds} s per figure, "
        f"best of {settings.rounds} alternating rounds. Latency figures: "
        f"{settings.samples} sequential requests each.",
    ]
    return "\n".join(lines)


def sweep_table(results: dict[str, list]) -> str:
    lines = [
        "| database | gunicorn | bare POST/s | verify/s | ratio | bare GET/s | label/s | ratio "
        "| /healthz/s | jwks/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, runs in results.items():
        for label, r in runs:
            loads = r["loads"]
            lines.append(
                f"| {backend} | {label} | {loads['bare_post'].rate:,.0f} | "
                f"{loads['verify'].rate:,.0f} | "
                f"{loads['verify'].rate / loads['bare_post'].rate:.2f} | "
                f"{loads['bare_get'].rate:,.0f} | {loads['label'].rate:,.0f} | "
                f"{loads['label'].rate / loads['bare_get'].rate:.2f} | "
                f"{loads['healthz'].rate:,.0f} | {loads['jwks'].rate:,.0f} |"
            )
    return "\n".join(lines)


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
        "--writers",
        action="store_true",
        help="also 2 servers x 8 clients against 1 x 1 on PostgreSQL (bench.writers)",
    )
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
    if args.writers and "postgresql" in backends:
        log("postgresql: several writers")
        seconds = "10" if args.quick else "30"
        writers_args = writers.parser().parse_args(
            ["--postgresql-url", args.postgresql_url, "--seconds", seconds]
        )
        writers_text, writers_ok = writers.measure(writers_args)
        if not writers_ok:
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
