"""Issuing identifiers: a signed token for a batch and for each of its containers."""

from __future__ import annotations

from registry.access.credentials import Principal
from registry.db import db, new_id, utcnow
from registry.ledger import events
from registry.models import Batch, Identifier, Organization
from registry.signing import signer


def issue_identifiers(batch: Batch, actor: Principal | None, serials: list[str]) -> None:
    """Sign a token for the batch and one per container serial; record the issuance."""
    issued = []
    for serial in [None, *serials]:
        token, key = signer().sign(batch.id, serial)
        identifier = Identifier(
            id=new_id(),
            batch_id=batch.id,
            container_serial=serial,
            holder_organization_id=batch.holder_organization_id,
            token=token,
            kid=key.kid.hex(),
            issued_at=utcnow(),
        )
        batch.identifiers.append(identifier)
        issued.append(identifier)
    db.session.add_all(issued)
    events.record(
        batch,
        "identifiers_issued",
        actor,
        details={
            "kid": issued[0].kid,
            "containers": serials,
            "tokens": [i.token for i in issued],
        },
    )


def holder_when_issued(identifier: Identifier) -> Organization:
    """The organisation that held the batch when ``identifier`` was issued (its label names it)."""
    return db.session.get(Organization, identifier.holder_organization_id)
