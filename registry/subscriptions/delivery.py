"""The delivery worker's step: post a subscription's next message, in ledger order.

One subscription at a time is taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL),
so several workers share the work and never post the same subscription's messages at
once, which also keeps each subscription's messages in ledger order. A message is marked
delivered only after a 2xx; until then the subscription waits (exponential backoff with
jitter) and tries the same message again. A worker killed between the post and the mark
posts it again: receivers deduplicate on ``webhook-id``, the message's id. SQLite has one
writer, so there one worker runs, and it holds no transaction while it posts.
"""

from __future__ import annotations

import http.client
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from registry.db import begin_write, db, utcnow
from registry.epcis import mapping
from registry.models import ApiKey, Event, OutboxMessage, SavedQuery, Subscription
from registry.reports import red_flags
from registry.subscriptions import (
    destinations,
    overdue,
    pruning,
    queries,
    signing,
    subscriptions,
)

_random = secrets.SystemRandom()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    rules: list[destinations.Rule]
    secret_key: bytes
    base_url: str
    backoff_base: float = 1.0  # seconds before the first retry
    backoff_max: float = 3600.0  # the longest wait between two tries
    timeout: float = 10.0  # for the receiver to answer
    idle: float = 0.5  # between looks when nothing is due
    # The red flags' thresholds, and how often to look for shipments not received in time.
    thresholds: red_flags.Thresholds = field(default_factory=red_flags.Thresholds)
    overdue_scan_every: float = 60.0
    retention: timedelta = timedelta(days=30)  # delivered messages are kept this long
    prune_every: float = 3600.0  # seconds between two prunings of the outbox


def backoff(settings: Settings, failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row: doubling, capped, jittered (the
    wait is drawn from its upper half, so receivers coming back are not hit all at once)."""
    ceiling = min(settings.backoff_max, settings.backoff_base * 2 ** min(failures - 1, 60))
    return _random.uniform(ceiling / 2, ceiling)


def _take_due() -> Subscription | None:
    pending = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.subscription_id == Subscription.id,
            OutboxMessage.delivered_at.is_(None),
        )
        .exists()
    )
    return db.session.scalar(
        select(Subscription)
        .where(Subscription.active.is_(True), Subscription.next_attempt_at <= utcnow(), pending)
        .order_by(Subscription.next_attempt_at, Subscription.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=Subscription)
    )


def body_of(message: OutboxMessage, query: SavedQuery, base_url: str) -> bytes:
    """What is posted: an ``EPCISQueryDocument`` with the one event, naming the query and the
    subscription; an event that raised red flags names them in ``ct:redFlags``. An alert
    raised later about the event (``kind`` "alert") says when in ``ct:alertRaisedAt``."""
    event = db.session.get(Event, message.event_id)
    document = queries.document([event], base_url, query.name, message.subscription_id)
    if message.flags:
        document["ct:redFlags"] = list(message.flags)
    if message.kind == "alert":
        document["ct:alertRaisedAt"] = mapping.timestamp(message.created_at)
    return mapping.dumps(document).encode()


def _owner_revoked(query: SavedQuery) -> bool:
    key = db.session.get(ApiKey, query.owner_credential_id)
    return key is not None and key.revoked_at is not None


def deliver_next(settings: Settings) -> bool:
    """Try the next message of one due subscription; False when none was due."""
    subscription = _take_due()
    if subscription is None:
        db.session.rollback()
        return False
    message = db.session.scalar(
        select(OutboxMessage)
        .where(
            OutboxMessage.subscription_id == subscription.id,
            OutboxMessage.delivered_at.is_(None),
        )
        .order_by(OutboxMessage.ledger_index, OutboxMessage.id)
        .limit(1)
        .with_for_update(of=OutboxMessage)
    )
    query = db.session.get(SavedQuery, subscription.query_id)
    subscription_id, message_id = subscription.id, message.id
    if _owner_revoked(query):
        # A subscription delivers only what its owner may see; a revoked owner sees nothing.
        _finish(subscription_id, message_id, error="the owner's credential was revoked")
        return True
    body = body_of(message, query, settings.base_url)
    secret = subscriptions.secret_of(subscription, settings.secret_key)
    dest = subscription.dest
    if db.engine.dialect.name == "sqlite":
        db.session.commit()  # hold no SQLite transaction across the post
    error = None
    try:
        target = destinations.check(dest, settings.rules)
        headers = signing.headers(secret, message_id, int(time.time()), body)
        status = destinations.post(target, headers, body, settings.timeout)
        if not 200 <= status < 300:
            error = f"the receiver answered {status}"
    except destinations.DestinationRefused as refused:
        error = str(refused)
    except (OSError, http.client.HTTPException, ValueError) as failure:
        error = f"{type(failure).__name__}: {failure}"
    _finish(subscription_id, message_id, error=error, settings=settings)
    return True


def _finish(
    subscription_id: str, message_id: str, *, error: str | None, settings: Settings | None = None
) -> None:
    if db.engine.dialect.name == "sqlite":
        db.session.rollback()
        begin_write()
    subscription = db.session.get(Subscription, subscription_id)
    message = db.session.get(OutboxMessage, message_id)
    if subscription is None or message is None:  # unsubscribed while we posted
        db.session.commit()
        return
    now = utcnow()
    message.attempts += 1
    if settings is None:
        subscription.active = False
        subscription.last_error = error
    elif error is None:
        message.delivered_at = now
        subscription.failures = 0
        subscription.last_error = None
        subscription.last_notified_at = now
    else:
        subscription.failures += 1
        wait = backoff(settings, subscription.failures)
        subscription.next_attempt_at = now + timedelta(seconds=wait)
        subscription.last_error = error[:500]
    db.session.commit()


def scan_if_due(settings: Settings, last: float | None) -> float | None:
    """Run the overdue scan if ``overdue_scan_every`` seconds passed since ``last`` (a
    monotonic time; None: never); when the scan last ran."""
    now = time.monotonic()
    if last is not None and now - last < settings.overdue_scan_every:
        return last
    overdue.scan(settings.thresholds)
    return now


def run(settings: Settings, stop: Callable[[], bool]) -> None:
    """Deliver until ``stop()``, scanning for overdue shipments now and then; a database
    that is away is waited for. Delivered messages past their retention are pruned now
    and then (``pruning``)."""
    scanned: float | None = None
    pruner = pruning.Pruner(settings.retention, settings.prune_every)
    while not stop():
        pruner.prune_if_due()
        try:
            scanned = scan_if_due(settings, scanned)
            busy = deliver_next(settings)
        except SQLAlchemyError:
            db.session.rollback()
            busy = False
        except Exception:
            # A defect must not stop every other subscription's deliveries: say it, go on.
            log.exception("webhook delivery failed")
            db.session.rollback()
            busy = False
        if not busy:
            time.sleep(settings.idle)
