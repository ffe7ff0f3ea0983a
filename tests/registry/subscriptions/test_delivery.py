"""Delivery to a real receiver on 127.0.0.1: in ledger order, signed, nothing lost when the
receiver is down for a while, retried with backoff, refused when the destination is not
allowed (checked again at delivery), stopped when the owner's key is revoked."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import standardwebhooks
from sqlalchemy import select

from api import webhooks
from registry.db import db, utcnow
from registry.models import ApiKey, OutboxMessage, SavedQuery, Subscription
from registry.subscriptions import delivery, overdue
from tests.api.batch_helpers import make_party, qty, register
from tests.registry.subscriptions.conftest import subscribe


def expected_ids(app, subscription_id: str | None = None) -> list[str]:
    """The outbox's message ids in ledger order (of one subscription, if given): what must
    arrive, in this order."""
    with app.app_context():
        query = select(OutboxMessage.id).order_by(OutboxMessage.ledger_index, OutboxMessage.id)
        if subscription_id is not None:
            query = query.where(OutboxMessage.subscription_id == subscription_id)
        return list(db.session.scalars(query))


def drain(app, receiver, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with app.app_context():
        settings = webhooks.delivery_settings()
        while len(receiver.received) < count:
            assert time.monotonic() < deadline, f"{len(receiver.received)} of {count} arrived"
            if not delivery.deliver_next(settings):
                time.sleep(settings.idle)


def first_arrivals(receiver) -> list[str]:
    seen: list[str] = []
    for request in receiver.received:
        if request.headers["webhook-id"] not in seen:
            seen.append(request.headers["webhook-id"])
    return seen


def test_events_arrive_in_ledger_order_signed(webhook_app, client, subscribed):
    for lot in ("A", "B", "C"):
        register(client, subscribed.producer, lot_number=f"LOT-{lot}")
    ids = expected_ids(webhook_app)
    assert len(ids) >= 3
    drain(webhook_app, subscribed.receiver, len(ids))
    assert [r.headers["webhook-id"] for r in subscribed.receiver.received] == ids
    verifier = standardwebhooks.Webhook(subscribed.secret)
    lots = []
    for request in subscribed.receiver.received:
        document = verifier.verify(request.body, request.headers)
        assert document["type"] == "EPCISQueryDocument"
        results = document["epcisBody"]["queryResults"]
        assert results["queryName"] == "everything"
        assert results["subscriptionID"] == subscribed.subscription_id
        (event,) = results["resultsBody"]["eventList"]
        lots.append(json.dumps(event))
    assert [lot for lot in ("LOT-A", "LOT-B", "LOT-C") if any(lot in e for e in lots)] == [
        "LOT-A",
        "LOT-B",
        "LOT-C",
    ]
    # A forged or altered body does not verify.
    request = subscribed.receiver.received[0]
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        verifier.verify(request.body + b" ", request.headers)


def test_nothing_lost_while_the_receiver_is_down(webhook_app, client, subscribed):
    receiver = subscribed.receiver
    receiver.stop()  # the port is closed: every post fails
    register(client, subscribed.producer, lot_number="DOWN-1")
    register(client, subscribed.producer, lot_number="DOWN-2")
    with webhook_app.app_context():
        settings = webhooks.delivery_settings()
        deadline = time.monotonic() + 2
        failures = 0
        while failures < 3 and time.monotonic() < deadline:
            delivery.deliver_next(settings)
            failures = db.session.get(Subscription, subscribed.subscription_id).failures
            db.session.rollback()
        assert failures >= 3  # retried, each time later (backoff), never given up
        subscription = db.session.get(Subscription, subscribed.subscription_id)
        assert "ConnectionRefusedError" in subscription.last_error
        db.session.rollback()
    register(client, subscribed.producer, lot_number="DOWN-3")
    receiver.start()  # back on the same port
    ids = expected_ids(webhook_app)
    drain(webhook_app, receiver, len(ids))
    assert first_arrivals(receiver) == ids
    with webhook_app.app_context():
        assert db.session.get(Subscription, subscribed.subscription_id).failures == 0


def test_a_receiver_error_is_retried_until_2xx(webhook_app, client, subscribed):
    subscribed.receiver.status = 503
    register(client, subscribed.producer)
    ids = expected_ids(webhook_app)
    drain(webhook_app, subscribed.receiver, 2)
    subscribed.receiver.status = 200
    drain(webhook_app, subscribed.receiver, 2 + len(ids))
    # The same message, with the same id, until it was accepted; then the rest in order.
    assert [r.headers["webhook-id"] for r in subscribed.receiver.received[:2]] == [ids[0]] * 2
    assert first_arrivals(subscribed.receiver) == ids


def test_the_destination_is_checked_again_at_delivery(webhook_app, client, subscribed):
    register(client, subscribed.producer)
    webhook_app.config["WEBHOOK_ALLOWED"] = "https://*"  # loopback no longer allowed
    with webhook_app.app_context():
        assert delivery.deliver_next(webhooks.delivery_settings())
        subscription = db.session.get(Subscription, subscribed.subscription_id)
        assert "not allowed" in subscription.last_error
        assert subscription.failures == 1
    assert subscribed.receiver.received == []


def test_a_revoked_owner_is_sent_nothing(webhook_app, client, subscribed):
    register(client, subscribed.producer)
    with webhook_app.app_context():
        subscription = db.session.get(Subscription, subscribed.subscription_id)
        key_id = db.session.scalar(
            select(Subscription.query_id).where(Subscription.id == subscription.id)
        )
        owner = db.session.get(SavedQuery, key_id).owner_credential_id
        db.session.get(ApiKey, owner).revoked_at = subscription.created_at
        db.session.commit()
        assert delivery.deliver_next(webhooks.delivery_settings())
        assert not db.session.get(Subscription, subscribed.subscription_id).active
        assert not delivery.deliver_next(webhooks.delivery_settings())
    assert subscribed.receiver.received == []


def test_a_receipt_discrepancy_arrives_as_an_alert(webhook_app, client, auth, receiver):
    regulator = auth("regulator")
    producer = make_party(webhook_app, auth, "Producer", 0)
    distributor = make_party(webhook_app, auth, "Distributor", 1)
    sub = subscribe(
        client, regulator, receiver.url, "discrepancies", {"EQ_redFlag": ["receipt_discrepancy"]}
    )
    batch = register(client, producer)
    shipment = client.post(
        "/api/v1/transfers",
        json={
            "batch_id": batch["id"],
            "quantity": qty("200"),
            "to_organization_id": distributor.id,
        },
        headers=producer.headers,
    ).json
    received = client.post(
        f"/api/v1/transfers/{shipment['id']}/receive",
        json={"received_quantity": qty("199.5"), "facility_id": distributor.facility_id},
        headers=distributor.headers,
    )
    assert received.status_code == 200, received.json
    drain(webhook_app, receiver, 1)
    time.sleep(0.1)
    (alert,) = receiver.received  # only the flagged receipt, not the registration or shipment
    document = standardwebhooks.Webhook(sub["secret"]).verify(alert.body, alert.headers)
    assert document["ct:redFlags"] == ["receipt_discrepancy"]


def test_a_shipment_not_received_in_time_arrives_as_an_alert(
    webhook_app, client, subscribed, monkeypatch
):
    """The worker's scan, once the clock is past the transit days, posts an alert about the
    shipped event, after every message already due (it was raised after them), to the
    subscription for everything and to the one for that flag alone."""
    stalled = subscribe(
        client,
        subscribed.regulator,
        subscribed.receiver.url,
        "stalled",
        {"EQ_redFlag": ["shipment_not_received"]},
    )
    batch = register(client, subscribed.producer, "100")
    shipment = client.post(
        "/api/v1/transfers",
        json={
            "batch_id": batch["id"],
            "quantity": qty("10"),
            "to_organization_id": subscribed.distributor.id,
        },
        headers=subscribed.producer.headers,
    )
    assert shipment.status_code == 201, shipment.json
    register(client, subscribed.producer, lot_number="AFTER")  # written after the shipment
    with webhook_app.app_context():
        settings = webhooks.delivery_settings()
        assert delivery.scan_if_due(settings, None) is not None  # on time: nothing to say
    before = expected_ids(webhook_app)
    monkeypatch.setattr(overdue, "utcnow", lambda: utcnow() + timedelta(days=8))
    with webhook_app.app_context():
        scanned = delivery.scan_if_due(settings, None)
        # Not again until overdue_scan_every has passed.
        assert delivery.scan_if_due(settings, scanned) == scanned
    ids = expected_ids(webhook_app)
    assert ids[: len(before)] == before and len(ids) == len(before) + 2
    drain(webhook_app, subscribed.receiver, len(ids))
    by_query: dict[str, list[dict]] = {}
    for request in subscribed.receiver.received:
        name = json.loads(request.body)["epcisBody"]["queryResults"]["queryName"]
        secret = subscribed.secret if name == "everything" else stalled["secret"]
        document = standardwebhooks.Webhook(secret).verify(request.body, request.headers)
        by_query.setdefault(name, []).append(document)
    assert [
        r.headers["webhook-id"] for r in subscribed.receiver.received if b'"everything"' in r.body
    ] == expected_ids(webhook_app, subscribed.subscription_id)
    *written, alert = by_query["everything"]
    assert [d.get("ct:alertRaisedAt") for d in written] == [None] * len(written)
    (only,) = by_query["stalled"]  # the flag alone: the alert, not the events as written
    for document in (alert, only):
        assert document["ct:redFlags"] == ["shipment_not_received"]
        assert "ct:alertRaisedAt" in document
        (event,) = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert event["bizStep"].endswith("shipping")
        # About the shipped event the subscription for everything was sent as it was written.
        assert event["eventID"] in [
            d["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"]
            for d in written
        ]


def test_bulk_registrations_are_matched_and_flagged_like_single_ones(
    webhook_app, client, auth, receiver
):
    """batches:bulk records its events without ORM objects (events.record_all): each one still
    gets its outbox message in ledger order, and the write-time flags still see it."""
    regulator = auth("regulator")
    unlicensed = make_party(webhook_app, auth, "Unlicensed", 0, licensed=False)
    everything = subscribe(client, regulator, receiver.url)
    flagged = subscribe(
        client, regulator, receiver.url, "unlicensed", {"EQ_redFlag": ["licence_missing"]}
    )
    item = {
        "cas_rn": "108-24-7",
        "quantity": qty("5"),
        "facility_id": unlicensed.facility_id,
        "origin": {"kind": "produced"},
    }
    items = [{**item, "lot_number": f"BULK-{n}"} for n in range(3)]
    answer = client.post("/api/v1/batches:bulk", json={"items": items}, headers=unlicensed.headers)
    assert answer.status_code == 201, answer.json
    with webhook_app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.subscription_id, OutboxMessage.flags).order_by(
                OutboxMessage.ledger_index, OutboxMessage.id
            )
        ).all()
    plain = [flags for sub, flags in rows if sub == everything["subscriptionID"]]
    alerts = [flags for sub, flags in rows if sub == flagged["subscriptionID"]]
    assert len(plain) == 6  # registered and identifiers_issued, per batch
    assert alerts == [["licence_missing"]] * 3  # the registrations, each without a licence
    drain(webhook_app, receiver, len(rows))
    arrived: dict[str, list[str]] = {}
    for request in receiver.received:
        subscription = json.loads(request.body)["epcisBody"]["queryResults"]["subscriptionID"]
        ids = arrived.setdefault(subscription, [])
        if request.headers["webhook-id"] not in ids:
            ids.append(request.headers["webhook-id"])
    for sub in (everything, flagged):  # each subscription's in its own ledger order
        sub_id = sub["subscriptionID"]
        assert arrived[sub_id] == expected_ids(webhook_app, sub_id)
