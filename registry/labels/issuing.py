"""Issuing identifiers: a signed token for a batch and for each of its containers."""

from __future__ import annotations

from typing import Any

from registry.access.credentials import Principal
from registry.db import db, new_id, utcnow
from registry.ledger import events
from registry.models import Batch, Identifier, Organization
from registry.signing import signer


def signed_identifiers(batch: Batch, serials: list[str]) -> list[dict[str, Any]]:
    """The identifier rows of a batch's label: a signed token for the batch, then one per
    container serial (no ledger index needed, so they can be made before claiming one)."""
    sign = signer().sign
    rows = []
    for serial in [None, *serials]:
        token, key = sign(batch.id, serial)
        rows.append(
            {
                "id": new_id(),
                "batch_id": batch.id,
                "container_serial": serial,
                "holder_organization_id": batch.holder_organization_id,
                "token": token,
                "kid": key.kid.hex(),
                "issued_at": utcnow(),
            }
        )
    return rows


def issuance_details(rows: list[dict[str, Any]], serials: list[str]) -> dict[str, Any]:
    """The ``identifiers_issued`` event's details for the identifiers ``rows``."""
    return {"kid": rows[0]["kid"], "containers": serials, "tokens": [r["token"] for r in rows]}


def issue_identifiers(batch: Batch, actor: Principal | None, serials: list[str]) -> None:
    """Sign a token for the batch and one per container serial; record the issuance."""
    rows = signed_identifiers(batch, serials)
    issued = [Identifier(**row) for row in rows]
    batch.identifiers.extend(issued)
    db.session.add_all(issued)
    events.record(batch, "identifiers_issued", actor, details=issuance_details(rows, serials))


def holder_when_issued(identifier: Identifier) -> Organization:
    """The organisation that held the batch when ``identifier`` was issued (its label names it)."""
    return db.session.get(Organization, identifier.holder_organization_id)
