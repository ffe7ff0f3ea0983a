"""Events by their EPCIS ``eventID``, for the REST bindings' ``/events/{eventID}``.

An event's ``eventID`` is its CBV 2.0 hash (``registry.epcis.mapping``), computed over the
event as emitted, which names the service's public URL: it cannot be read back from the
event's row. The hashes are kept in ``epcis_event_ids``, per public URL, and filled in
ledger order by :func:`index_next` (the first lookup after events were recorded runs it;
the ledger's indexes are claimed under one lock, so no event commits behind the last one
indexed). Writes pay nothing for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from registry import unit_of_work
from registry.db import db
from registry.epcis import query
from registry.epcis.event_hash import HASH_PREFIX, HASH_SUFFIX
from registry.models import EpcisEventId, Event

EVENT_ID = re.compile(re.escape(HASH_PREFIX) + r"([0-9a-f]{64})" + re.escape(HASH_SUFFIX))
BATCH = 500  # events hashed per transaction
# Events hashed by one lookup at most, in batches of BATCH (a few seconds' work): a backlog
# larger than that (after an upgrade) is for `chemtrace epcis index`.
MAX_LOOKUP_BATCHES = 4


def digest_of(event_id: str) -> str | None:
    """The SHA-256 digest an ``eventID`` of this registry carries; None if not of that form."""
    matched = EVENT_ID.fullmatch(event_id)
    return matched.group(1) if matched else None


def base_key(base_url: str) -> str:
    return hashlib.sha256(base_url.rstrip("/").encode()).hexdigest()[:16]


def _indexed_up_to(base: str) -> int:
    last = db.session.scalar(
        select(func.max(EpcisEventId.ledger_index)).where(EpcisEventId.base == base)
    )
    return -1 if last is None else last


def behind(base_url: str) -> bool:
    """Whether events were recorded since the last ones indexed (a read, for a read route)."""
    after = _indexed_up_to(base_key(base_url))
    return (
        db.session.scalar(select(Event.id).where(Event.ledger_index > after).limit(1)) is not None
    )


def index_next(base_url: str) -> int:
    """Hash and keep up to ``BATCH`` events not indexed yet, in ledger order; how many.

    Run it in a write transaction of its own until it returns 0. Two lookups indexing the
    same events at once both succeed (the second's rows are skipped).
    """
    base = base_key(base_url)
    found = list(
        db.session.scalars(
            select(Event)
            .where(Event.ledger_index > _indexed_up_to(base))
            .order_by(Event.ledger_index)
            .limit(BATCH)
        )
    )
    if not found:
        return 0
    rows = [
        {
            "base": base,
            "event_hash": digest_of(emitted["eventID"]),
            "event_id": event.id,
            "ledger_index": event.ledger_index,
        }
        for event, emitted in zip(found, query.epcis_events(found, base_url), strict=True)
    ]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(EpcisEventId).on_conflict_do_nothing(), rows)
    return len(found)


@dataclass(frozen=True)
class Lookup:
    event: dict | None  # the EPCIS event, as emitted now
    pending: bool  # not found, and events are still waiting for their ids


def lookup(event_id: str, base_url: str) -> Lookup:
    """The event whose ``eventID`` is ``event_id``: events recorded since the last lookup are
    hashed first, a batch per write transaction of its own, up to ``MAX_LOOKUP_BATCHES``; if
    the event is not found while more wait, the answer says so (``pending``)."""
    behind_now = digest_of(event_id) is not None and behind(base_url)
    if behind_now:
        for _ in range(MAX_LOOKUP_BATCHES):
            if not unit_of_work.write_separately(lambda: index_next(base_url)):
                behind_now = False
                break
    event = find(event_id, base_url)
    return Lookup(event, event is None and behind_now and behind(base_url))


def find(event_id: str, base_url: str) -> dict | None:
    """The EPCIS event whose ``eventID`` is ``event_id``, as emitted now; None if none is.

    An event is emitted again to answer, and answered only if its hash is still the one
    kept: an event whose EPCIS form has changed since (a facility's new GLN) is not found
    under its old id.
    """
    digest = digest_of(event_id)
    if digest is None:
        return None
    row = db.session.get(EpcisEventId, (base_key(base_url), digest))
    if row is None:
        return None
    event = db.session.get(Event, row.event_id)
    emitted = query.epcis_events([event], base_url)[0]
    return emitted if emitted["eventID"] == event_id else None
