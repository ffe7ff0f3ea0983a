"""Mass balance of one organisation, per substance, over a period, with red flags.

    opening + produced + imported + received + returned
            - shipped - consumed - disposed - exported - lost - transformed = expected closing

against the actual closing: what the organisation physically held at the end of the period,
rebuilt batch by batch from the events. The two differ by what the flows cannot explain:
stock-count adjustments and receipt discrepancies, each named by a flag.

Stock is custody. A batch enters an organisation's custody once: when it is registered or
split off (its creator), or when a shipment is received (the receiver) or rejected (back to
the sender). A batch in transit is in no one's custody. So what an organisation held at time
t is the sum, over the batches in its custody by then, of each batch's event deltas up to t.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from registry.access.credentials import Principal
from registry.catalogue.codes import parse_cas_rn
from registry.custody.batches import pure_grams_of
from registry.db import db, utcnow
from registry.errors import NotFound, message
from registry.ledger.queries import check_period
from registry.models import Batch, Event, Organization, Transfer
from registry.reports import red_flags
from registry.reports.red_flags import Thresholds

CUSTODY_STARTS = ("registered", "created", "received", "returned")
OUTFLOWS = {
    "shipped": "shipped",
    "consumed": "consumed",
    "disposed": "disposed",
    "exported": "exported",
    "incident": "lost",
    "transformed": "transformed",
}
INFLOW_KINDS = ("produced", "imported", "transformation", "received", "returned")
OUTFLOW_KINDS = tuple(dict.fromkeys(OUTFLOWS.values()))


@dataclass
class Flag:
    code: str
    message: str
    events: list[Event]


@dataclass
class Line:
    cas_rn: str | None
    substance_name: str
    dimension: str
    opening: int = 0
    inflows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(INFLOW_KINDS, 0))
    outflows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTFLOW_KINDS, 0))
    actual_closing: int = 0
    # The same figures in pure-substance grams; None when a volume has no density.
    pure: dict[str, Decimal] | None = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)

    @property
    def expected_closing(self) -> int:
        return self.opening + sum(self.inflows.values()) - sum(self.outflows.values())

    @property
    def discrepancy(self) -> int:
        return self.actual_closing - self.expected_closing

    def add_pure(self, key: str, grams: Decimal | None) -> None:
        if self.pure is None:
            return
        if grams is None:
            self.pure = None
            return
        self.pure[key] = self.pure.get(key, Decimal(0)) + grams


@dataclass(frozen=True)
class Report:
    organization: Organization
    since: datetime
    until: datetime
    lines: list[Line]


def _check_viewer(viewer: Principal, organization_id: str) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None or (
        viewer.role == "enterprise" and viewer.organization_id != organization_id
    ):
        raise NotFound(
            message("No organisation {organization_id}.", organization_id=organization_id)
        )
    return organization


def mass_balance(
    viewer: Principal,
    organization_id: str,
    since: datetime,
    until: datetime,
    cas_rn: str | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    """The organisation's balance per substance (and dimension) over [since, until)."""
    check_period(since, until)
    organization = _check_viewer(viewer, organization_id)
    thresholds = thresholds or Thresholds()
    substance = parse_cas_rn(cas_rn) if cas_rn is not None else None

    custody = select(Event.batch_id).where(
        Event.organization_id == organization_id,
        Event.type.in_(CUSTODY_STARTS),
        Event.recorded_at < until,
    )
    if substance is not None:
        custody = custody.where(Event.cas_rn == substance)
    batches = {b.id: b for b in db.session.scalars(select(Batch).where(Batch.id.in_(custody)))}
    history = list(
        db.session.scalars(
            select(Event)
            .where(Event.batch_id.in_(custody), Event.recorded_at < until)
            .order_by(Event.ledger_index)
        )
    )
    custody_start = {
        e.batch_id: e
        for e in reversed(history)  # the first custody start wins
        if e.type in CUSTODY_STARTS and e.organization_id == organization_id
    }
    lines: dict[tuple[str | None, str], Line] = {}

    def line_of(batch: Batch) -> Line:
        key = (batch.cas_rn, batch.dimension)
        if key not in lines:
            lines[key] = Line(batch.cas_rn, batch.substance.name, batch.dimension)
        return lines[key]

    for event in history:
        batch = batches[event.batch_id]
        line = line_of(batch)
        delta = event.quantity_delta_micro or 0
        # Physical stock: every delta of a batch counts once the batch is in custody; the
        # deltas before (in transit) count at the moment custody starts, with it.
        start = custody_start[event.batch_id]
        at = max(event.recorded_at, start.recorded_at)
        if at < since:
            line.opening += delta
            line.add_pure("opening", pure_grams_of(batch, delta))
        line.actual_closing += delta
        line.add_pure("actual_closing", pure_grams_of(batch, delta))
        # Flows are what happened in custody (a loss in transit was the shipment's).
        if event.ledger_index >= start.ledger_index and event.recorded_at >= since:
            kind, amount, outflow = _flow(event, batch)
            if kind is not None:
                (line.outflows if outflow else line.inflows)[kind] += amount
                line.add_pure(kind, pure_grams_of(batch, amount))

    _flag(organization, since, until, substance, thresholds, history, batches, line_of)
    ordered = sorted(lines.values(), key=lambda ln: (ln.cas_rn or "", ln.dimension))
    return Report(organization, since, until, ordered)


