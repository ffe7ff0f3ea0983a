"""Routes for batches: registration, reading, and everything their lifecycle allows."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from marshmallow import Schema

from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import json_object, load, load_json, load_query
from api.i18n import select_locale
from api.render.genealogy_svg import render_history_svg
from api.schemas.batches import (
    AdjustmentIn,
    BatchIn,
    BatchQuery,
    BulkIn,
    ConsumeIn,
    DisposeIn,
    ExportIn,
    HistoryQuery,
    HistorySvgQuery,
    IncidentIn,
    InspectionIn,
    ReasonIn,
    SplitIn,
    batch_json,
)
from api.schemas.bulk import plain_bulk_items
from api.schemas.common import page_json
from api.transactions import write_route
from registry.custody import batches, history, operations
from registry.custody.batches import BatchSpec
from registry.custody.outcome import Outcome
from registry.ledger.records import event_record

bp = Blueprint("batches", __name__, url_prefix="/api/v1")

READERS = ("enterprise", "regulator", "inspector")


def written(outcome: Outcome) -> dict[str, Any]:
    return batch_json(outcome.batch, ledger_index=outcome.event.ledger_index)


@bp.post("/batches")
@requires_roles("enterprise")
@write_route
def register_batch():
    spec = BatchSpec(**load_json(BatchIn))
    return written(batches.register(spec, current_principal())), 201


@bp.post("/batches:bulk")
@requires_roles("enterprise")
@write_route
def register_batches():
    body = json_object()
    items = plain_bulk_items(body)
    if items is None:  # not plainly valid: BulkIn accepts it or says why not
        items = load(BulkIn, body)["items"]
    created = batches.register_many([BatchSpec(**item) for item in items], current_principal())
    return {"items": [written(outcome) for outcome in created]}, 201


@bp.get("/batches")
@requires_roles("enterprise", "regulator")
def list_batches():
    query = load_query(BatchQuery)
    page = batches.list_batches(current_principal(), **query)
    return page_json(page, batch_json)


@bp.get("/batches/<batch_id>")
@requires_roles(*READERS)
@audited("batch.read", "batch_id")
def get_batch(batch_id: str):
    return batch_json(batches.visible_batch(batch_id, current_principal()))


@bp.get("/batches/<batch_id>/history")
@requires_roles(*READERS)
@audited("batch.history", "batch_id")
def batch_history(batch_id: str):
    query = load_query(HistoryQuery)
    found = history.history(batch_id, query["direction"], current_principal())
    units = {b.id: b.unit for b in found.batches}
    return {
        "batch_id": found.batch.id,
        "direction": query["direction"],
        "batches": [batch_json(b) for b in found.batches],
        "links": [
            {"parent_id": link.parent_id, "child_id": link.child_id, "kind": link.kind}
            for link in found.links
        ],
        "events": [event_record(e, units.get(e.batch_id)) for e in found.events],
    }


@bp.get("/batches/<batch_id>/history.svg")
@requires_roles(*READERS)
@audited("batch.history", "batch_id")
def batch_history_svg(batch_id: str):
    query = load_query(HistorySvgQuery)
    found = history.history(batch_id, query["direction"], current_principal())
    svg = render_history_svg(found, history.holders(found), locale=select_locale())
    # An SVG opened directly is a document: api.headers gives it the pages' strict policy.
    return Response(svg, mimetype="image/svg+xml")


@bp.post("/batches/<batch_id>/split")
@requires_roles("enterprise")
@write_route
def split_batch(batch_id: str):
    body = load_json(SplitIn)
    parent, children = operations.split(batch_id, body["parts"], current_principal())
    return {"parent": batch_json(parent), "children": [batch_json(c) for c in children]}, 201


def _outflow(batch_id: str, operation: str, schema: type[Schema], detail_fields: tuple[str, ...]):
    body = load_json(schema)
    outcome = operations.take_out(
        batch_id,
        operation,
        body["quantity"],
        current_principal(),
        {name: body[name] for name in detail_fields},
    )
    return written(outcome)


@bp.post("/batches/<batch_id>/consume")
@requires_roles("enterprise")
@write_route
def consume(batch_id: str):
    return _outflow(batch_id, "consume", ConsumeIn, ("purpose",))


@bp.post("/batches/<batch_id>/dispose")
@requires_roles("enterprise")
@write_route
def dispose(batch_id: str):
    return _outflow(batch_id, "dispose", DisposeIn, ("method",))


@bp.post("/batches/<batch_id>/export")
@requires_roles("enterprise")
@write_route
def export(batch_id: str):
    return _outflow(batch_id, "export", ExportIn, ("destination_country", "licence_number"))


@bp.post("/batches/<batch_id>/incidents")
@requires_roles("enterprise")
@write_route
def report_incident(batch_id: str):
    body = load_json(IncidentIn)
    batch, event = operations.report_incident(
        batch_id, body["kind"], body["quantity"], body["description"], current_principal()
    )
    return {"event": event_record(event, batch.unit), "batch": batch_json(batch)}, 201


@bp.post("/batches/<batch_id>/recall")
@requires_roles("enterprise", "regulator")
@write_route
def recall(batch_id: str):
    body = load_json(ReasonIn)
    return written(operations.recall(batch_id, body["reason"], current_principal()))


@bp.post("/batches/<batch_id>/suspend", defaults={"operation": "suspend"})
@bp.post("/batches/<batch_id>/release", defaults={"operation": "release"})
@requires_roles("regulator")
@write_route
def regulate(batch_id: str, operation: str):
    body = load_json(ReasonIn)
    return written(operations.regulate(batch_id, operation, body["reason"], current_principal()))


@bp.post("/batches/<batch_id>/inspections")
@requires_roles("inspector")
@write_route
def inspect(batch_id: str):
    body = load_json(InspectionIn)
    outcome = operations.inspect(
        batch_id, body["result"], body["notes"], body["observed_quantity"], current_principal()
    )
    return {"event": event_record(outcome.event)}, 201


@bp.post("/batches/<batch_id>/adjustments")
@requires_roles("enterprise")
@write_route
def adjust(batch_id: str):
    body = load_json(AdjustmentIn)
    batch, event = operations.adjust(
        batch_id, body["quantity"], body["reason"], current_principal()
    )
    return {"event": event_record(event, batch.unit), "batch": batch_json(batch)}, 201
