"""The access log: lookups are recorded by ``@audited`` views; regulators read the log."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, request
from marshmallow import fields, validate

from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.schemas.common import PageQuery, moment, page_json
from registry import unit_of_work
from registry.access import access_log

bp = Blueprint("access_log", __name__, url_prefix="/api/v1/access-log")


def audited(action: str, object_arg: str | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Record a successful call of the view as ``action`` on its ``object_arg`` argument."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def logged(*args: Any, **kwargs: Any) -> Any:
            answer = view(*args, **kwargs)
            object_id = (
                kwargs.get(object_arg) if object_arg else request.args.get("organization_id")
            )
            query = request.query_string.decode("utf-8", "replace")
            viewer = current_principal()
            # The read is over; the log entry is a write of its own.
            unit_of_work.write_separately(
                lambda: access_log.record_lookup(viewer, action, object_id, query)
            )
            return answer

        return logged

    return decorate


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
    query = load_query(AccessQuery())
    limit, cursor = query.pop("limit"), query.pop("cursor")
    page = access_log.list_lookups(access_log.AccessFilter(**query), limit, cursor)
    return page_json(page, record_json)