def _flow(event: Event, batch: Batch) -> tuple[str | None, int, bool]:
    """(kind, amount, is it an outflow) for an event of a batch in the organisation's custody."""
    delta = event.quantity_delta_micro or 0
    if event.type == "registered":
        origin = event.details.get("origin")
        return (origin if origin in ("produced", "imported") else "transformation"), delta, False
    if event.type == "received":
        # What the receiver was sent (still in transit at receipt); the difference between
        # that and what arrived is the discrepancy, flagged.
        return "received", (event.quantity_micro or 0) - delta, False
    if event.type == "returned":
        return "returned", event.quantity_micro or 0, False
    if event.type in OUTFLOWS:
        return OUTFLOWS[event.type], -delta, True
    return None, 0, False  # split/created move stock within the organisation; adjustments


def _flag(organization, since, until, substance, thresholds, history, batches, line_of):
    in_period = [
        e
        for e in history
        if since <= e.recorded_at < until and e.organization_id == organization.id
    ]

    def add(events: list[Event], code: str, message: str) -> None:
        by_line: dict[int, tuple] = {}
        for event in events:
            if event.batch_id not in batches:  # a batch in transit: in no one's custody
                batches[event.batch_id] = db.session.get(Batch, event.batch_id)
            line = line_of(batches[event.batch_id])
            by_line.setdefault(id(line), (line, []))[1].append(event)
        for line, found in by_line.values():
            line.flags.append(Flag(code, message, found))

    add(
        [e for e in in_period if e.type == "received" and e.quantity_delta_micro],
        "receipt_discrepancy",
        "A shipment arrived with a different quantity than was sent.",
    )
    add(
        [e for e in in_period if e.type == "adjusted"],
        "adjustment",
        "Stock was adjusted after a count.",
    )
    add(
        [
            e
            for e in in_period
            if (e.quantity_delta_micro or 0) > 0 and e.type in ("adjusted", "received")
        ],
        "stock_without_inflow",
        "Stock appeared that no recorded inflow explains.",
    )
    _flag_incidents(organization, since, until, substance, batches, line_of, add)
    _flag_unreceived(organization, until, substance, thresholds, line_of, add)
    _flag_licences(organization, in_period, batches, add)
    _flag_large_orders(history, organization, since, thresholds, add)
    _flag_structuring(in_period, batches, thresholds, add)


def _flag_incidents(organization, since, until, substance, batches, line_of, add) -> None:
    # Losses in transit concern a batch in no one's custody: fetched apart, named for the
    # sender, whose shipment it was.
    query = select(Event).where(
        Event.organization_id == organization.id,
        Event.type == "incident",
        Event.recorded_at >= since,
        Event.recorded_at < until,
    )
    if substance is not None:
        query = query.where(Event.cas_rn == substance)
    incidents = list(db.session.scalars(query.order_by(Event.ledger_index)))
    add(incidents, "loss_or_theft", "Stock was reported lost, stolen or spilled.")


def _flag_unreceived(organization, until, substance, thresholds, line_of, add) -> None:
    cutoff = red_flags.overdue_cutoff(min(until, utcnow()), thresholds)
    query = red_flags.shipped_events().where(
        Transfer.from_organization_id == organization.id, red_flags.overdue(cutoff)
    )
    if substance is not None:
        query = query.where(Event.cas_rn == substance)
    stale = list(db.session.scalars(query.order_by(Event.ledger_index)))
    add(
        stale,
        "shipment_not_received",
        f"A shipment has not been received or rejected after {thresholds.transit_days} days.",
    )


def _flag_licences(organization, in_period, batches, add) -> None:
    licences = list(organization.licences)
    moves = [
        e
        for e in in_period
        if e.type in red_flags.LICENSED_MOVES
        and not red_flags.covered(
            licences, red_flags.controlled_names(batches[e.batch_id]), e.recorded_at.date()
        )
    ]
    add(moves, "licence_missing", "A movement happened without a licence covering it that day.")


def _flag_large_orders(history, organization, since, thresholds, add) -> None:
    seen: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    large = []
    for event in history:
        if event.organization_id != organization.id or event.type not in red_flags.ORDER_MOVES:
            continue
        amount = abs(event.quantity_micro or 0)
        past = seen[(event.cas_rn, event.type)]
        if event.recorded_at >= since and red_flags.unusually_large(amount, past, thresholds):
            large.append(event)
        past.append(amount)
    add(
        large,
        "unusually_large",
        f"A shipment or receipt over {thresholds.large_order_factor}x the organisation's "
        "usual quantity of this substance.",
    )


def _flag_structuring(in_period, batches, thresholds, add) -> None:
    near: dict[str | None, list[Event]] = defaultdict(list)
    for event in in_period:
        if event.type != "shipped":
            continue
        grams = pure_grams_of(batches[event.batch_id], event.quantity_micro or 0)
        if red_flags.just_under(grams, thresholds):
            near[event.cas_rn].append(event)
    repeated = [e for found in near.values() if len(found) >= thresholds.repeated for e in found]
    add(
        repeated,
        "just_under_threshold",
        f"{thresholds.repeated} or more shipments just under the reporting threshold.",
    )
