"""Events across batches: regulators see every one, an enterprise its own."""

from __future__ import annotations

from flask import Blueprint

from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.schemas.common import PageQuery, page_json
from api.schemas.reports import EventFilterQuery
from registry.ledger.queries import EventFilter, list_events
from registry.ledger.records import event_record

bp = Blueprint("events", __name__, url_prefix="/api/v1")


class EventQuery(EventFilterQuery, PageQuery):
    pass


@bp.get("/events")
@requires_roles("regulator", "enterprise")
@audited("events.list")
def events():
    query = load_query(EventQuery)
    limit, cursor = query.pop("limit"), query.pop("cursor")
    page = list_events(current_principal(), EventFilter(**query), limit, cursor)
    return page_json(page, event_record)
