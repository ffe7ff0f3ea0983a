"""Who looked up what: every read of a batch, a report or the ledger's entries, for regulators.

A record is written after the read succeeded, in a short write transaction of its own that
the caller runs (``registry.unit_of_work.write_separately``), so a lookup is logged even
though the read itself changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from registry.access.credentials import Principal
from registry.db import db, new_id, utcnow
from registry.ledger.queries import check_period
from registry.models import AccessRecord
from registry.pagination import Page, paginate


def record_lookup(viewer: Principal, action: str, object_id: str | None, query: str) -> None:
    """Log that ``viewer`` performed ``action`` (on ``object_id``)."""
    db.session.add(
        AccessRecord(
            id=new_id(),
            at=utcnow(),
            credential_id=viewer.credential_id,
            role=viewer.role,
            organization_id=viewer.organization_id,
            action=action,
            object_id=object_id,
            query=query[:500] or None,
            person_hash=viewer.person_hash,
        )
    )


@dataclass(frozen=True)
class AccessFilter:
    credential_id: str | None = None
    organization_id: str | None = None
    action: str | None = None
    object_id: str | None = None
    person_hash: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_lookups(where: AccessFilter, limit: int | None, cursor: str | None) -> Page[AccessRecord]:
    check_period(where.since, where.until)
    query = select(AccessRecord)
    for column, value in (
        (AccessRecord.credential_id, where.credential_id),
        (AccessRecord.organization_id, where.organization_id),
        (AccessRecord.action, where.action),
        (AccessRecord.object_id, where.object_id),
        (AccessRecord.person_hash, where.person_hash),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(AccessRecord.at >= where.since)
    if where.until is not None:
        query = query.where(AccessRecord.at < where.until)
    return paginate(query, AccessRecord.id, limit, cursor)
