"""The outbox: each event a subscription matches, written in the event's own transaction.

``enqueue`` runs in the unit of work's commit (``registry.unit_of_work``), just before the
ledger's step, with the events that transaction recorded: either the events and their
messages are committed together or neither is, so a crash loses nothing and invents nothing.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from registry.db import db
from registry.models import Event, OutboxMessage, SavedQuery, Subscription
from registry.subscriptions import matching

# Where the base URL of batch URIs (MATCH_epc) comes from when there is no app config.
BASE_URL_SETTING = "PUBLIC_URL"


def enqueue(recorded: list[Event]) -> int:
    """Add one message per (active subscription, matching event); how many were added."""
    if not recorded:
        return 0
    pairs = db.session.execute(
        select(Subscription, SavedQuery)
        .join(SavedQuery, SavedQuery.id == Subscription.query_id)
        .where(Subscription.active.is_(True))
    ).all()
    if not pairs:
        return 0
    base_url = current_app.config.get(BASE_URL_SETTING, "")
    added = 0
    matchers: dict[str, matching.Matcher] = {}
    for subscription, query in pairs:
        m = matchers.get(query.id) or matchers.setdefault(
            query.id, matching.matcher(query, base_url)
        )
        for event in recorded:
            if m.matches(event):
                db.session.add(
                    OutboxMessage(
                        subscription_id=subscription.id,
                        event_id=event.id,
                        ledger_index=event.ledger_index,
                        flags=matching.flags_of(event),
                    )
                )
                added += 1
    return added
