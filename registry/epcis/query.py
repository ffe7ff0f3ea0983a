"""The EPCIS 2.0 query interface's work: registry events chosen by the standard query
parameters, one page of them in ledger order, as an ``EPCISQueryDocument``.

The parameters that make sense for a registry of lots: eventType, GE_eventTime /
LT_eventTime, EQ_bizStep, EQ_disposition, MATCH_epc, MATCH_anyEPCClass, and perPage with
nextPageToken. Each list parameter arrives here as its values (EPCIS writes several as a
comma-separated string; the HTTP layer splits them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select

from registry.db import db
from registry.epcis import event_types, mapping
from registry.errors import InvalidInput, message
from registry.models import Batch, Event, Facility, Organization, Transfer
from registry.pagination import decode_cursor, encode_cursor


@dataclass(frozen=True)
class EventQuery:
    per_page: int
    event_types: list[str] = field(default_factory=list)
    biz_steps: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    epcs: list[str] = field(default_factory=list)  # MATCH_epc and MATCH_anyEPCClass
    since: datetime | None = None  # GE_eventTime
    until: datetime | None = None  # LT_eventTime
    next_page_token: str | None = None
    # A resource's own value (/bizSteps/{bizStep}/events...), as (kind, value): each must
    # hold besides the parameters. Kinds: eventType, bizStep, disposition, epc,
    # bizLocation, readPoint.
    within: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EpcisPage:
    document: dict
    next_page_token: str | None  # None on the last page


_TYPE_FILTERS = {
    "eventType": event_types.types_for_event_type,
    "bizStep": event_types.types_for_biz_step,
    "disposition": event_types.types_for_disposition,
}


def _allowed_types(query: EventQuery) -> set[str] | None:
    allowed: set[str] | None = None
    for values, translate in (
        (query.event_types, event_types.types_for_event_type),
        (query.biz_steps, event_types.types_for_biz_step),
        (query.dispositions, event_types.types_for_disposition),
        *(([v], _TYPE_FILTERS[k]) for k, v in query.within if k in _TYPE_FILTERS),
        # Where the goods no longer are after the event, it names no bizLocation.
        *(
            ([""], lambda _: {t for t, m in event_types.MAPPING.items() if m.at_location})
            for k, _ in query.within
            if k == "bizLocation"
        ),
    ):
        if values:
            types = set().union(*(translate(v) for v in values))
            allowed = types if allowed is None else allowed & types
    return allowed


def _batch_ids(query: EventQuery, base_url: str) -> set[str] | None:
    if not query.epcs:
        return None
    ids = set()
    for uri in query.epcs:
        batch_id = mapping.parse_batch_uri(base_url, uri)
        if batch_id is not None:
            ids.add(batch_id)
    return ids


def _facility_ids(uri: str, base_url: str) -> list[str]:
    """The facilities whose location URI (GLN Digital Link or ours) is ``uri``: those with
    the id or the GLN it names, read, then kept if their URI is exactly ``uri``."""
    named = uri.rstrip("/").rsplit("/", 1)[-1][:26]
    candidates = db.session.scalars(
        select(Facility).where(or_(Facility.id == named, Facility.gln == named))
    )
    return [f.id for f in candidates if mapping.location_uri(base_url, f) == uri]


def _after(token: str) -> int:
    last = decode_cursor(token)
    if not last.isdigit():
        raise InvalidInput(
            "nextPageToken", message("Not a token this service issued."), "invalid_cursor"
        )
    return int(last)


def query_events(query: EventQuery, base_url: str) -> EpcisPage:
    """One page of the events matching ``query``, and the token of the next page if any."""
    statement = select(Event)
    allowed = _allowed_types(query)
    if allowed is not None:
        statement = statement.where(Event.type.in_(sorted(allowed)))
    batch_ids = _batch_ids(query, base_url)
    if batch_ids is not None:
        statement = statement.where(
            or_(Event.batch_id.in_(batch_ids), Event.related_batch_id.in_(batch_ids))
        )
    for kind, value in query.within:
        if kind == "epc":
            ids = [i for i in [mapping.parse_batch_uri(base_url, value)] if i]
            statement = statement.where(
                or_(Event.batch_id.in_(ids), Event.related_batch_id.in_(ids))
            )
        elif kind in ("bizLocation", "readPoint"):
            statement = statement.where(Event.facility_id.in_(_facility_ids(value, base_url)))
    if query.since is not None:
        statement = statement.where(Event.recorded_at >= query.since)
    if query.until is not None:
        statement = statement.where(Event.recorded_at < query.until)
    if query.next_page_token:
        statement = statement.where(Event.ledger_index > _after(query.next_page_token))
    found = list(
        db.session.scalars(statement.order_by(Event.ledger_index).limit(query.per_page + 1))
    )
    more = len(found) > query.per_page
    found = found[: query.per_page]
    token = encode_cursor(str(found[-1].ledger_index)) if more else None
    # Each group must hold: the parameter's values (any of them), and a path's value.
    groups = [query.dispositions] if query.dispositions else []
    groups += [[v] for k, v in query.within if k == "disposition"]
    return EpcisPage(_document(found, base_url, groups), token)


def _document(found: list[Event], base_url: str, dispositions: list[list[str]]) -> dict:
    """The query document for ``found``, kept to the dispositions asked for."""
    for group in dispositions:
        # An incident's or inspection's disposition depends on its details.
        wanted = {event_types.short_disposition(d) for d in group}
        found = [e for e in found if event_types.disposition_of(e) in wanted]
    return mapping.query_document(epcis_events(found, base_url), base_url)


def epcis_events(found: list[Event], base_url: str) -> list[dict]:
    """``found`` as EPCIS events, reading the rows the mapping needs in 4 queries."""
    needed = mapping.references(found)

    def rows(model, ids):
        return {r.id: r for r in db.session.scalars(select(model).where(model.id.in_(ids)))}

    batches, facilities = rows(Batch, needed.batch_ids), rows(Facility, needed.facility_ids)
    organizations = rows(Organization, needed.organization_ids)
    transfers = rows(Transfer, needed.transfer_ids)
    return [
        mapping.epcis_event(e, batches, organizations, facilities, base_url, transfers=transfers)
        for e in found
    ]
