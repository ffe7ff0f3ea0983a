"""Reports: the mass balance of an organisation's substances over a period, with red flags."""

from __future__ import annotations

from flask import Blueprint, current_app
from marshmallow import fields, validate

from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.schemas.common import StrictSchema, moment
from api.schemas.reports import report_json
from registry.reports import mass_balance

bp = Blueprint("reports", __name__, url_prefix="/api/v1/reports")


class MassBalanceQuery(StrictSchema):
    organization_id = fields.String(required=True, validate=validate.Length(1, 64))
    since = moment(required=True)
    until = moment(required=True)
    cas_rn = fields.String(load_default=None, validate=validate.Length(max=20))


@bp.get("/mass-balance")
@requires_roles("regulator", "enterprise")
@audited("report.mass_balance")
def mass_balance_report():
    query = load_query(MassBalanceQuery)
    report = mass_balance.mass_balance(
        current_principal(), thresholds=current_app.config["FLAG_THRESHOLDS"], **query
    )
    return report_json(report)
