"""The access log, read by regulators (lookups are recorded by ``api.audit.audited`` views)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from marshmallow import fields, validate

from api.auth import requires_roles
from api.bodies import load_query
from api.schemas.common import PageQuery, moment, page_json
from registry.access import access_log

bp = Blueprint("access_log", __name__, url_prefix="/api/v1/access-log")


class AccessQuery(PageQuery):
    credential_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    organization_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    action = fields.String(load_default=None, validate=validate.Length(1, 64))
    object_id = fields.String(load_default=None, validate=validate.Length(1, 64))
    person_hash = fields.String(load_default=None, validate=validate.Length(64, 64))
    since = moment(load_default=None)
    until = moment(load_default=None)


def record_json(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "at": record.at.isoformat(),
        "credential_id": record.credential_id,
        "role": record.role,
        "organization_id": record.organization_id,
        "action": record.action,
        "object_id": record.object_id,
        "query": record.query,
        "person_hash": record.person_hash,
    }


@bp.get("")
@requires_roles("regulator")
def list_access_log():
    query = load_query(AccessQuery)
    limit, cursor = query.pop("limit"), query.pop("cursor")
    page = access_log.list_lookups(access_log.AccessFilter(**query), limit, cursor)
    return page_json(page, record_json)
