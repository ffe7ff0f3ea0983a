"""Streamed exports of events (NDJSON and CSV), with the filters of GET /api/v1/events.

Rows are read with a server-side cursor (``yield_per``) and written as they come, so a
worker's memory stays flat however many events match.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, stream_with_context

from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.schemas.reports import EventFilterQuery
from registry.ledger.queries import EventFilter, streamed
from registry.ledger.records import event_record

bp = Blueprint("exports", __name__, url_prefix="/api/v1/exports")

CHUNK = 2000
CSV_COLUMNS = (
    "ledger_index",
    "id",
    "recorded_at",
    "type",
    "batch_id",
    "cas_rn",
    "organization_id",
    "facility_id",
    "actor_role",
    "actor_credential_id",
    "actor_organization_id",
    "quantity_value",
    "quantity_unit",
    "quantity_delta_value",
    "quantity_delta_unit",
    "related_batch_id",
    "transfer_id",
    "flagged",
    "documents",
    "details",
)


def _records() -> Iterator[dict[str, Any]]:
    """The matching event records, read only when the body is streamed.

    The filters are checked now, so a bad one is a 422 before anything is sent. The query
    runs inside the stream: the request's own session is closed once the view returns (its
    teardown), and a server-side cursor does not outlive its transaction.
    """
    where = EventFilter(**load_query(EventFilterQuery))
    rows = streamed(current_principal(), where, CHUNK)
    return (event_record(row) for row in rows)


def _csv_row(record: dict[str, Any]) -> list[Any]:
    quantity = record["quantity"] or {}
    delta = record["quantity_delta"] or {}
    actor = record["actor"]
    # Free text only ever appears inside the JSON columns, which start with "[" or "{", so a
    # spreadsheet never reads a cell as a formula.
    return [
        record["ledger_index"],
        record["id"],
        record["recorded_at"],
        record["type"],
        record["batch_id"],
        record["cas_rn"],
        record["organization_id"],
        record["facility_id"],
        actor["role"],
        actor["credential_id"],
        actor["organization_id"],
        quantity.get("value"),
        quantity.get("unit"),
        delta.get("value"),
        delta.get("unit"),
        record["related_batch_id"],
        record["transfer_id"],
        "true" if record["flagged"] else "false",
        json.dumps(record["documents"], ensure_ascii=False),
        json.dumps(record["details"], ensure_ascii=False, sort_keys=True),
    ]


def _download(body: Iterator[str], mimetype: str, filename: str) -> Response:
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/events.ndjson")
@requires_roles("regulator")
@audited("events.export")
def events_ndjson():
    records = _records()

    def lines() -> Iterator[str]:
        for record in records:
            yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"

    return _download(lines(), "application/x-ndjson", "events.ndjson")


@bp.get("/events.csv")
@requires_roles("regulator")
@audited("events.export")
def events_csv():
    records = _records()

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for count, record in enumerate(records, 1):
            writer.writerow(_csv_row(record))
            if count % 500 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return _download(lines(), "text/csv", "events.csv")
