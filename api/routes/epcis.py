"""GS1 EPCIS 2.0 query interface: the registry's events as an EPCISQueryDocument (JSON-LD).

The standard query parameters that make sense for a registry of lots: eventType,
GE_eventTime / LT_eventTime, EQ_bizStep, EQ_disposition, MATCH_epc, MATCH_anyEPCClass,
perPage with nextPageToken (the next page's link is also in a Link header, as the EPCIS REST
bindings say). The query itself is ``registry.epcis.query``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from marshmallow import fields, validate

from api.auth import current_principal, requires_roles
from api.bodies import load_query, refuse_nul
from api.errors import ApiProblem
from api.routes.access_log import audited
from api.schemas.common import QueryInteger, StrictSchema
from api.transactions import write_route
from registry.epcis import capture as epcis_capture
from registry.epcis import mapping
from registry.epcis import query as epcis_query

bp = Blueprint("epcis", __name__, url_prefix="/api/v1/epcis")

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 500


class EpcisQuery(StrictSchema):
    eventType = fields.String(load_default=None, validate=validate.Length(1, 200))
    GE_eventTime = fields.AwareDateTime(format="iso", load_default=None)
    LT_eventTime = fields.AwareDateTime(format="iso", load_default=None)
    EQ_bizStep = fields.String(load_default=None, validate=validate.Length(1, 300))
    EQ_disposition = fields.String(load_default=None, validate=validate.Length(1, 300))
    MATCH_epc = fields.String(load_default=None, validate=validate.Length(1, 2000))
    MATCH_anyEPCClass = fields.String(load_default=None, validate=validate.Length(1, 2000))
    perPage = QueryInteger(load_default=DEFAULT_PER_PAGE, validate=validate.Range(1, MAX_PER_PAGE))
    nextPageToken = fields.String(load_default=None, validate=validate.Length(1, 200))


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


def _document_body() -> object:
    """The raw JSON body, numbers as exact Decimals (EPCIS quantities are JSON numbers)."""
    if request.mimetype not in ("application/json", "application/ld+json"):
        raise ApiProblem(415, "unsupported_media_type", "Send application/ld+json or JSON.")
    try:
        return json.loads(request.get_data(cache=True), parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiProblem(400, "malformed_json", f"The body is not valid JSON: {exc}") from None


@bp.post("/capture")
@requires_roles("enterprise")
@write_route
def capture():
    document = _document_body()
    if not isinstance(document, dict):
        raise ApiProblem(400, "body_not_object", "The body must be a JSON object.")
    refuse_nul(document)
    captured = epcis_capture.capture(
        document, current_principal(), current_app.config["PUBLIC_URL"]
    )
    return {
        "captured": [
            {"index": c.index, "operation": c.operation, "id": c.object_id} for c in captured
        ]
    }, 201
