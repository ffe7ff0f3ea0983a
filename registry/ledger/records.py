"""An event as a JSON object: the record its ledger leaf is made of.

The leaf bytes are the RFC 8785 canonical JSON of :func:`event_record`, so this function is
part of the ledger format: changing what it returns for an existing row would make every
stored leaf disagree with its event. Add fields only together with a new record version.
Quantities are decimal strings in the base unit (g or mL), never numbers, so no value depends
on floating point and every integer stays inside I-JSON's exact range.
"""

from __future__ import annotations

from typing import Any

from registry.custody.quantities import Amount
from registry.ledger import canonical
from registry.models import Event


def _amount(event: Event, micro: int | None, unit: str | None = None) -> dict[str, str] | None:
    if micro is None or event.dimension is None:
        return None
    return Amount(event.dimension, micro).as_json(unit)


def event_record(event: Event, unit: str | None = None) -> dict[str, Any]:
    """The event; with ``unit``, its quantities in that unit (for display, not for leaves)."""
    return {
        "id": event.id,
        "ledger_index": event.ledger_index,
        "type": event.type,
        "batch_id": event.batch_id,
        "cas_rn": event.cas_rn,
        "organization_id": event.organization_id,
        "facility_id": event.facility_id,
        "actor": {
            "credential_id": event.credential_id,
            "role": event.actor_role,
            "organization_id": event.actor_organization_id,
        },
        "quantity": _amount(event, event.quantity_micro, unit),
        "quantity_delta": _amount(event, event.quantity_delta_micro, unit),
        "related_batch_id": event.related_batch_id,
        "transfer_id": event.transfer_id,
        "documents": list(event.documents),
        "details": dict(event.details),
        "flagged": event.flagged,
        "recorded_at": event.recorded_at.isoformat(),
    }


def leaf_bytes(event: Event) -> bytes:
    """The exact bytes of the event's ledger leaf: RFC 8785 (``canonical.dumps`` is
    ``rfc8785.dumps``, byte for byte, and faster on records like these)."""
    return canonical.dumps(event_record(event))
