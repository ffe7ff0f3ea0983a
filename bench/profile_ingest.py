"""Where the time of ``POST /api/v1/batches:bulk`` (or EPCIS capture) goes, in process.

    .venv/bin/python -m bench.profile_ingest                 # events/s, then the profile
    .venv/bin/python -m bench.profile_ingest --requests 5 --no-profile
    .venv/bin/python -m bench.profile_ingest --capture       # POST /api/v1/epcis/capture
    .venv/bin/python -m bench.profile_ingest --no-profile --subscribed everything

Prepares a fresh SQLite registry (``bench.seed.prepare``: schema, signing key, ledger head,
catalogue), one licensed organisation with a facility and an enterprise API key, then posts
``--requests`` bulk requests of ``--items`` batches (two events each: ``registered`` and
``identifiers_issued``) through the Flask test client; with ``--capture``, EPCIS documents
of as many commissioning ObjectEvents (``bench.ingest.epcis_body``, each a registration:
the same two events) to ``POST /api/v1/epcis/capture``, which must answer a successful job.
The events/s figure is wall time of the posts, end to end (parsing, validation, labels,
ledger leaves and nodes, checkpoints, commit, the answer), timed without the profiler; the
profile is a separate run of as many requests. One warm-up request comes first (imports,
caches, connection). The app is frozen out of the cyclic collector's reach first
(``gc.freeze()``), as ``chemtrace serve`` does in each worker
(``api.gunicorn_conf.post_worker_init``); ``--no-freeze`` to compare.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import logging
import os
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

EVENTS_PER_ITEM = 2
# The saved query of --subscribed: each event is matched against it as it is written.
SUBSCRIPTIONS = {
    "none": None,
    "everything": {},
    "flags": {"EQ_redFlag": ["licence_missing", "unusually_large", "just_under_threshold"]},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_ingest")
    parser.add_argument("--requests", type=int, default=6)
    parser.add_argument("--items", type=int, default=500, help="batches per request")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--no-freeze", action="store_true", help="without gunicorn's gc.freeze()")
    parser.add_argument("--capture", action="store_true", help="EPCIS capture, not batches:bulk")
    parser.add_argument(
        "--subscribed",
        choices=sorted(SUBSCRIPTIONS),
        default="none",
        help="a regulator's webhook subscription (never delivered): none, every event, or "
        "the red flags that read earlier rows",
    )
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="chemtrace-ingest-"))
    os.environ.setdefault("CHEMTRACE_LOG_LEVEL", "WARNING")
    from api import create_app
    from bench import seed
    from bench.ingest import bulk_body, epcis_body
    from registry.db import db

    url = args.database_url or f"sqlite:///{tmp / 'ingest.db'}"
    data_dir = tmp / "data"
    seed.prepare(url, data_dir)
    app = seed.app_for(url, data_dir)
    with app.app_context():
        party = seed.make_parties(1, random.Random(15))[0]
        if SUBSCRIPTIONS[args.subscribed] is not None:
            _subscribe(SUBSCRIPTIONS[args.subscribed])
        db.session.remove()
        db.engine.dispose()
    key = seed.issue_key(url, data_dir, "enterprise", party.id)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "DATA_DIR": data_dir,
            "RATE_LIMIT_PER_ADDRESS": "100000000/second",
            "RATE_LIMIT_PER_CREDENTIAL": "100000000/second",
        }
    )
    logging.getLogger().setLevel("WARNING")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    counter = iter(range(10**6))

    path, make_body, status = "/api/v1/batches:bulk", bulk_body, 201
    if args.capture:
        path, make_body, status = "/api/v1/epcis/capture", epcis_body, 202

    def post() -> None:
        body = make_body(party, args.items, f"P{next(counter):04d}")
        response = client.post(path, data=body, headers=headers)
        # A capture job answers 202 even when it refused events: it must say all were kept.
        if response.status_code != status or (args.capture and not response.json["success"]):
            raise SystemExit(f"status {response.status_code}: {response.get_data(as_text=True)}")

    if not args.no_freeze:
        gc.freeze()  # as api.gunicorn_conf.post_worker_init does once the app is loaded
    post()  # warm
    started, cpu_started = time.perf_counter(), time.process_time()
    for _ in range(args.requests):
        post()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    events = args.requests * args.items * EVENTS_PER_ITEM
    # On a shared machine the wall figure moves with the load; the CPU one much less
    # (for PostgreSQL it leaves out the server's own CPU).
    print(
        f"{events} events in {seconds:.2f} s: {events / seconds:,.0f} events/s (wall), "
        f"{events / cpu:,.0f} events per CPU second of this process"
    )
    if not args.no_profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.requests):
            post()
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
        print(out.getvalue())
    return 0


def _subscribe(parameters: dict) -> None:
    from registry.db import db
    from registry.models import SavedQuery, Subscription

    query = SavedQuery(
        name="bench", parameters=parameters, owner_credential_id="bench", owner_role="regulator"
    )
    db.session.add(query)
    db.session.flush()
    db.session.add(
        Subscription(query_id=query.id, dest="https://example.org/hook", secret_encrypted=b"-")
    )
    db.session.commit()


if __name__ == "__main__":
    sys.exit(main())
