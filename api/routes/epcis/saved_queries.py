"""EPCIS 2.0 named queries and their webhook subscriptions (the REST bindings' /queries).

Regulators only: a regulator sees every event, so a subscription delivers every event its
query matches. Queries are their owner's own; another regulator's are not found.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app
from marshmallow import ValidationError, fields, validate, validates_schema

from api import webhooks
from api.audit import audited
from api.auth import current_principal, requires_roles
from api.bodies import load_json, load_query
from api.routes.epcis.common import CBV_VERSION, EPCIS_VERSION, PageQuery, with_next_link
from api.schemas.common import PRINTABLE_ASCII, StrictSchema, moment, timestamp
from api.transactions import write_route
from registry.epcis import mapping
from registry.errors import InvalidInput, NotFound, message
from registry.models import SavedQuery, Subscription
from registry.subscriptions import queries, subscriptions

bp = Blueprint("epcis_queries", __name__, url_prefix="/api/v1/epcis")

NAME = re.compile(r"[A-Za-z0-9_.~-]{1,100}\Z")  # \Z: marshmallow's Regexp only matches
ID = re.compile(r"[0-9A-Z]{26}")
MAX_VALUES = 50


def _values(max_length: int) -> fields.List:
    return fields.List(
        fields.String(validate=[validate.Length(1, max_length), PRINTABLE_ASCII]),
        validate=validate.Length(1, MAX_VALUES),
        load_default=None,
    )


class QueryParameters(StrictSchema):
    eventType = _values(700)
    EQ_bizStep = _values(700)
    EQ_disposition = _values(700)
    MATCH_epc = _values(700)
    MATCH_anyEPCClass = _values(700)
    EQ_organizationID = _values(26)
    EQ_casRN = _values(12)
    EQ_controlList = _values(64)
    EQ_redFlag = _values(64)  # which ones: registry.subscriptions.queries
    GE_eventTime = moment(load_default=None)
    LT_eventTime = moment(load_default=None)


class QueryIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Regexp(NAME))
    query = fields.Nested(QueryParameters, required=True)


class SubscriptionIn(StrictSchema):
    dest = fields.String(required=True, validate=[validate.Length(1, 2000), PRINTABLE_ASCII])
    stream = fields.Boolean(load_default=None)
    schedule = fields.Dict(load_default=None)

    @validates_schema
    def _stream(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("schedule") is None and data.get("stream") is not True:
            raise ValidationError("Set stream to true.", "stream")


def _stored(parameters: dict[str, Any]) -> dict[str, Any]:
    """The parameters given, times as ISO 8601 strings (kept in a JSON column)."""
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in parameters.items()
        if v is not None
    }


def query_json(query: SavedQuery) -> dict[str, Any]:
    return {
        "name": query.name,
        "query": query.parameters,
        "createdAt": timestamp(query.created_at),
    }


def subscription_json(subscription: Subscription) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "subscriptionID": subscription.id,
        "createdAt": timestamp(subscription.created_at),
        "stream": True,
        "dest": subscription.dest,
        "active": subscription.active,
        "failures": subscription.failures,
    }
    if subscription.last_notified_at is not None:
        answer["lastNotifiedAt"] = timestamp(subscription.last_notified_at)
    return answer


def _query(name: str) -> SavedQuery:
    if not NAME.match(name):
        raise NotFound(message("No query named {name}.", name=name))
    return queries.get_query(name, current_principal())


def _location(*parts: str) -> str:
    return "/".join((f"{bp.url_prefix}/queries", *parts))


@bp.post("/queries")
@requires_roles("regulator")
@write_route
def create_query():
    body = load_json(QueryIn)
    query = queries.create_query(body["name"], _stored(body["query"]), current_principal())
    return query_json(query), 201, {"Location": _location(query.name)}


@bp.get("/queries")
@requires_roles("regulator")
def list_queries():
    return [query_json(q) for q in queries.list_queries(current_principal())]


@bp.get("/queries/<queryName>")
@requires_roles("regulator")
def get_query(queryName: str):
    return query_json(_query(queryName))


@bp.delete("/queries/<queryName>")
@requires_roles("regulator")
@write_route
def delete_query(queryName: str):
    _query(queryName)
    queries.delete_query(queryName, current_principal())
    return "", 204


@bp.get("/queries/<queryName>/events")
@requires_roles("regulator")
@audited("epcis.query", "queryName")
def query_events(queryName: str):
    query = _query(queryName)
    args = load_query(PageQuery)
    base_url = current_app.config["PUBLIC_URL"]
    page = queries.query_events(query, args["perPage"], args["nextPageToken"], base_url)
    response = Response(mapping.dumps(page.document), mimetype="application/ld+json")
    # This blueprint is not under the EPCIS one's after_request (its OPTIONS answers are
    # not in the contract), so the versions are said here.
    response.headers["GS1-EPCIS-Version"] = EPCIS_VERSION
    response.headers["GS1-CBV-Version"] = CBV_VERSION
    return with_next_link(response, page.next_page_token)


@bp.post("/queries/<queryName>/subscriptions")
@requires_roles("regulator")
@write_route
def subscribe(queryName: str):
    query = _query(queryName)
    body = load_json(SubscriptionIn)
    if body["schedule"] is not None:
        raise InvalidInput(
            "schedule",
            message("Scheduled subscriptions are not offered; set stream to true."),
            "schedule_unsupported",
        )
    made = subscriptions.subscribe(query, body["dest"], webhooks.rules(), webhooks.secrets_key())
    answer = subscription_json(made.subscription) | {"secret": made.secret}
    location = _location(query.name, "subscriptions", made.subscription.id)
    return answer, 201, {"Location": location}


@bp.get("/queries/<queryName>/subscriptions")
@requires_roles("regulator")
def list_subscriptions(queryName: str):
    return [subscription_json(s) for s in subscriptions.list_subscriptions(_query(queryName))]


@bp.delete("/queries/<queryName>/subscriptions/<subscriptionID>")
@requires_roles("regulator")
@write_route
def unsubscribe(queryName: str, subscriptionID: str):
    query = _query(queryName)
    if not ID.fullmatch(subscriptionID):
        raise NotFound(message("No subscription {id}.", id=subscriptionID))
    subscriptions.unsubscribe(query, subscriptionID)
    return "", 204
