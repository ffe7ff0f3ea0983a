"""Ingestion: batches:bulk and EPCIS capture over HTTP, against a raw bulk insert of the rows.

Every registered batch makes two events (``registered`` and ``identifiers_issued``, its
signed label), each a ledger leaf. The HTTP figures are end to end: JSON parsing and
validation, exact quantities, the batch, its label token, both events, their leaves and the
subtree nodes they complete, the occasional signed checkpoint, the commit and the answer.
The raw figure loads rows of the same shape (batches, identifiers, events, leaves, nodes,
ledger head) the fastest way the driver offers, in one transaction: PostgreSQL ``COPY ...
FROM STDIN`` through psycopg (``cursor.copy``), SQLite ``executemany``. It is timed from the
first row sent to the commit, with the rows (hashes, signatures, driver values) built
beforehand.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from bench.seed import KG, SUBSTANCES, Party, Writer, app_for, label
from crypto import merkle
from registry.db import db, new_id
from registry.ledger import tree
from registry.models import Batch, LedgerHead, Substance

PUBLIC_URL = "http://127.0.0.1:8000"  # the service's default CHEMTRACE_PUBLIC_URL
EVENTS_PER_BATCH = 2


def bulk_body(party: Party, items: int, tag: str) -> bytes:
    return json.dumps(
        {
            "items": [
                {
                    "cas_rn": SUBSTANCES[n % len(SUBSTANCES)],
                    "lot_number": f"{tag}-{n:05d}",
                    "quantity": {"value": "250.5", "unit": "kg"},
                    "concentration_pct": "99.5",
                    "facility_id": party.facility_id,
                    "origin": {"kind": "produced"},
                    "documents": [{"type": "invoice", "number": f"{tag}-{n}"}],
                }
                for n in range(items)
            ]
        }
    ).encode()


def epcis_body(party: Party, items: int, tag: str) -> bytes:
    event_list = [
        {
            "type": "ObjectEvent",
            "eventTime": "2026-11-23T08:00:00.000Z",
            "eventTimeZoneOffset": "+07:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "epcList": [],
            "quantityList": [
                {"epcClass": f"{PUBLIC_URL}/classes/{tag}-{n}", "quantity": 250.5, "uom": "KGM"}
            ],
            "bizLocation": {"id": f"{PUBLIC_URL}/facilities/{party.facility_id}"},
            "ct:casRN": SUBSTANCES[n % len(SUBSTANCES)],
            "ct:lotNumber": f"{tag}-{n:05d}",
        }
        for n in range(items)
    ]
    return json.dumps(
        {
            "@context": [
                "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                {"ct": f"{PUBLIC_URL}/ns/epcis#"},
            ],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-11-23T08:00:00.000Z",
            "epcisBody": {"eventList": event_list},
        }
    ).encode()


def drive(
    base_url: str, path: str, bodies: list[list[bytes]], keys: list[str], content_type: str
) -> float:
    """Each client posts its bodies one after another; the wall time until all are done."""
    parts = urlsplit(base_url)
    errors: list[str] = []

    def client(own: list[bytes], key: str) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": content_type}
        for body in own:
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            # An EPCIS capture answers 202 with its job, which must say every event was kept.
            ok = response.status == 201 or (
                response.status == 202 and json.loads(answer).get("success") is True
            )
            if not ok:
                errors.append(f"{response.status}: {answer[:500]!r}")
                return
        connection.close()

    threads = [
        threading.Thread(target=client, args=(own, key))
        for own, key in zip(bodies, keys, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"POST {path}: {errors[0]}")
    return elapsed


def raw_insert(database_url: str, data_dir: Path, party: Party, batches: int) -> float:
    """Seconds to load the rows of ``batches`` registrations (2 events each): the fastest
    load the driver offers, in one transaction (``COPY`` on PostgreSQL, ``executemany``
    on SQLite), with every value converted to what the driver is given beforehand."""
    app = app_for(database_url, data_dir)
    with app.app_context():
        session = db.session
        size = session.get(LedgerHead, 1).size
        # The left siblings the new leaves hash with, as tree.append reads them.
        older = {
            (level, index)
            for n in range(size, size + batches * EVENTS_PER_BATCH)
            for level, index in merkle.append_nodes(n)
            if ((index + 1) << level) - 1 < size
        }
        known = tree._read_nodes(session, older)
        substance = session.scalars(sa.select(Substance).where(Substance.cas_rn == SUBSTANCES[0]))
        substance = substance.one()
        session.rollback()
        writer = Writer(size, dict(known))
        for n in range(batches):
            label(writer, _registration(writer, substance, party, n), party)
        engine = db.engine
        tables = [
            _driver_rows(model, rows, engine.dialect) for model, rows in writer.rows.items() if rows
        ]
        load = _copy if engine.dialect.name == "postgresql" else _executemany
        elapsed = load(engine, tables, writer.next_index)
        db.session.remove()
        engine.dispose()
    return elapsed


Rows = tuple[str, list[str], list[tuple]]


def _driver_rows(model: type, rows: list[dict], dialect) -> Rows:
    """The rows as tuples of what SQLAlchemy would hand the driver: keyed by column, the
    columns' Python-side defaults filled in, through their bind processors (dates...)."""
    columns, values = [], []
    for attribute in sa.inspect(model).column_attrs:
        column = attribute.columns[0]
        default = column.default
        if attribute.key in rows[0]:
            values.append(lambda row, key=attribute.key: row[key])
        elif default is not None and (default.is_scalar or default.is_callable):
            fixed = default.arg if default.is_scalar else None
            made = default.arg if default.is_callable else None
            values.append(lambda _row, v=fixed, f=made: f(None) if f else v)
        else:
            continue  # the database's default, or NULL
        columns.append(column)
    # JSON as its text (SQLAlchemy's own serializer): psycopg's COPY cannot adapt a dict.
    processors = [
        json.dumps if isinstance(c.type, sa.JSON) else c.type.bind_processor(dialect)
        for c in columns
    ]
    converted = [
        tuple(
            process(value(row)) if process else value(row)
            for value, process in zip(values, processors, strict=True)
        )
        for row in rows
    ]
    return model.__table__.name, [c.name for c in columns], converted


