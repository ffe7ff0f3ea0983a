"""Whether an event matches a saved query, and the red flags an event raises as it is written.

The same parameters as ``GET /api/v1/epcis/events`` (eventType, EQ_bizStep, EQ_disposition,
MATCH_epc, MATCH_anyEPCClass, GE_eventTime, LT_eventTime), plus the registry's own:
EQ_organizationID, EQ_casRN, EQ_controlList and EQ_redFlag. Values of one parameter are
alternatives; parameters together must all hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from registry.db import db
from registry.epcis import event_types, mapping
from registry.models import Event, SavedQuery, Substance, SubstanceControlList
from registry.reports import red_flags

LIST_PARAMETERS = (
    "eventType",
    "EQ_bizStep",
    "EQ_disposition",
    "MATCH_epc",
    "MATCH_anyEPCClass",
    "EQ_organizationID",
    "EQ_casRN",
    "EQ_controlList",
    "EQ_redFlag",
)
TIME_PARAMETERS = ("GE_eventTime", "LT_eventTime")

# The mass-balance report's flags (registry.reports.red_flags) pushed to subscribers as
# they arise: as the event is written, or for shipment_not_received, when the delivery
# worker's scan finds the shipment overdue (registry.subscriptions.overdue).
SUBSCRIBABLE_FLAGS = (
    "receipt_discrepancy",
    "adjustment",
    "stock_without_inflow",
    "loss_or_theft",
    "licence_missing",
    "unusually_large",
    "just_under_threshold",
    "shipment_not_received",
)


def flags_of(event: Event) -> list[str]:
    """The red flags ``event`` raises by itself, without reading anything else."""
    return red_flags.event_flags(event)


@dataclass(frozen=True)
class Matcher:
    types: frozenset[str] | None
    dispositions: frozenset[str | None] | None
    batch_ids: frozenset[str] | None
    organization_ids: frozenset[str] | None
    cas_rns: frozenset[str] | None
    flags: frozenset[str] | None
    since: datetime | None
    until: datetime | None

    def matches(self, event: Event, flags: Callable[[], list[str]] | None = None) -> bool:
        """Whether ``event`` matches; ``flags()`` gives its red flags, asked only when the rest
        matches and the query names some (by default those it raises by itself)."""
        return self.matches_apart_from_flags(event) and (
            self.flags is None or not self.flags.isdisjoint(flags() if flags else flags_of(event))
        )

    def matches_apart_from_flags(self, event: Event) -> bool:
        return (
            (self.types is None or event.type in self.types)
            and (
                self.dispositions is None or event_types.disposition_of(event) in self.dispositions
            )
            and (
                self.batch_ids is None
                or event.batch_id in self.batch_ids
                or event.related_batch_id in self.batch_ids
            )
            and (self.organization_ids is None or event.organization_id in self.organization_ids)
            and (self.cas_rns is None or event.cas_rn in self.cas_rns)
            and (self.since is None or event.recorded_at >= self.since)
            and (self.until is None or event.recorded_at < self.until)
        )


def _types(parameters: dict) -> frozenset[str] | None:
    allowed: set[str] | None = None
    for name, translate in (
        ("eventType", event_types.types_for_event_type),
        ("EQ_bizStep", event_types.types_for_biz_step),
        ("EQ_disposition", event_types.types_for_disposition),
    ):
        values = parameters.get(name)
        if values:
            types = set().union(*(translate(v) for v in values))
            allowed = types if allowed is None else allowed & types
    return None if allowed is None else frozenset(allowed)


def _cas_rns(parameters: dict) -> frozenset[str] | None:
    found: set[str] | None = None
    if parameters.get("EQ_casRN"):
        found = set(parameters["EQ_casRN"])
    if parameters.get("EQ_controlList"):
        listed = set(
            db.session.scalars(
                select(Substance.cas_rn)
                .join(SubstanceControlList, SubstanceControlList.substance_id == Substance.id)
                .where(SubstanceControlList.control_list_code.in_(parameters["EQ_controlList"]))
                .where(Substance.cas_rn.is_not(None))
            )
        )
        found = listed if found is None else found & listed
    return None if found is None else frozenset(found)


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def matcher(query: SavedQuery, base_url: str) -> Matcher:
    """The compiled form of ``query``, narrowed to what its owner may see."""
    p = query.parameters
    epcs = [*p.get("MATCH_epc", []), *p.get("MATCH_anyEPCClass", [])]
    batch_ids = None
    if epcs:
        batch_ids = frozenset(
            b for b in (mapping.parse_batch_uri(base_url, uri) for uri in epcs) if b is not None
        )
    organization_ids = frozenset(p["EQ_organizationID"]) if p.get("EQ_organizationID") else None
    if query.owner_organization_id is not None:
        # An enterprise sees its own organisation's events only, whatever the query says.
        own = frozenset({query.owner_organization_id})
        organization_ids = own if organization_ids is None else organization_ids & own
    dispositions = None
    if p.get("EQ_disposition"):
        dispositions = frozenset(event_types.short_disposition(d) for d in p["EQ_disposition"])
    return Matcher(
        types=_types(p),
        dispositions=dispositions,
        batch_ids=batch_ids,
        organization_ids=organization_ids,
        cas_rns=_cas_rns(p),
        flags=frozenset(p["EQ_redFlag"]) if p.get("EQ_redFlag") else None,
        since=_time(p.get("GE_eventTime")),
        until=_time(p.get("LT_eventTime")),
    )


def candidates(m: Matcher):
    """A SELECT of the events that may match ``m`` (the rest is checked in Python)."""
    statement = select(Event)
    if m.types is not None:
        statement = statement.where(Event.type.in_(sorted(m.types)))
    if m.batch_ids is not None:
        statement = statement.where(
            Event.batch_id.in_(m.batch_ids) | Event.related_batch_id.in_(m.batch_ids)
        )
    if m.organization_ids is not None:
        statement = statement.where(Event.organization_id.in_(m.organization_ids))
    if m.cas_rns is not None:
        statement = statement.where(Event.cas_rn.in_(m.cas_rns))
    if m.since is not None:
        statement = statement.where(Event.recorded_at >= m.since)
    if m.until is not None:
        statement = statement.where(Event.recorded_at < m.until)
    return statement
