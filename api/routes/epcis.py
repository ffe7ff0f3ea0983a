"""GS1 EPCIS 2.0 query interface: the registry's events as an EPCISQueryDocument (JSON-LD).

The standard query parameters that make sense for a registry of lots: eventType,
GE_eventTime / LT_eventTime, EQ_bizStep, EQ_disposition, MATCH_epc, MATCH_anyEPCClass,
perPage with nextPageToken (the next page's link is also in a Link header, as the EPCIS REST
bindings say).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from marshmallow import fields, validate
from sqlalchemy import or_, select

from api.auth import current_principal, requires_roles
from api.bodies import json_object, load_query
from api.routes.access_log import audited
from api.schemas.common import PRINTABLE_ASCII, QueryInteger, StrictSchema, moment
from api.transactions import write_route
from registry.db import db
from registry.epcis import capture as epcis_capture
from registry.epcis import mapping
from registry.errors import InvalidInput
from registry.models import Batch, Event, Facility, Organization, Transfer
from registry.pagination import decode_cursor, encode_cursor

bp = Blueprint("epcis", __name__, url_prefix="/api/v1/epcis")

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 500


def _ascii(max_length: int) -> fields.String:
    # Bounded, and ASCII (URIs, CBV names), so that the whole query stays within the request
    # target the service accepts (MAX_REQUEST_TARGET_BYTES) even when every byte is escaped.
    return fields.String(
        load_default=None, validate=[validate.Length(1, max_length), PRINTABLE_ASCII]
    )


class EpcisQuery(StrictSchema):
    eventType = _ascii(200)
    GE_eventTime = moment(load_default=None)
    LT_eventTime = moment(load_default=None)
    EQ_bizStep = _ascii(300)
    EQ_disposition = _ascii(300)
    MATCH_epc = _ascii(700)
    MATCH_anyEPCClass = _ascii(700)
    perPage = QueryInteger(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE))
    nextPageToken = _ascii(200)


def _values(text: str | None) -> list[str]:
    """A query parameter's values: EPCIS lists several as a comma-separated string."""
    return [v.strip() for v in text.split(",") if v.strip()] if text else []


def _allowed_types(query: dict) -> set[str] | None:
    allowed: set[str] | None = None
    for name, translate in (
        ("eventType", mapping.types_for_event_type),
        ("EQ_bizStep", mapping.types_for_biz_step),
        ("EQ_disposition", mapping.types_for_disposition),
    ):
        values = _values(query[name])
        if values:
            types = set().union(*(translate(v) for v in values))
            allowed = types if allowed is None else allowed & types
    return allowed


def _batch_ids(query: dict, base_url: str) -> set[str] | None:
    uris = _values(query["MATCH_epc"]) + _values(query["MATCH_anyEPCClass"])
    if not uris:
        return None
    ids = set()
    for uri in uris:
        batch_id = mapping.parse_batch_uri(base_url, uri)
        if batch_id is not None:
            ids.add(batch_id)
    return ids


@bp.get("/events")
@requires_roles("regulator")
@audited("epcis.query")
def query_events():
    query = load_query(EpcisQuery())
    base_url = current_app.config["PUBLIC_URL"]
    statement = select(Event)
    allowed = _allowed_types(query)
    if allowed is not None:
        statement = statement.where(Event.type.in_(sorted(allowed)))
    batch_ids = _batch_ids(query, base_url)
    if batch_ids is not None:
        statement = statement.where(
            or_(Event.batch_id.in_(batch_ids), Event.related_batch_id.in_(batch_ids))
        )
    if query["GE_eventTime"] is not None:
        statement = statement.where(Event.recorded_at >= query["GE_eventTime"])
    if query["LT_eventTime"] is not None:
        statement = statement.where(Event.recorded_at < query["LT_eventTime"])
    if query["nextPageToken"]:
        last = decode_cursor(query["nextPageToken"])
        if not last.isdigit():
            raise InvalidInput(
                "nextPageToken", "Not a token this service issued.", "invalid_cursor"
            )
        statement = statement.where(Event.ledger_index > int(last))
    per_page = query["perPage"]
    found = list(db.session.scalars(statement.order_by(Event.ledger_index).limit(per_page + 1)))
    more = len(found) > per_page
    found = found[:per_page]
    document = _document(found, base_url, _values(query["EQ_disposition"]))
    response = Response(mapping.dumps(document), mimetype="application/ld+json")
    response.headers["GS1-EPCIS-Version"] = "2.0.0"
    response.headers["GS1-CBV-Version"] = "2.0.0"
    if more:
        token = encode_cursor(str(found[-1].ledger_index))
        args = {k: v for k, v in request.args.items() if k != "nextPageToken"}
        args["nextPageToken"] = token
        link = f"{request.base_url}?{urlencode(args)}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response


def _document(found: list[Event], base_url: str, dispositions: list[str]) -> dict:
    """The query document for ``found``, reading the rows the mapping needs in 4 queries."""
    needed = mapping.references(found)

    def rows(model, ids):
        return {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(ids)))}

    batches, facilities = rows(Batch, needed.batch_ids), rows(Facility, needed.facility_ids)
    organizations = rows(Organization, needed.organization_ids)
    transfers = rows(Transfer, needed.transfer_ids)
    if dispositions:
        # An incident's or inspection's disposition depends on its details.
        wanted = {mapping.short_disposition(d) for d in dispositions}
        found = [e for e in found if mapping.disposition_of(e) in wanted]
    events = [
        mapping.epcis_event(e, batches, organizations, facilities, base_url, transfers=transfers)
        for e in found
    ]
    return mapping.query_document(events, base_url)


@bp.post("/capture")
@requires_roles("enterprise")
@write_route
def capture():
    # Numbers as exact Decimals: EPCIS quantities are JSON numbers.
    document = json_object(("application/ld+json", "application/json"), exact_numbers=True)
    captured = epcis_capture.capture(
        document, current_principal(), current_app.config["PUBLIC_URL"]
    )
    return {
        "captured": [
            {"index": c.index, "operation": c.operation, "id": c.object_id} for c in captured
        ]
    }, 201
