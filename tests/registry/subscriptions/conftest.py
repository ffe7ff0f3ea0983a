"""A regulator's saved query with a webhook subscription to a receiver on 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.api.batch_helpers import Party, make_party
from tests.registry.subscriptions.receiver import Receiver


@dataclass
class Subscribed:
    regulator: dict[str, str]
    producer: Party
    distributor: Party
    receiver: Receiver
    subscription_id: str
    secret: str


@pytest.fixture
def receiver():
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture
def webhook_app(app):
    """The test app, allowed to post to 127.0.0.1, retrying quickly."""
    app.config.update(
        WEBHOOK_ALLOWED="http://127.0.0.1/8",
        WEBHOOK_BACKOFF_SECONDS=0.05,
        WEBHOOK_BACKOFF_MAX_SECONDS=0.2,
        WEBHOOK_POLL_SECONDS=0.02,
        WEBHOOK_TIMEOUT_SECONDS=5.0,
    )
    return app


def subscribe(client, regulator, dest: str, name: str = "everything", query=None):
    made = client.post(
        "/api/v1/epcis/queries", json={"name": name, "query": query or {}}, headers=regulator
    )
    assert made.status_code == 201, made.json
    sub = client.post(
        f"/api/v1/epcis/queries/{name}/subscriptions",
        json={"dest": dest, "stream": True},
        headers=regulator,
    )
    assert sub.status_code == 201, sub.json
    return sub.json


@pytest.fixture
def subscribed(webhook_app, client, auth, receiver) -> Subscribed:
    regulator = auth("regulator")
    producer = make_party(webhook_app, auth, "Producer", 0)
    distributor = make_party(webhook_app, auth, "Distributor", 1)
    sub = subscribe(client, regulator, receiver.url)
    return Subscribed(
        regulator, producer, distributor, receiver, sub["subscriptionID"], sub["secret"]
    )
