"""Checking a label: is it genuine, and what is the batch's live status?"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, bindparam, select

from crypto.tokens import TokenError
from registry.db import read_first, utcnow
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
    Read from the row read with the batch."""

    names: dict[str, str]
    signal_word: str | None
    hazard_statements: tuple[str, ...]

    @classmethod
    def of(cls, row: Row) -> SubstanceFacts:
        return cls(dict(row.names or {}), row.signal_word, tuple(row.hazard_statements or ()))


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


# What a verification reads, built once: Core statements over only the columns the answer
# needs (SQLAlchemy caches their compiled form), so a verification costs one indexed read
# (two with a container) and no ORM work: no identity map, no loader strategies, no Session.
_batches, _substances = Batch.__table__, Substance.__table__
_holder = Organization.__table__.alias("holder")
_receiver = Organization.__table__.alias("receiver")
_transfers = Transfer.__table__
# The batch by primary key with its substance and holder; the receiver of the transfer that
# shipped it (``transfers.shipped_batch_id`` is unique), told only while it is in transit.
_STATUS = (
    select(
        _batches.c.id,
        _batches.c.cas_rn,
        _batches.c.lot_number,
        _batches.c.status,
        _substances.c.name.label("substance_name"),
        _substances.c.ghs_pictograms,
        _substances.c.names,
        _substances.c.signal_word,
        _substances.c.hazard_statements,
        _holder.c.name.label("holder_name"),
        _holder.c.enterprise_code.label("holder_enterprise_code"),
        _receiver.c.name.label("receiver_name"),
        _receiver.c.enterprise_code.label("receiver_enterprise_code"),
    )
    .join_from(_batches, _substances, _substances.c.id == _batches.c.substance_id)
    .join(_holder, _holder.c.id == _batches.c.holder_organization_id)
    .outerjoin(_transfers, _transfers.c.shipped_batch_id == _batches.c.id)
    .outerjoin(_receiver, _receiver.c.id == _transfers.c.to_organization_id)
    .where(_batches.c.id == bindparam("batch_id"))
)
_CONTAINER = select(Container.__table__.c.serial).where(
    Container.__table__.c.batch_id == bindparam("batch_id"),
    Container.__table__.c.serial == bindparam("serial"),
)
_ISSUED_AT = select(Identifier.__table__.c.issued_at).where(
    Identifier.__table__.c.token == bindparam("token")
)


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
    batch = read_first(_STATUS, batch_id=claims.subject)
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
        found = read_first(_CONTAINER, batch_id=batch.id, serial=claims.container)
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
        SubstanceFacts.of(batch),
    )


def _signed_since_compromise(token: str, kid: bytes) -> Message | None:
    """Why a token signed with a compromised key is refused, or None if it is not.

    Whoever holds a stolen key can sign any batch id with any issue time, so neither is
    believed: the token must be one the registry itself recorded issuing, before the key
    was compromised."""
    key = signer().keys.by_kid().get(kid)
    if key is None or key.compromised_since is None:
        return None
    found = read_first(_ISSUED_AT, token=token.upper())
    issued_at = found.issued_at if found is not None else None
    if issued_at is not None and issued_at < key.compromised_since:
        return None
    since = key.compromised_since.isoformat().replace("+00:00", "Z")
    return message(
        "The key that signed this label was compromised on {since}, and this label is not "
        "one the registry issued before then.",
        since=since,
    )


def _public_batch(batch: Row) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": batch.id,
        "cas_rn": batch.cas_rn,
        "substance_name": batch.substance_name,
        "ghs_pictograms": list(batch.ghs_pictograms),
        "lot_number": batch.lot_number,
        "status": batch.status,
        "holder": {"name": batch.holder_name, "enterprise_code": batch.holder_enterprise_code},
    }
    if batch.status == "in_transit":
        body["in_transit_to"] = {
            "name": batch.receiver_name,
            "enterprise_code": batch.receiver_enterprise_code,
        }
    return body
