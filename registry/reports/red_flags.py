"""The red-flag rules, written once: the mass-balance report (``registry.reports.mass_balance``)
and the subscriptions' outbox (``registry.subscriptions.outbox``) both apply them.

Each rule here is the test one event (or one shipment) fails. The report applies it over a
period's history; ``Flagger.flags_of`` applies it to an event as it is written, from the
rows the event follows in the ledger, so a flag reaches subscribers when it arises.
``shipment_not_received`` needs time to pass: the delivery worker's scan raises it
(``registry.subscriptions.overdue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Select, and_, select

from registry.custody.batches import pure_grams_of
from registry.db import db
from registry.models import Batch, Event, Licence, Organization, Transfer

# How many of an organisation's previous movements make its usual quantity.
LARGE_ORDER_WINDOW = 20
LICENSED_MOVES = ("registered", "received", "returned", "shipped", "exported")
ORDER_MOVES = ("received", "shipped")


@dataclass(frozen=True)
class Thresholds:
    """What makes a flag. Set by the operator (see api.config)."""

    transit_days: int = 7
    large_order_factor: Decimal = Decimal(3)
    large_order_history: int = 3
    reporting_threshold_g: Decimal = Decimal(100_000)  # 100 kg of pure substance
    just_under: Decimal = Decimal("0.9")
    repeated: int = 3
    # The trailing window in which shipments just under the threshold are counted as written.
    structuring_window_days: int = 30


def overdue_cutoff(now: datetime, thresholds: Thresholds) -> datetime:
    """A shipment still in transit that was shipped before this is not received in time."""
    return now - timedelta(days=thresholds.transit_days)


def overdue(cutoff: datetime) -> ColumnElement[bool]:
    """A transfer still in transit that was shipped before ``cutoff`` (``overdue_cutoff``)."""
    return and_(Transfer.status == "in_transit", Transfer.shipped_at < cutoff)


def shipped_events() -> Select:
    """Each transfer's ``shipped`` event, joined to its transfer."""
    return (
        select(Event)
        # Through the source batch too: events.transfer_id has no index of its own, and
        # without it SQLite walks every shipment in the registry.
        .join(
            Transfer,
            (Transfer.id == Event.transfer_id) & (Event.batch_id == Transfer.source_batch_id),
        )
        .where(Event.type == "shipped")
    )


def controlled_names(batch: Batch) -> frozenset[str]:
    """What a licence must name to cover ``batch``'s substance: one of its control lists or
    its CAS RN; nothing when the substance is on no control list."""
    lists = {m.control_list_code for m in batch.substance.memberships}
    return frozenset(lists | {batch.cas_rn}) if lists else frozenset()


def covered(licences: list[Licence], names: frozenset[str], on: date) -> bool:
    """Whether one of ``licences`` covers, on ``on``, a substance a licence must name one of
    ``names`` for (``controlled_names``; always, for a substance on no control list)."""
    if not names:
        return True  # not a controlled substance
    return any(
        lic.valid_from <= on <= lic.valid_until and names & set(lic.covers) for lic in licences
    )


def unusually_large(amount: int, previous: list[int], thresholds: Thresholds) -> bool:
    """``amount`` against the organisation's previous amounts of that substance and movement
    (the last ``LARGE_ORDER_WINDOW`` of them): over the factor times their mean."""
    recent = previous[-LARGE_ORDER_WINDOW:]
    return len(recent) >= thresholds.large_order_history and amount * len(
        recent
    ) > thresholds.large_order_factor * sum(recent)


def just_under(grams: Decimal | None, thresholds: Thresholds) -> bool:
    """A shipment of ``grams`` pure substance just under the reporting threshold."""
    low = thresholds.reporting_threshold_g * thresholds.just_under
    return grams is not None and low <= grams < thresholds.reporting_threshold_g


def event_flags(event: Event) -> list[str]:
    """The flags ``event`` raises by itself, without reading anything else."""
    delta = event.quantity_delta_micro or 0
    flags = []
    if event.type == "received" and delta:
        flags.append("receipt_discrepancy")
    if event.type == "adjusted":
        flags.append("adjustment")
    if delta > 0 and event.type in ("adjusted", "received"):
        flags.append("stock_without_inflow")
    if event.type == "incident":
        flags.append("loss_or_theft")
    return flags


def _same_moves(event: Event) -> Select:
    """The organisation's earlier events of the event's type and substance, newest first
    (``ix_events_organization_type_substance``)."""
    same_substance = (
        Event.cas_rn.is_(None) if event.cas_rn is None else Event.cas_rn == event.cas_rn
    )
    return (
        select(Event)
        .where(
            Event.organization_id == event.organization_id,
            Event.type == event.type,
            same_substance,
            Event.ledger_index < event.ledger_index,
        )
        .order_by(Event.ledger_index.desc())
    )


class Flagger:
    """Applies every write-time rule to the events of one transaction, reading what each rule
    needs once (an organisation's licences, for instance)."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._licences: dict[str, list[Licence]] = {}
        self._names: dict[str, frozenset[str]] = {}  # by CAS RN

    def flags_of(self, event: Event) -> list[str]:
        """Every flag ``event`` raises as it is written, in the report's names."""
        flags = event_flags(event)
        if event.type not in LICENSED_MOVES:
            return flags
        licences = self._licences_of(event.organization_id)
        if not covered(licences, self._names_of(event), event.recorded_at.date()):
            flags.append("licence_missing")
        if event.type in ORDER_MOVES and self._unusually_large(event):
            flags.append("unusually_large")
        if event.type == "shipped" and self._just_under_again(event):
            flags.append("just_under_threshold")
        return flags

    def _names_of(self, event: Event) -> frozenset[str]:
        # A substance's control lists, read once per substance (bulk writes register many
        # batches of one), not once per batch.
        if event.cas_rn is not None and event.cas_rn in self._names:
            return self._names[event.cas_rn]
        names = controlled_names(db.session.get(Batch, event.batch_id))
        if event.cas_rn is not None:
            self._names[event.cas_rn] = names
        return names

    def _licences_of(self, organization_id: str) -> list[Licence]:
        if organization_id not in self._licences:
            organization = db.session.get(Organization, organization_id)
            self._licences[organization_id] = list(organization.licences)
        return self._licences[organization_id]

    def _unusually_large(self, event: Event) -> bool:
        previous = list(
            db.session.scalars(
                _same_moves(event).with_only_columns(Event.quantity_micro).limit(LARGE_ORDER_WINDOW)
            )
        )
        amounts = [abs(q or 0) for q in reversed(previous)]
        return unusually_large(abs(event.quantity_micro or 0), amounts, self.thresholds)

    def _just_under_again(self, event: Event) -> bool:
        """The shipment is just under the threshold and makes, with the organisation's others
        of that substance in the trailing window, ``repeated`` or more."""
        batch = db.session.get(Batch, event.batch_id)
        if not just_under(pure_grams_of(batch, event.quantity_micro or 0), self.thresholds):
            return False
        since = event.recorded_at - timedelta(days=self.thresholds.structuring_window_days)
        earlier = db.session.execute(
            _same_moves(event)
            .add_columns(Batch)
            .join(Batch, Batch.id == Event.batch_id)
            .where(Event.recorded_at > since)
        )
        count = 1
        for other, other_batch in earlier:
            if just_under(pure_grams_of(other_batch, other.quantity_micro or 0), self.thresholds):
                count += 1
                if count >= self.thresholds.repeated:
                    return True
        return count >= self.thresholds.repeated
