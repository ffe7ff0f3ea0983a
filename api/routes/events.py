"""Events across batches (regulators; an enterprise sees its own), and the mass-balance report."""

from __future__ import annotations

from flask import Blueprint, current_app
from marshmallow import fields, validate

from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.routes.access_log import audited
from api.schemas.common import PageQuery, StrictSchema, moment, page_json
from api.schemas.reports import EventFilterQuery, report_json
from registry.ledger.queries import EventFilter, list_events
from registry.ledger.records import event_record
from registry.reports import mass_balance

bp = Blueprint("events", __name__, url_prefix="/api/v1")


class EventQuery(EventFilterQuery, PageQuery):
    pass


class MassBalanceQuery(StrictSchema):
    organization_id = fields.String(required=True, validate=validate.Length(1, 64))
    since = moment(required=True)
    until = moment(required=True)
    cas_rn = fields.String(load_default=None, validate=validate.Length(max=20))


@bp.get("/events")
@requires_roles("regulator", "enterprise")
@audited("events.list")
def events():
    query = load_query(EventQuery())
    limit, cursor = query.pop("limit"), query.pop("cursor")
    page = list_events(current_principal(), EventFilter(**query), limit, cursor)
    return page_json(page, event_record)


@bp.get("/reports/mass-balance")
@requires_roles("regulator", "enterprise")
@audited("report.mass_balance")
def mass_balance_report():
    query = load_query(MassBalanceQuery())
    report = mass_balance.mass_balance(
        current_principal(), thresholds=current_app.config["FLAG_THRESHOLDS"], **query
    )
    return report_json(report)
