"""The plans of the keyset queries, on a seeded PostgreSQL database: still index scans?

    .venv/bin/python -m bench.explain                    # seeds 100,000 events, then drops them
    .venv/bin/python -m bench.explain --events 1000000

Runs the registry's own functions (the events listing, ``registry.ledger.queries``; the
ledger entries, ``registry.ledger.tree.entries``; a batch's events as history reads them),
captures the SQL each one sent with its parameters, and runs ``EXPLAIN (ANALYZE, BUFFERS)``
on exactly that statement: the plans in docs/scaling.md come from here.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from bench import seed
from bench.ledger_proofs import drop_database, scratch_database
from bench.run import DEFAULT_PG
from registry.access.credentials import Principal
from registry.custody import history
from registry.db import db
from registry.ledger import queries, tree
from registry.models import Event
from registry.pagination import encode_cursor


def captured_sql(run: Callable[[], object], table: str) -> tuple[str, dict]:
    """The last statement ``run`` sent that reads ``table``, with its parameters."""
    sent: list[tuple[str, dict]] = []

    def grab(_conn, _cursor, statement, parameters, _context, _many) -> None:
        sent.append((statement, parameters))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", grab)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", grab)
    reads = [s for s in sent if f"FROM {table}" in s[0] and s[0].lstrip().startswith("SELECT")]
    return reads[-1]


def explain(statement: str, parameters: dict) -> str:
    rows = db.session.connection().exec_driver_sql(
        "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
    )
    return "\n".join(r[0] for r in rows)


def plans(database_url: str, data_dir: Path) -> list[tuple[str, str, str]]:
    app = seed.app_for(database_url, data_dir)
    out = []
    with app.app_context():
        size = tree.size()
        regulator = Principal("bench-explain", "regulator")
        org = db.session.scalar(
            sa.select(Event.organization_id)
            .group_by(Event.organization_id)
            .order_by(sa.func.count().desc())
            .limit(1)
        )
        org_events = db.session.scalar(
            sa.select(sa.func.count()).select_from(Event).where(Event.organization_id == org)
        )
        org_middle = db.session.scalar(
            sa.select(Event.ledger_index)
            .where(Event.organization_id == org)
            .order_by(Event.ledger_index)
            .offset(org_events // 2)
            .limit(1)
        )
        enterprise = Principal("bench-explain", "enterprise", org)
        batch = db.session.scalar(sa.select(Event.batch_id).where(Event.ledger_index == size // 2))
        deep = encode_cursor(str(size * 9 // 10))
        cases: list[tuple[str, Callable[[], object], str]] = [
            (
                "GET /events?limit=100&cursor=<90 % deep> (regulator, no filter)",
                lambda: queries.list_events(regulator, queries.EventFilter(), 100, deep),
                "events",
            ),
            (
                "GET /events?limit=100&organization_id=<largest>&cursor=<its middle>",
                lambda: queries.list_events(
                    regulator,
                    queries.EventFilter(organization_id=org),
                    100,
                    encode_cursor(str(org_middle)),
                ),
                "events",
            ),
            (
                "GET /events?limit=100&type=shipped&cursor=<90 % deep>",
                lambda: queries.list_events(
                    regulator, queries.EventFilter(type="shipped"), 100, deep
                ),
                "events",
            ),
            (
                "GET /events?limit=100&cursor=<its middle> (enterprise: its own events)",
                lambda: queries.list_events(
                    enterprise, queries.EventFilter(), 100, encode_cursor(str(org_middle))
                ),
                "events",
            ),
            (
                "GET /ledger/entries?start=<90 %>&end=+1000",
                lambda: tree.entries(size * 9 // 10, size * 9 // 10 + 1000),
                "events",
            ),
            (
                "GET /batches/<id>/history?direction=both: the events of its genealogy",
                lambda: history.history(batch, "both", regulator),
                "events",
            ),
        ]
        for title, run, table in cases:
            statement, parameters = captured_sql(run, table)
            db.session.rollback()
            out.append((title, statement, explain(statement, parameters)))
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    return out


TABLES = ("events", "ledger_leaves", "ledger_nodes", "batches", "identifiers", "access_log")


def sizes(database_url: str) -> str:
    """Each table's size with its indexes and TOAST, per event of the ledger."""
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        events = connection.execute(sa.text("SELECT size FROM ledger_head")).scalar_one()
        lines = ["| table | rows | total size | bytes per event |", "|---|---|---|---|"]
        for table in TABLES:
            rows, total = connection.execute(
                sa.text(f"SELECT (SELECT count(*) FROM {table}), pg_total_relation_size('{table}')")
            ).one()
            lines.append(
                f"| {table} | {rows:,} | {total / 2**20:,.1f} MB | {total / events:,.0f} |"
            )
        whole = connection.execute(sa.text("SELECT pg_database_size(current_database())"))
        lines.append(f"| (database) | | {whole.scalar_one() / 2**20:,.1f} MB | |")
    engine.dispose()
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.explain", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--postgresql-url",
        default=os.environ.get("CHEMTRACE_BENCH_POSTGRESQL_URL", DEFAULT_PG),
    )
    args = parser.parse_args(argv)
    os.environ["CHEMTRACE_LOG_LEVEL"] = "WARNING"
    name = "chemtrace_bench_explain"
    with tempfile.TemporaryDirectory(prefix="chemtrace-explain-") as directory:
        tmp = Path(directory)
        url = scratch_database(args.postgresql_url, name, tmp)
        try:
            seeded = seed.seed(url, tmp / name, args.events)
            print(f"{seeded.events:,} events seeded in {seeded.seconds:.0f} s\n")
            print(sizes(url) + "\n")
            for title, statement, plan in plans(url, tmp / name):
                print(f"### {title}\n\n```\n{statement}\n\n{plan}\n```\n")
        finally:
            drop_database(args.postgresql_url, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
