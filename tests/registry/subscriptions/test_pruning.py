"""Delivered outbox messages past their retention are deleted by the delivery worker, a
batch at a time; recent ones and undelivered ones (however old) are kept."""

from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy import select, update

from api import webhooks
from registry.db import db, utcnow
from registry.models import OutboxMessage
from registry.subscriptions import delivery, pruning
from tests.api.batch_helpers import register
from tests.registry.subscriptions.test_delivery import drain, expected_ids

RETENTION = timedelta(days=30)


def aged(app, subscribed, client, count: int) -> list[str]:
    """``count`` messages, delivered; their ids in ledger order."""
    for n in range(count):
        register(client, subscribed.producer, lot_number=f"LOT-{n}")
    ids = expected_ids(app)
    drain(app, subscribed.receiver, len(ids))
    return ids


def set_times(app, **by_id: tuple) -> None:
    """Each message's (delivered_at, created_at)."""
    with app.app_context():
        for message_id, (delivered, created) in by_id.items():
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(delivered_at=delivered, created_at=created)
            )
        db.session.commit()


def remaining(app) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(select(OutboxMessage.id)))


def test_only_messages_delivered_before_the_retention_are_deleted(webhook_app, client, subscribed):
    ids = aged(webhook_app, subscribed, client, 4)
    assert len(ids) >= 4
    now = utcnow()
    old, older, recent, undelivered = ids[:4]
    set_times(
        webhook_app,
        **{
            old: (now - RETENTION - timedelta(hours=1), now - timedelta(days=40)),
            older: (now - timedelta(days=90), now - timedelta(days=90)),
            recent: (now - RETENTION + timedelta(hours=1), now - timedelta(days=40)),
            # Never delivered, however old: kept until it is.
            undelivered: (None, now - timedelta(days=365)),
        },
    )
    with webhook_app.app_context():
        # One per transaction: the two old ones take two batches and a last empty one.
        assert pruning.prune(RETENTION, limit=1) == 2
        assert pruning.prune(RETENTION, limit=1) == 0
    assert remaining(webhook_app) == set(ids) - {old, older}


def test_the_delivery_worker_prunes_as_it_runs(webhook_app, client, subscribed):
    ids = aged(webhook_app, subscribed, client, 2)
    now = utcnow()
    set_times(webhook_app, **{ids[0]: (now - timedelta(days=31), now - timedelta(days=31))})
    with webhook_app.app_context():
        settings = webhooks.delivery_settings()
        assert settings.retention == RETENTION  # CHEMTRACE_OUTBOX_RETENTION_DAYS' default
        rounds = itertools.count()
        delivery.run(settings, lambda: next(rounds) >= 2)
    assert remaining(webhook_app) == set(ids[1:])


def test_pruning_is_due_once_per_period(monkeypatch):
    calls = []
    monkeypatch.setattr(pruning, "prune", lambda retention: calls.append(retention) or 0)
    pruner = pruning.Pruner(RETENTION, every=3600.0)
    for _ in range(3):
        pruner.prune_if_due()
    assert calls == [RETENTION]
    pruner.next_at = 0.0  # an hour later
    pruner.prune_if_due()
    assert len(calls) == 2
