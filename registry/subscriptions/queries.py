"""Named EPCIS queries (EPCIS 2.0 REST bindings ``/queries``), each its owner's own.

A query's name is unique among its owner's queries; another caller's queries are not found.
Deleting a query ends its subscriptions and drops what they had not yet delivered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select

from registry.access.credentials import Principal
from registry.catalogue.control_lists import KNOWN_LISTS
from registry.db import db
from registry.epcis import mapping
from registry.epcis import query as epcis_query
from registry.errors import Conflict, InvalidInput, NotFound, message
from registry.models import (
    Event,
    OutboxMessage,
    SavedQuery,
    Subscription,
    Transfer,
)
from registry.pagination import decode_cursor, encode_cursor
from registry.reports import red_flags
from registry.subscriptions import matching, outbox


def _check(parameters: dict[str, Any]) -> None:
    for code in parameters.get("EQ_controlList", []):
        if code not in KNOWN_LISTS:
            raise InvalidInput(
                "query.EQ_controlList",
                message("No control list {code}.", code=code),
                "unknown_control_list",
            )
    for flag in parameters.get("EQ_redFlag", []):
        if flag not in matching.SUBSCRIBABLE_FLAGS:
            raise InvalidInput(
                "query.EQ_redFlag",
                message("{flag} is not a red flag a subscription can receive.", flag=flag),
                "red_flag_unknown",
            )


def create_query(name: str, parameters: dict[str, Any], owner: Principal) -> SavedQuery:
    """Save ``parameters`` (lists of strings; times as ISO 8601) as ``name``."""
    _check(parameters)
    if _find(name, owner) is not None:
        raise Conflict(message("A query named {name} exists already.", name=name), "query_exists")
    query = SavedQuery(
        name=name,
        parameters=parameters,
        owner_credential_id=owner.credential_id,
        owner_role=owner.role,
        owner_organization_id=owner.organization_id,
    )
    db.session.add(query)
    db.session.flush()
    return query


def _find(name: str, owner: Principal) -> SavedQuery | None:
    return db.session.scalar(
        select(SavedQuery).where(
            SavedQuery.owner_credential_id == owner.credential_id, SavedQuery.name == name
        )
    )


def get_query(name: str, owner: Principal) -> SavedQuery:
    query = _find(name, owner)
    if query is None:
        raise NotFound(message("No query named {name}.", name=name))
    return query


def list_queries(owner: Principal) -> list[SavedQuery]:
    return list(
        db.session.scalars(
            select(SavedQuery)
            .where(SavedQuery.owner_credential_id == owner.credential_id)
            .order_by(SavedQuery.name)
        )
    )


def delete_query(name: str, owner: Principal) -> None:
    """Remove the query, its subscriptions and their undelivered messages."""
    query = get_query(name, owner)
    subscriptions = select(Subscription.id).where(Subscription.query_id == query.id)
    db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.subscription_id.in_(subscriptions))
    )
    db.session.execute(delete(Subscription).where(Subscription.query_id == query.id))
    db.session.delete(query)
    db.session.flush()


@dataclass(frozen=True)
class EventsPage:
    document: dict
    next_page_token: str | None


def query_events(
    query: SavedQuery, per_page: int, next_page_token: str | None, base_url: str
) -> EventsPage:
    """One page of the events the saved query matches now, in ledger order."""
    m = matching.matcher(query, base_url)
    statement = matching.candidates(m)
    if next_page_token:
        last = decode_cursor(next_page_token)
        if not last.isdigit():
            raise InvalidInput(
                "nextPageToken", message("Not a token this service issued."), "invalid_cursor"
            )
        statement = statement.where(Event.ledger_index > int(last))
    scanned = list(db.session.scalars(statement.order_by(Event.ledger_index).limit(per_page + 1)))
    more = len(scanned) > per_page
    scanned = scanned[:per_page]
    token = encode_cursor(str(scanned[-1].ledger_index)) if more else None
    # Dispositions and red flags are checked here: a page may hold fewer than per_page.
    flagger = red_flags.Flagger(outbox.thresholds())
    found = [e for e in scanned if m.matches(e, lambda e=e: _flags_now(flagger, e))]
    return EventsPage(document(found, base_url, query.name), token)


def _flags_now(flagger: red_flags.Flagger, event: Event) -> list[str]:
    """The flags ``event`` raised when written, and the alert raised about it since."""
    flags = flagger.flags_of(event)
    if event.type == "shipped" and event.transfer_id is not None:
        transfer = db.session.get(Transfer, event.transfer_id)
        if transfer is not None and transfer.overdue_alerted_at is not None:
            flags.append("shipment_not_received")
    return flags


def document(
    found: list[Event],
    base_url: str,
    query_name: str,
    subscription_id: str | None = None,
) -> dict:
    """An ``EPCISQueryDocument`` of ``found``, as the saved query's answer or delivery."""
    events = epcis_query.epcis_events(found, base_url)
    return mapping.query_document(events, base_url, query_name, subscription_id)
