"""GS1 EPCIS 2.0 queries: the registry's events as an EPCISQueryDocument (JSON-LD), all of
them (``/events``) or those of one event type, EPC, business step, business location, read
point or disposition (``/eventTypes/{eventType}/events``...), and the top-level collections
of those values (``/eventTypes``, ``/epcs``...), lists with paging.

The standard query parameters that make sense for a registry of lots: eventType,
GE_eventTime / LT_eventTime, EQ_bizStep, EQ_disposition, MATCH_epc, MATCH_anyEPCClass,
perPage with nextPageToken (the next page's link is also in a Link header, as the EPCIS REST
bindings say). Several values of a parameter are separated by ``|`` (the binding's
pipeDelimited style) or by commas. The queries themselves are ``registry.epcis.query`` and
``registry.epcis.vocabulary``.
"""

from __future__ import annotations

import re

from flask import Response, current_app, json, request

from api.audit import audited
from api.auth import requires_roles
from api.bodies import load_query
from api.errors import ApiProblem
from api.routes.epcis.common import (
    PageQuery,
    ascii_text,
    bp,
    known_path_value,
    with_next_link,
)
from api.schemas.common import moment
from registry.epcis import event_ids, mapping, vocabulary
from registry.epcis import query as epcis_query
from registry.errors import NotFound, message

MEDIA_TYPES = ("application/ld+json", "application/json")


class EpcisQuery(PageQuery):
    eventType = ascii_text(200)
    GE_eventTime = moment(load_default=None)
    LT_eventTime = moment(load_default=None)
    EQ_bizStep = ascii_text(300)
    EQ_disposition = ascii_text(300)
    MATCH_epc = ascii_text(700)
    MATCH_anyEPCClass = ascii_text(700)


class WithinQuery(EpcisQuery):
    # With a path value (common.MAX_PATH_VALUE), the MATCH_ parameters are shorter, so that
    # the whole URL stays within what is served.
    MATCH_epc = ascii_text(600)
    MATCH_anyEPCClass = ascii_text(600)


_SEPARATORS = re.compile(r"[|,]")


def _values(text: str | None) -> list[str]:
    """A query parameter's values: the binding separates several with ``|``."""
    return [v.strip() for v in _SEPARATORS.split(text) if v.strip()] if text else []


def _events(within: tuple[tuple[str, str], ...] = ()) -> Response:
    query = load_query(WithinQuery if within else EpcisQuery)
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
            within=within,
        ),
        current_app.config["PUBLIC_URL"],
    )
    # JSON-LD by default; plain JSON (the same document) to a client that asks for it, as
    # the EPCIS REST bindings' clients do.
    media_type = request.accept_mimetypes.best_match(MEDIA_TYPES) or MEDIA_TYPES[0]
    response = Response(mapping.dumps(page.document), mimetype=media_type)
    return with_next_link(response, page.next_page_token)


@bp.get("/events")
@requires_roles("regulator")
@audited("epcis.query")
def query_events():
    return _events()


@bp.get("/events/<path:eventID>", merge_slashes=False)
@requires_roles("regulator")
@audited("epcis.query")
def query_event(eventID: str) -> Response:  # the binding names it eventID
    """One event by its ``eventID`` (URL-encoded in the path), in an EPCISQueryDocument."""
    base_url = current_app.config["PUBLIC_URL"]
    found = event_ids.lookup(eventID, base_url)
    if found.pending:
        raise ApiProblem(
            503,
            "epcis_ids_pending",
            message("The registry is still computing its events' ids; retry later."),
            headers={"Retry-After": "5"},
        )
    event = found.event
    if event is None:
        raise NotFound(
            message("No EPCIS event {event_id} in this registry.", event_id=eventID[:100])
        )
    media_type = request.accept_mimetypes.best_match(MEDIA_TYPES) or MEDIA_TYPES[0]
    document = mapping.query_document([event], base_url)
    return Response(mapping.dumps(document), mimetype=media_type)


# One route per resource value, as the binding names them; a value is a URI, so the path
# converter takes its slashes, and merge_slashes=False keeps an "https://" whole.
for _collection, _kind in (
    ("eventTypes", "eventType"),
    ("epcs", "epc"),
    ("bizSteps", "bizStep"),
    ("bizLocations", "bizLocation"),
    ("readPoints", "readPoint"),
    ("dispositions", "disposition"),
):

    def _events_of(_kind: str = _kind, **values: str) -> Response:
        value = values[_kind]
        if not known_path_value(_kind, value):
            raise ApiProblem(
                404,
                "not_found",
                message("No {kind} {value} in this registry.", kind=_kind, value=value[:80]),
            )
        return _events(((_kind, value),))

    def _collection_view(_collection: str = _collection) -> Response:
        query = load_query(PageQuery)
        page = vocabulary.members(
            _collection,
            current_app.config["PUBLIC_URL"],
            query["perPage"],
            query["nextPageToken"],
        )
        body = {
            "@context": mapping.EPCIS_CONTEXT,
            "type": "Collection",
            "member": page.members,
        }
        response = Response(json.dumps(body), mimetype="application/json")
        return with_next_link(response, page.next_page_token)

    bp.add_url_rule(
        f"/{_collection}/<path:{_kind}>/events",
        f"{_kind}_events",
        requires_roles("regulator")(audited("epcis.query")(_events_of)),
        methods=["GET"],
        merge_slashes=False,
    )
    bp.add_url_rule(
        f"/{_collection}",
        f"{_collection}_collection",
        requires_roles("regulator")(audited("epcis.query")(_collection_view)),
        methods=["GET"],
    )
