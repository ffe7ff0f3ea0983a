"""GS1 EPCIS 2.0 query interface: the registry's events as an EPCISQueryDocument (JSON-LD).

The standard query parameters that make sense for a registry of lots: eventType,
GE_eventTime / LT_eventTime, EQ_bizStep, EQ_disposition, MATCH_epc, MATCH_anyEPCClass,
perPage with nextPageToken (the next page's link is also in a Link header, as the EPCIS REST
bindings say). The query itself is ``registry.epcis.query``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from marshmallow import fields, validate

from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import json_object, load_query
from api.schemas.common import PRINTABLE_ASCII, QueryInteger, StrictSchema, moment
from api.transactions import write_route
from registry.epcis import capture as epcis_capture
from registry.epcis import mapping
from registry.epcis import query as epcis_query

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


@bp.get("/events")
@requires_roles("regulator")
@audited("epcis.query")
def query_events():
    query = load_query(EpcisQuery())
    page = epcis_query.query_events(
        epcis_query.EventQuery(
            per_page=query["perPage"],
            event_types=_values(query["eventType"]),
            biz_steps=_values(query["EQ_bizStep"]),
            dispositions=_values(query["EQ_disposition"]),
            epcs=_values(query["MATCH_epc"]) + _values(query["MATCH_anyEPCClass"]),
            since=query["GE_eventTime"],
            until=query["LT_eventTime"],
            next_page_token=query["nextPageToken"],
        ),
        current_app.config["PUBLIC_URL"],
    )
    response = Response(mapping.dumps(page.document), mimetype="application/ld+json")
    response.headers["GS1-EPCIS-Version"] = "2.0.0"
    response.headers["GS1-CBV-Version"] = "2.0.0"
    if page.next_page_token:
        args = {k: v for k, v in request.args.items() if k != "nextPageToken"}
        args["nextPageToken"] = page.next_page_token
        link = f"{request.base_url}?{urlencode(args)}"
        response.headers["Link"] = f'<{link}>; rel="next"'
    return response


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
