"""Checking a label: is it genuine, and what is the batch's live status?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from crypto.tokens import TokenError
from registry.db import db, utcnow
from registry.errors import Message, message
from registry.models import Batch, Container, Identifier, Organization, Substance, Transfer
from registry.signing import kid_text, signer

# A label URL carries the token after /v/; anything else is taken as the token itself.
_URL_TOKEN = re.compile(r"/v/([A-Za-z2-7]+)/?(?:[?#].*)?$")

# What an inspector on the street must be told plainly about a batch's status.
WARNINGS: dict[str, Message] = {
    "recalled": message("RECALLED: do not use; return to the supplier or hand to the authorities."),
    "suspended": message("SUSPENDED by the regulator: this batch must not move."),
    "stolen": message("REPORTED STOLEN: hold it and call the authorities."),
    "lost": message("REPORTED LOST: this batch should not be in circulation."),
    "spilled": message("REPORTED SPILLED: this batch should no longer exist."),
    "depleted": message("DEPLETED: nothing of this batch should remain here."),
    "consumed": message("CONSUMED: nothing of this batch should remain."),
    "disposed": message("DISPOSED OF: this batch should have been destroyed."),
    "exported": message("EXPORTED: this batch should have left the country."),
    "in_transit": message("IN TRANSIT between two organisations."),
}

GENUINE = message("The label is genuine.")
# Why a label is refused, said plainly for whoever scanned it (the token's reasons are
# technical; ``failure_reason`` keeps the exact one). Any other reason: the code is unreadable.
UNREADABLE = message("The code on this label is not a ChemTrace identifier, or it is damaged.")
WHY_REFUSED: dict[str, Message] = {
    "bad_signature": message(
        "The signature does not match: the registry did not issue this label, or it was altered."
    ),
    "unknown_kid": message("The label is signed with a key the registry never published."),
    "wrong_issuer": message("The label was issued by another registry."),
    "issued_in_future": message("The label claims to have been issued in the future."),
    "unknown_batch": message("No batch here has this identifier."),
    "unknown_container": message("The batch has no container with this serial."),
}


@dataclass(frozen=True)
class SubstanceFacts:
    """What the page says of the batch's substance beyond the public answer: its names by
    language and its GHS classification (codes; their texts are in ``registry.catalogue.ghs``).
    Read from the row already loaded with the batch."""

    names: dict[str, str]
    signal_word: str | None
    hazard_statements: tuple[str, ...]

    @classmethod
    def of(cls, substance: Substance) -> SubstanceFacts:
        return cls(
            dict(substance.names or {}),
            substance.signal_word,
            tuple(substance.hazard_statements or ()),
        )


@dataclass(frozen=True)
class Verification:
    verified: bool
    failure_reason: str | None
    detail: str  # a Message: the page says it in the reader's language
    kid: str | None
    batch: dict[str, Any] | None
    container: dict[str, Any] | None
    checked_at: str
    substance: SubstanceFacts | None = None  # for the page only, never in ``answer()``

    @property
    def warning(self) -> Message | None:
        return WARNINGS.get(self.batch["status"]) if self.batch else None

    def answer(self) -> dict[str, Any]:
        """The public answer: nothing personal, only what an inspector needs."""
        body: dict[str, Any] = {"verified": self.verified}
        if self.failure_reason:
            body["failure_reason"] = self.failure_reason
        body.update(
            kid=self.kid, batch=self.batch, container=self.container, checked_at=self.checked_at
        )
        return body


def token_from(text: str) -> str:
    match = _URL_TOKEN.search(text.strip())
    return match.group(1) if match else text.strip()


def verify(token_or_url: str) -> Verification:
    checked_at = utcnow().isoformat(timespec="seconds")
    try:
        claims, kid = signer().verify(token_from(token_or_url))
    except TokenError as exc:
        why = WHY_REFUSED.get(exc.reason, UNREADABLE)
        return Verification(False, exc.reason, why, None, None, None, checked_at)
    refused = _signed_since_compromise(token_from(token_or_url), kid)
    if refused is not None:
        return Verification(
            False, "key_compromised", refused, kid_text(kid), None, None, checked_at
        )
    # The batch with its substance and its holder, in one query: the status lookup.
    batch = db.session.get(Batch, claims.subject, options=[joinedload(Batch.holder)])
    if batch is None:
        return Verification(
            False,
            "unknown_batch",
            WHY_REFUSED["unknown_batch"],
            kid_text(kid),
            None,
            None,
            checked_at,
        )
    container = None
    if claims.container is not None:
        found = db.session.scalar(
            select(Container).where(
                Container.batch_id == batch.id, Container.serial == claims.container
            )
        )
        if found is None:
            return Verification(
                False,
                "unknown_container",
                WHY_REFUSED["unknown_container"],
                kid_text(kid),
                None,
                None,
                checked_at,
            )
        container = {"serial": found.serial}
    return Verification(
        True,
        None,
        GENUINE,
        kid_text(kid),
        _public_batch(batch),
        container,
        checked_at,
        SubstanceFacts.of(batch.substance),
    )


def _signed_since_compromise(token: str, kid: bytes) -> Message | None:
    """Why a token signed with a compromised key is refused, or None if it is not.

    Whoever holds a stolen key can sign any batch id with any issue time, so neither is
    believed: the token must be one the registry itself recorded issuing, before the key
    was compromised."""
    key = signer().keys.by_kid().get(kid)
    if key is None or key.compromised_since is None:
        return None
    issued_at = db.session.scalar(
        select(Identifier.issued_at).where(Identifier.token == token.upper())
    )
    if issued_at is not None and issued_at < key.compromised_since:
        return None
    since = key.compromised_since.isoformat().replace("+00:00", "Z")
    return message(
        "The key that signed this label was compromised on {since}, and this label is not "
        "one the registry issued before then.",
        since=since,
    )


def _public_batch(batch: Batch) -> dict[str, Any]:
    holder = batch.holder
    body: dict[str, Any] = {
        "id": batch.id,
        "cas_rn": batch.cas_rn,
        "substance_name": batch.substance.name,
        "ghs_pictograms": list(batch.substance.ghs_pictograms),
        "lot_number": batch.lot_number,
        "status": batch.status,
        "holder": {"name": holder.name, "enterprise_code": holder.enterprise_code},
    }
    if batch.status == "in_transit":
        transfer = db.session.scalar(select(Transfer).where(Transfer.shipped_batch_id == batch.id))
        receiver = db.session.get(Organization, transfer.to_organization_id)
        body["in_transit_to"] = {"name": receiver.name, "enterprise_code": receiver.enterprise_code}
    return body
