"""The EPCIS top-level collections: the event types, business steps and dispositions the
registry's events carry, and the EPCs, business locations and read points it knows, a page
at a time (the standard's ``/eventTypes``, ``/bizSteps``, ``/epcs``... resources).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from registry.db import db
from registry.epcis import event_types, mapping
from registry.errors import InvalidInput, message
from registry.models import Batch, Facility
from registry.pagination import decode_cursor, encode_cursor

COLLECTIONS = ("eventTypes", "bizSteps", "dispositions", "epcs", "bizLocations", "readPoints")


@dataclass(frozen=True)
class Members:
    members: list[str]
    next_page_token: str | None


def _after(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return decode_cursor(token)
    except InvalidInput:
        raise InvalidInput(
            "nextPageToken", message("Not a token this service issued."), "invalid_cursor"
        ) from None


def _fixed(values: list[str], per_page: int, token: str | None) -> Members:
    # The token is the position after the last member sent.
    start = _after(token)
    offset = int(start) if start and start.isdigit() else 0
    page = values[offset : offset + per_page]
    more = offset + per_page < len(values)
    return Members(page, encode_cursor(str(offset + per_page)) if more else None)


def _keyset(model, per_page: int, token: str | None, uri) -> Members:
    statement = select(model)
    last = _after(token)
    if last:
        statement = statement.where(model.id > last)
    rows = list(db.session.scalars(statement.order_by(model.id).limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    return Members([uri(r) for r in rows], encode_cursor(rows[-1].id) if more else None)


def members(collection: str, base_url: str, per_page: int, token: str | None) -> Members:
    """One page of ``collection`` (one of :data:`COLLECTIONS`)."""
    table = event_types.MAPPING.values()
    if collection == "eventTypes":
        return _fixed(sorted({m.epcis_type for m in table}), per_page, token)
    if collection == "bizSteps":
        return _fixed(sorted({m.biz_step for m in table}), per_page, token)
    if collection == "dispositions":
        return _fixed(sorted(set().union(*(m.dispositions for m in table))), per_page, token)
    if collection == "epcs":
        return _keyset(Batch, per_page, token, lambda b: mapping.batch_uri(base_url, b.id))
    # Every facility is where events are read; the same ones are business locations.
    # Several facilities may share a GLN (one Digital Link URI): each is listed once.
    found = _keyset(Facility, per_page, token, lambda f: mapping.location_uri(base_url, f))
    return Members(list(dict.fromkeys(found.members)), found.next_page_token)
