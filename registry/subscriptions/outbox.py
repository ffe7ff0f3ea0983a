"""The outbox: each event a subscription matches, written in the event's own transaction.

``enqueue`` runs in the unit of work's commit (``registry.unit_of_work``), just before the
ledger's step, with the events that transaction recorded: either the events and their
messages are committed together or neither is, so a crash loses nothing and invents nothing.

``enqueue_alerts`` writes alerts raised later about an event already in the ledger (a
shipment not received in time, ``registry.subscriptions.overdue``). Messages are posted in
the order of their ``ledger_index``; an alert takes the index of the last event in the
ledger when it was raised, so it follows every message already due and neither waits for
nor overtakes them.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import func, select

from registry.db import db
from registry.models import Event, OutboxMessage, SavedQuery, Subscription
from registry.reports import red_flags
from registry.subscriptions import matching

# Where the base URL of batch URIs (MATCH_epc) comes from when there is no app config.
BASE_URL_SETTING = "PUBLIC_URL"
# The red flags' thresholds (a registry.reports.red_flags.Thresholds), as the report's.
THRESHOLDS_SETTING = "FLAG_THRESHOLDS"


def _subscribed() -> Iterator[tuple[Subscription, matching.Matcher]]:
    pairs = db.session.execute(
        select(Subscription, SavedQuery)
        .join(SavedQuery, SavedQuery.id == Subscription.query_id)
        .where(Subscription.active.is_(True))
    ).all()
    if not pairs:
        return
    base_url = current_app.config.get(BASE_URL_SETTING, "")
    matchers: dict[str, matching.Matcher] = {}
    for subscription, query in pairs:
        m = matchers.get(query.id) or matchers.setdefault(
            query.id, matching.matcher(query, base_url)
        )
        yield subscription, m


def thresholds() -> red_flags.Thresholds:
    return current_app.config.get(THRESHOLDS_SETTING) or red_flags.Thresholds()


def enqueue(recorded: list[Event]) -> int:
    """Add one message per (active subscription, matching event); how many were added."""
    if not recorded:
        return 0
    subscribed = list(_subscribed())
    if not subscribed:
        return 0
    # An event's flags are worked out (some read earlier rows) only once a subscription
    # matches it otherwise: nobody subscribed to it, nothing read. The messages are added
    # together at the end, so those reads do not flush them one by one.
    flagger = red_flags.Flagger(thresholds())
    messages = []
    for event in recorded:
        flags: list[str] | None = None
        for subscription, m in subscribed:
            if not m.matches_apart_from_flags(event):
                continue
            if flags is None:
                flags = flagger.flags_of(event)
            if m.flags is None or not m.flags.isdisjoint(flags):
                messages.append(
                    OutboxMessage(
                        subscription_id=subscription.id,
                        event_id=event.id,
                        ledger_index=event.ledger_index,
                        flags=flags,
                    )
                )
    db.session.add_all(messages)
    return len(messages)


def enqueue_alerts(events: list[Event], flags: list[str]) -> int:
    """Add an alert about each of ``events`` (already in the ledger) raising ``flags``, for
    each active subscription that matches it with them; how many were added."""
    if not events:
        return 0
    subscribed = list(_subscribed())
    if not subscribed:
        return 0
    last = db.session.scalar(select(func.max(Event.ledger_index))) or 0
    messages = [
        OutboxMessage(
            subscription_id=subscription.id,
            event_id=event.id,
            kind="alert",
            ledger_index=max(last, event.ledger_index),
            flags=list(flags),
        )
        for event in events
        for subscription, m in subscribed
        if m.matches(event, lambda: flags)
    ]
    db.session.add_all(messages)
    return len(messages)
