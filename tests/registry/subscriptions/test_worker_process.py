"""``chemtrace deliver`` as its own process, killed with -9 in the middle of delivering:
started again, it delivers everything, in ledger order; only repeats (same webhook-id) are
possible, never a loss."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import timedelta

import pytest
import standardwebhooks

from registry.db import db, utcnow
from registry.models import Transfer
from tests.api.batch_helpers import qty, register
from tests.live import chemtrace_command
from tests.registry.subscriptions.conftest import subscribe
from tests.registry.subscriptions.receiver import Receiver
from tests.registry.subscriptions.test_delivery import expected_ids, first_arrivals


def start_worker(app, database_url: str, **extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "CHEMTRACE_DATABASE_URL": database_url,
        "CHEMTRACE_DATA_DIR": str(app.config["DATA_DIR"]),
        "CHEMTRACE_KEYS_DIR": str(app.config["KEYS_DIR"]),  # the secrets' key
        "CHEMTRACE_WEBHOOK_ALLOWED": "http://127.0.0.1/8",
        "CHEMTRACE_WEBHOOK_BACKOFF_SECONDS": "0.05",
        "CHEMTRACE_WEBHOOK_BACKOFF_MAX_SECONDS": "0.2",
        "CHEMTRACE_WEBHOOK_POLL_SECONDS": "0.05",
        "CHEMTRACE_PUBLIC_URL": app.config["PUBLIC_URL"],
        **extra,
    }
    return subprocess.Popen(
        [chemtrace_command(), "deliver"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_kill_minus_9_mid_delivery_loses_nothing(webhook_app, client, subscribed, database_url):
    receiver = subscribed.receiver
    receiver.delay = 0.3  # slow enough to be killed while a post is in flight
    for n in range(5):
        register(client, subscribed.producer, lot_number=f"KILL-{n}")
    ids = expected_ids(webhook_app)
    worker = start_worker(webhook_app, database_url)
    try:
        receiver.wait_for(2)
        time.sleep(0.15)  # inside the next post
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        arrived = len(receiver.received)
        assert arrived < len(ids), "the worker finished before it could be killed"
        worker = start_worker(webhook_app, database_url)
        deadline = time.monotonic() + 30
        while set(first_arrivals(receiver)) != set(ids):
            assert time.monotonic() < deadline, f"{first_arrivals(receiver)} != {ids}"
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    assert first_arrivals(receiver) == ids
    verifier = standardwebhooks.Webhook(subscribed.secret)
    for request in receiver.received:
        verifier.verify(request.body, request.headers)


def test_two_workers_share_without_delivering_twice(
    webhook_app, client, subscribed, auth, database_url
):
    """PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED gives each subscription to one worker at
    a time, so without a crash every message arrives exactly once, in order."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several workers are for PostgreSQL; SQLite runs one")
    second = Receiver(delay=0.05).start()
    try:
        other = subscribe(client, subscribed.regulator, second.url, name="again")
        subscribed.receiver.delay = 0.05
        for n in range(6):
            register(client, subscribed.producer, lot_number=f"TWO-{n}")
        ids = expected_ids(webhook_app)
        workers = [start_worker(webhook_app, database_url) for _ in range(2)]
        try:
            per_subscription = len(ids) // 2
            subscribed.receiver.wait_for(per_subscription)
            second.wait_for(per_subscription)
            time.sleep(0.3)  # a duplicate, if any, would arrive now
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
                worker.wait(10)
        for receiver, subscription_id in (
            (subscribed.receiver, subscribed.subscription_id),
            (second, other["subscriptionID"]),
        ):
            got = [r.headers["webhook-id"] for r in receiver.received]
            assert got == expected_ids(webhook_app, subscription_id)
    finally:
        second.stop()


def test_deliver_once_from_the_command_line(webhook_app, client, subscribed):
    register(client, subscribed.producer)
    result = webhook_app.test_cli_runner().invoke(args=["deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert [r.headers["webhook-id"] for r in subscribed.receiver.received] == expected_ids(
        webhook_app
    )


def test_the_worker_process_alerts_a_shipment_not_received(
    webhook_app, client, subscribed, database_url
):
    """``chemtrace deliver`` scans for overdue shipments as it delivers: a shipment shipped
    eight days ago and still in transit reaches the receiver as an alert, once."""
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
    with webhook_app.app_context():
        # The clock has passed the transit days, as far as this transfer is concerned.
        transfer = db.session.get(Transfer, shipment.json["id"])
        transfer.shipped_at = utcnow() - timedelta(days=8)
        db.session.commit()
    worker = start_worker(webhook_app, database_url, CHEMTRACE_OVERDUE_SCAN_SECONDS="0.1")
    try:
        deadline = time.monotonic() + 30
        while not any(b"ct:alertRaisedAt" in r.body for r in subscribed.receiver.received):
            assert time.monotonic() < deadline, "no alert arrived"
            time.sleep(0.05)
        time.sleep(0.5)  # several scans later: still one alert
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(10)
    alerts = [r for r in subscribed.receiver.received if b"ct:alertRaisedAt" in r.body]
    assert len({r.headers["webhook-id"] for r in alerts}) == 1
    document = standardwebhooks.Webhook(subscribed.secret).verify(alerts[0].body, alerts[0].headers)
    assert document["ct:redFlags"] == ["shipment_not_received"]
    assert first_arrivals(subscribed.receiver) == expected_ids(webhook_app)
