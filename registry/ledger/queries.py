"""Finding events: by substance, organisation, type, control list and period, in ledger order.

Pages are cut by ledger index (keyset), so page 10,000 costs what page 1 does; each filter
has an index that starts with its column and ends with the ledger index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select

from registry.access.credentials import Principal
from registry.catalogue.codes import parse_cas_rn
from registry.db import db
from registry.errors import InvalidInput, message
from registry.models import Event, Substance, SubstanceControlList
from registry.pagination import Page, paginate

EVENT_TYPES = (
    "registered",
    "identifiers_issued",
    "split",
    "created",
    "shipped",
    "dispatched",
    "received",
    "returned",
    "consumed",
    "disposed",
    "exported",
    "incident",
    "recalled",
    "suspended",
    "released",
    "inspected",
    "adjusted",
    "transformed",
)


def check_period(since: datetime | None, until: datetime | None) -> None:
    """A period ends after it starts (either end may be open)."""
    if since is not None and until is not None and since >= until:
        raise InvalidInput("until", message("until must be after since."), "bad_period")


@dataclass(frozen=True)
class EventFilter:
    cas_rn: str | None = None
    organization_id: str | None = None
    type: str | None = None
    control_list: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered(viewer: Principal, where: EventFilter) -> Select[tuple[Event]]:
    """The events ``viewer`` may see that match ``where``, unordered.

    An enterprise sees the events that concern its own stock; naming another organisation
    simply finds none, as for batches.
    """
    check_period(where.since, where.until)
    query = select(Event)
    if viewer.role == "enterprise":
        query = query.where(Event.organization_id == viewer.organization_id)
    if where.organization_id is not None:
        query = query.where(Event.organization_id == where.organization_id)
    if where.cas_rn is not None:
        query = query.where(Event.cas_rn == parse_cas_rn(where.cas_rn))
    if where.type is not None:
        query = query.where(Event.type == where.type)
    if where.control_list is not None:
        listed = (
            select(Substance.cas_rn)
            .join(SubstanceControlList, SubstanceControlList.substance_id == Substance.id)
            .where(SubstanceControlList.control_list_code == where.control_list)
        )
        query = query.where(Event.cas_rn.in_(listed))
    if where.since is not None:
        query = query.where(Event.recorded_at >= where.since)
    if where.until is not None:
        query = query.where(Event.recorded_at < where.until)
    return query


def streamed(viewer: Principal, where: EventFilter, chunk: int) -> Iterator[Row[Any]]:
    """The matching events as plain rows (not ORM objects: nothing accumulates in the
    session), in ledger order, read ``chunk`` at a time through a server-side cursor.

    The filters are checked now; the query runs only when the rows are iterated, in the
    transaction that is current then (a streamed answer reads after its view returned).
    """
    query = (
        filtered(viewer, where)
        .with_only_columns(*Event.__table__.columns)
        .order_by(Event.ledger_index)
    )

    def rows() -> Iterator[Row[Any]]:
        yield from db.session.execute(query, execution_options={"yield_per": chunk})

    return rows()


def list_events(
    viewer: Principal, where: EventFilter, limit: int | None, cursor: str | None
) -> Page[Event]:
    return paginate(filtered(viewer, where), Event.ledger_index, limit, cursor, numeric=True)
