"""Custody transfers: ship part or all of a batch; the receiver receives or rejects it."""

from __future__ import annotations

from datetime import date
from typing import Any

from registry.access.credentials import Principal
from registry.custody import lifecycle
from registry.custody.batches import held_batch, own_facility
from registry.custody.operations import amount_for, derive, label
from registry.custody.quantities import Amount
from registry.db import db, utcnow
from registry.errors import Forbidden, InvalidInput, NotFound, message
from registry.ledger import events
from registry.models import Batch, Facility, Licence, Organization, Substance, Transfer


def ship(
    batch_id: str,
    quantity: Any,
    to_organization_id: str,
    to_facility_id: str | None,
    documents: list[dict[str, str]],
    actor: Principal,
) -> Transfer:
    """The quantity leaves the sender now and is held in transit until received or rejected."""
    source = held_batch(batch_id, actor)
    lifecycle.check_allowed(source, "ship")
    receiver = db.session.get(Organization, to_organization_id)
    if receiver is None:
        raise InvalidInput(
            "to_organization_id", message("No such organisation."), "organization_unknown"
        )
    if receiver.id == source.holder_organization_id:
        raise InvalidInput(
            "to_organization_id",
            message("A transfer goes to another organisation."),
            "same_organization",
        )
    if to_facility_id is not None:
        facility = db.session.get(Facility, to_facility_id)
        if facility is None or facility.organization_id != receiver.id:
            raise InvalidInput(
                "to_facility_id",
                message("No facility of the receiver has that id."),
                "facility_unknown",
            )
    require_licence(receiver, source.substance, date.today())
    amount = amount_for(source, quantity)
    lifecycle.take(source, amount.micro, "ship")
    shipped = derive(
        source,
        amount.micro,
        "transfer",
        holder=source.holder_organization_id,
        actor=actor,
        status="in_transit",
    )
    transfer = Transfer(
        source_batch_id=source.id,
        shipped_batch_id=shipped.id,
        from_organization_id=source.holder_organization_id,
        to_organization_id=receiver.id,
        to_facility_id=to_facility_id,
        status="in_transit",
        quantity_micro=amount.micro,
        documents=list(documents),
    )
    db.session.add(transfer)
    db.session.flush()
    events.record(
        source,
        "shipped",
        actor,
        delta_micro=-amount.micro,
        related_batch_id=shipped.id,
        transfer_id=transfer.id,
        documents=documents,
        details={"to_organization_id": receiver.id},
    )
    events.record(
        shipped,
        "dispatched",
        actor,
        delta_micro=amount.micro,
        related_batch_id=source.id,
        transfer_id=transfer.id,
        documents=documents,
        details={"to_organization_id": receiver.id, "origin": "transfer"},
    )
    label(shipped, actor)
    return transfer


def require_licence(receiver: Organization, substance: Substance, on: date) -> None:
    """A controlled substance goes only to a holder of a licence covering it on that day."""
    lists = {m.control_list_code for m in substance.memberships}
    if not lists:
        return
    covered = lists | ({substance.cas_rn} if substance.cas_rn else set())
    licences = db.session.scalars(
        db.select(Licence).where(
            Licence.organization_id == receiver.id,
            Licence.valid_from <= on,
            Licence.valid_until >= on,
        )
    )
    if not any(covered & set(licence.covers) for licence in licences):
        raise InvalidInput(
            "to_organization_id",
            message(
                "{receiver} holds no licence covering {substance} on {day}.",
                receiver=receiver.name,
                substance=substance.name,
                day=on.isoformat(),
            ),
            "licence_missing",
        )


def get_transfer(transfer_id: str, viewer: Principal) -> Transfer:
    transfer = db.session.get(Transfer, transfer_id)
    if transfer is None or (
        viewer.role == "enterprise"
        and viewer.organization_id
        not in (transfer.from_organization_id, transfer.to_organization_id)
    ):
        raise NotFound(message("No transfer {transfer_id}.", transfer_id=transfer_id))
    return transfer


def _incoming(transfer_id: str, actor: Principal) -> tuple[Transfer, Batch]:
    transfer = get_transfer(transfer_id, actor)
    if actor.organization_id != transfer.to_organization_id:
        raise Forbidden(message("Only the named receiver receives or rejects a transfer."))
    shipped = lifecycle.lock(transfer.shipped_batch_id)
    return transfer, shipped


def receive(
    transfer_id: str, received_quantity: Any, facility_id: str | None, actor: Principal
) -> Transfer:
    """Custody passes to the receiver; a different quantity is recorded and flagged."""
    transfer, shipped = _incoming(transfer_id, actor)
    lifecycle.check_allowed(shipped, "receive")
    received = amount_for(shipped, received_quantity, "received_quantity", allow_zero=True)
    facility_id = facility_id or transfer.to_facility_id
    if facility_id is not None:
        own_facility(facility_id, actor.organization_id or "", "facility_id")
    # Against what is still in transit: a loss reported on the way is already recorded.
    discrepancy = received.micro - shipped.quantity_micro
    shipped.holder_organization_id = actor.organization_id or ""
    shipped.facility_id = facility_id
    shipped.quantity_micro = received.micro
    shipped.status = "active" if received.micro else "depleted"
    transfer.status = "received_with_discrepancy" if discrepancy else "received"
    transfer.received_quantity_micro = received.micro
    transfer.closed_at = utcnow()
    events.record(
        shipped,
        "received",
        actor,
        delta_micro=discrepancy,
        quantity_micro=received.micro,
        facility_id=facility_id,
        transfer_id=transfer.id,
        documents=transfer.documents,
        details={
            "shipped_quantity": Amount(shipped.dimension, transfer.quantity_micro).as_json(
                shipped.unit
            ),
            "discrepancy": Amount(shipped.dimension, discrepancy).as_json(shipped.unit),
        },
        flagged=bool(discrepancy),
    )
    return transfer


def reject(transfer_id: str, reason: str, actor: Principal) -> Transfer:
    """The receiver refuses the shipment; custody and quantity return to the sender."""
    transfer, shipped = _incoming(transfer_id, actor)
    lifecycle.check_allowed(shipped, "reject")
    shipped.status = "active"
    transfer.status = "rejected"
    transfer.reject_reason = reason
    transfer.closed_at = utcnow()
    events.record(
        shipped,
        "returned",
        actor,
        quantity_micro=shipped.quantity_micro,
        organization_id=transfer.from_organization_id,
        transfer_id=transfer.id,
        details={"reason": reason},
    )
    return transfer