def _copy(engine: sa.Engine, tables: list[Rows], head: int) -> float:
    """PostgreSQL: one ``COPY ... FROM STDIN`` per table through psycopg, one transaction."""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        started = time.perf_counter()
        with raw.cursor() as cursor:
            for name, columns, rows in tables:
                quoted = ", ".join(f'"{c}"' for c in columns)
                with cursor.copy(f'COPY "{name}" ({quoted}) FROM STDIN') as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.execute("UPDATE ledger_head SET size = %s WHERE id = 1", (head,))
        raw.commit()
        return time.perf_counter() - started


def _executemany(engine: sa.Engine, tables: list[Rows], head: int) -> float:
    """SQLite: one ``executemany`` per table, one transaction."""
    started = time.perf_counter()
    with engine.begin() as connection:
        for name, columns, rows in tables:
            quoted = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" for _ in columns)
            connection.exec_driver_sql(f'INSERT INTO "{name}" ({quoted}) VALUES ({marks})', rows)
        connection.exec_driver_sql("UPDATE ledger_head SET size = ? WHERE id = 1", (head,))
    return time.perf_counter() - started


def _registration(writer: Writer, substance: Substance, party: Party, n: int) -> dict:
    at = writer.at()
    batch = {
        "id": new_id(),
        "substance_id": substance.id,
        "cas_rn": substance.cas_rn,
        "lot_number": f"RAW-{n:06d}",
        "status": "active",
        "dimension": "mass",
        "unit": "kg",
        "quantity_micro": 250 * KG,
        "initial_quantity_micro": 250 * KG,
        "concentration_pct": "99.5",
        "holder_organization_id": party.id,
        "producer_organization_id": party.id,
        "facility_id": party.facility_id,
        "origin_kind": "produced",
        "created_at": at,
    }
    writer.rows[Batch].append(batch)
    writer.event(
        type="registered",
        batch_id=batch["id"],
        cas_rn=substance.cas_rn,
        organization_id=party.id,
        facility_id=party.facility_id,
        quantity_delta_micro=250 * KG,
        documents=[{"type": "invoice", "number": f"RAW-{n}"}],
        details={
            "origin": "produced",
            "origin_document": None,
            "lot_number": batch["lot_number"],
            "unit": "kg",
            "containers": 0,
        },
    )
    return batch
