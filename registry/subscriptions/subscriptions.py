"""Webhook subscriptions to a saved query (EPCIS 2.0 ``/queries/{name}/subscriptions``).

Each has its own Standard Webhooks secret, shown once when it is made and kept encrypted
(``crypto.secretbox``), since the delivery worker needs it to sign.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from crypto import secretbox
from registry.db import db, new_id
from registry.errors import NotFound, message
from registry.models import OutboxMessage, SavedQuery, Subscription
from registry.subscriptions import destinations, signing


@dataclass(frozen=True)
class NewSubscription:
    subscription: Subscription
    secret: str  # shown once


def subscribe(
    query: SavedQuery, dest: str, rules: list[destinations.Rule], secret_key: bytes
) -> NewSubscription:
    """Subscribe ``dest`` to every event written from now on that ``query`` matches."""
    destinations.check(dest, rules)
    secret = signing.new_secret()
    subscription_id = new_id()
    subscription = Subscription(
        id=subscription_id,
        query_id=query.id,
        dest=dest,
        secret_encrypted=secretbox.seal(secret_key, secret.encode(), subscription_id.encode()),
    )
    db.session.add(subscription)
    db.session.flush()
    return NewSubscription(subscription, secret)


def secret_of(subscription: Subscription, secret_key: bytes) -> str:
    sealed = subscription.secret_encrypted
    return secretbox.unseal(secret_key, sealed, subscription.id.encode()).decode()


def list_subscriptions(query: SavedQuery) -> list[Subscription]:
    return list(
        db.session.scalars(
            select(Subscription)
            .where(Subscription.query_id == query.id)
            .order_by(Subscription.created_at, Subscription.id)
        )
    )


def get_subscription(query: SavedQuery, subscription_id: str) -> Subscription:
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or subscription.query_id != query.id:
        raise NotFound(message("No subscription {id}.", id=subscription_id))
    return subscription


def unsubscribe(query: SavedQuery, subscription_id: str) -> None:
    """End the subscription; what it had not delivered yet is dropped."""
    subscription = get_subscription(query, subscription_id)
    db.session.execute(
        delete(OutboxMessage).where(OutboxMessage.subscription_id == subscription.id)
    )
    db.session.delete(subscription)
    db.session.flush()
