"""CPU per request of the hot paths, in process, with the server's settings.

    .venv/bin/python -m bench.profile_paths                     # every path, CPU ms per request
    .venv/bin/python -m bench.profile_paths verify --profile    # and where it goes (cProfile)

Seeds a small SQLite registry (``bench.seed``), builds the app as ``chemtrace serve`` does
(JSON access log at INFO, multi-process Prometheus metrics, the rate limiter on with limits
out of reach, security headers) and drives it through the Flask test client. Each figure
is CPU time per request (``time.process_time``) and its ratio to the bare Flask app of
``bench.baseline`` measured in the same run: on a shared machine the ratio moves less than
the milliseconds. The test client's own cost is in both, so the ratios are not the ones
``bench.run`` measures through gunicorn, only comparable with each other.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import logging
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

UNLIMITED = "100000000/second"
PATHS = ("verify", "page_json", "healthz", "jwks", "label", "label_304")


def _cpu_per_request(call: Callable[[], object], requests: int) -> float:
    for _ in range(min(200, requests)):  # warm: imports, caches, connections
        call()
    started = time.process_time()
    for _ in range(requests):
        call()
    return (time.process_time() - started) / requests * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_paths")
    parser.add_argument("paths", nargs="*", help=f"some of {', '.join(PATHS)} (default: all)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--events", type=int, default=2000, help="size of the seeded registry")
    parser.add_argument("--profile", action="store_true", help="cProfile each path")
    parser.add_argument("--top", type=int, default=30, help="functions shown per profile")
    args = parser.parse_args(argv)
    paths = args.paths or list(PATHS)
    if set(paths) - set(PATHS):
        parser.error(f"paths are among {', '.join(PATHS)}")

    tmp = Path(tempfile.mkdtemp(prefix="chemtrace-profile-"))
    # As ``chemtrace serve`` runs: multi-process metrics (set before prometheus_client is
    # imported, which picks its value class then).
    (tmp / "prometheus").mkdir()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / "prometheus")
    os.environ["CHEMTRACE_LOG_LEVEL"] = "WARNING"  # the seeding, quietly

    from api import create_app
    from bench import seed
    from bench.baseline import app as bare_app

    url = f"sqlite:///{tmp / 'profile.db'}"
    data_dir = tmp / "data"
    seeded = seed.seed(url, data_dir, args.events)
    regulator = seed.issue_key(url, data_dir, "regulator")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "DATA_DIR": data_dir,
            "LOG_LEVEL": "INFO",
            "RATE_LIMIT_PER_ADDRESS": UNLIMITED,
            "RATE_LIMIT_PER_CREDENTIAL": UNLIMITED,
        }
    )
    logging.getLogger().setLevel("INFO")  # the server's default; the line is formatted
    for handler in logging.getLogger().handlers:
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the run

    client, bare = app.test_client(), bare_app.test_client()
    token = seeded.tokens[0]
    auth = {"Authorization": f"Bearer {regulator}"}
    label_url = f"/api/v1/batches/{seeded.roots[0]}/label.png"
    etag = client.get(label_url, headers=auth).headers["ETag"]
    body = json.dumps({"token": token})
    calls: dict[str, Callable[[], object]] = {
        "verify": lambda: client.post("/api/v1/verify", data=body, content_type="application/json"),
        "page_json": lambda: client.get(f"/v/{token}", headers={"Accept": "application/json"}),
        "healthz": lambda: client.get("/healthz"),
        "jwks": lambda: client.get("/.well-known/jwks.json"),
        "label": lambda: client.get(label_url, headers=auth),
        "label_304": lambda: client.get(label_url, headers={**auth, "If-None-Match": etag}),
    }
    for name in paths:  # every path answers what it should before it is timed
        status = calls[name]().status_code
        if status != (304 if name == "label_304" else 200):
            raise SystemExit(f"{name}: status {status}")
    bare_post = _cpu_per_request(
        lambda: bare.post("/echo", data=body, content_type="application/json"), args.requests
    )
    bare_get = _cpu_per_request(lambda: bare.get("/hello"), args.requests)
    print(f"bare POST {bare_post:.3f} ms CPU, bare GET {bare_get:.3f} ms CPU per request")
    for name in paths:
        bare_ms = bare_post if name == "verify" else bare_get
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
        cpu = _cpu_per_request(calls[name], args.requests)
        line = f"{name:10} {cpu:7.3f} ms CPU per request, bare/this {bare_ms / cpu:.2f}"
        print(line, flush=True)
        if args.profile:
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            # Python function calls per request: a proxy for CPU that the machine's load
            # does not move (the timings above do).
            per_request = stats.total_calls / (args.requests + min(200, args.requests))  # type: ignore[attr-defined]
            print(f"{name:10} {per_request:,.0f} function calls per request")
            stats.sort_stats("cumulative").print_stats(args.top)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
