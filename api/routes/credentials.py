"""Routes for API keys (admin only). A key's secret appears once, in the creation answer."""

from __future__ import annotations

from flask import Blueprint

from api.auth import requires_roles
from api.bodies import load_json, load_query
from api.schemas.common import PageQuery, page_json
from api.schemas.credentials import ApiKeyIn, api_key_json
from api.transactions import write_route
from registry.access import credentials

bp = Blueprint("api_keys", __name__, url_prefix="/api/v1/api-keys")


@bp.post("")
@requires_roles("admin")
@write_route
def create_api_key():
    body = load_json(ApiKeyIn)
    issued = credentials.issue_api_key(**body)
    return {**api_key_json(issued.api_key), "key": issued.secret}, 201


@bp.get("")
@requires_roles("admin")
def list_api_keys():
    query = load_query(PageQuery)
    return page_json(credentials.list_api_keys(**query), api_key_json)


@bp.post("/<key_id>/revoke")
@requires_roles("admin")
@write_route
def revoke_api_key(key_id: str):
    api_key = credentials.revoke_api_key(key_id)
    return api_key_json(api_key)
