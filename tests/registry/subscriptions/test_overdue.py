"""The delivery worker's scan for shipments not received in time: one alert per overdue
transfer and matching subscription, raised once (scanned again, or by two scanners at once),
none for a shipment received in time, and none a subscription's owner may not see."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from registry.access.credentials import Principal
from registry.db import db
from registry.models import Event, OutboxMessage, SavedQuery, Subscription, Transfer
from registry.reports import mass_balance as report_module
from registry.reports.mass_balance import mass_balance
from registry.reports.red_flags import Thresholds
from registry.subscriptions import overdue
from tests.api.batch_helpers import make_party, qty, register
from tests.registry.subscriptions.conftest import subscribe

LATER = timedelta(days=8)  # past the default 7 transit days


def ship(client, sender, batch_id: str, receiver, value: str = "10") -> dict:
    response = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch_id, "quantity": qty(value), "to_organization_id": receiver.id},
        headers=sender.headers,
    )
    assert response.status_code == 201, response.json
    return response.json


def alerts(app) -> list[tuple[str, str, list[str]]]:
    """(subscription, event, flags) of every alert in the outbox."""
    with app.app_context():
        rows = db.session.execute(
            select(OutboxMessage.subscription_id, OutboxMessage.event_id, OutboxMessage.flags)
            .where(OutboxMessage.kind == "alert")
            .order_by(OutboxMessage.id)
        )
        return [(s, e, list(f)) for s, e, f in rows]


def scan(app, now: datetime) -> int:
    with app.app_context():
        return overdue.scan(Thresholds(), now)


def shipped_event(app, transfer_id: str) -> str:
    with app.app_context():
        return db.session.scalar(
            select(Event.id).where(Event.transfer_id == transfer_id, Event.type == "shipped")
        )


@pytest.fixture
def parties(webhook_app, auth):
    return (
        make_party(webhook_app, auth, "Producer", 0),
        make_party(webhook_app, auth, "Distributor", 1),
    )


def test_an_overdue_shipment_is_alerted_once(webhook_app, client, auth, parties):
    producer, distributor = parties
    regulator = auth("regulator")
    everything = subscribe(client, regulator, "http://127.0.0.1:9/a", "everything")
    wanted = subscribe(
        client,
        regulator,
        "http://127.0.0.1:9/b",
        "stalled",
        {"EQ_redFlag": ["shipment_not_received"]},
    )
    subscribe(
        client, regulator, "http://127.0.0.1:9/c", "thefts", {"EQ_redFlag": ["loss_or_theft"]}
    )
    batch = register(client, producer, "100")
    stalled = ship(client, producer, batch["id"], distributor)
    arrived = ship(client, producer, batch["id"], distributor)
    received = client.post(
        f"/api/v1/transfers/{arrived['id']}/receive",
        json={"received_quantity": qty("10"), "facility_id": distributor.facility_id},
        headers=distributor.headers,
    )
    assert received.status_code == 200, received.json

    now = datetime.now(UTC)
    assert scan(webhook_app, now) == 0  # not overdue yet
    assert scan(webhook_app, now + LATER) == 1
    event = shipped_event(webhook_app, stalled["id"])
    assert sorted(alerts(webhook_app)) == sorted(
        [
            (everything["subscriptionID"], event, ["shipment_not_received"]),
            (wanted["subscriptionID"], event, ["shipment_not_received"]),
        ]
    )
    # The saved query's events now answer with the shipment too.
    page = client.get("/api/v1/epcis/queries/stalled/events", headers=regulator).json
    (listed,) = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert listed["bizStep"].endswith("shipping")
    # Scanned again, later still, or after a restart: the transfer is marked, nothing new.
    assert scan(webhook_app, now + LATER) == 0
    assert scan(webhook_app, now + 2 * LATER) == 0
    assert len(alerts(webhook_app)) == 2
    with webhook_app.app_context():
        marked = db.session.get(Transfer, stalled["id"])
        assert marked.overdue_alerted_at is not None
        assert db.session.get(Transfer, arrived["id"]).overdue_alerted_at is None


def test_the_report_names_the_same_shipment(webhook_app, client, auth, parties, monkeypatch):
    producer, distributor = parties
    subscribe(client, auth("regulator"), "http://127.0.0.1:9/a")
    batch = register(client, producer, "100")
    stalled = ship(client, producer, batch["id"], distributor)
    later = datetime.now(UTC) + LATER
    scan(webhook_app, later)
    monkeypatch.setattr(report_module, "utcnow", lambda: later)
    with webhook_app.app_context():
        report = mass_balance(
            Principal("r", "regulator"),
            producer.id,
            later - 2 * LATER,
            later,
            thresholds=Thresholds(),
        )
        reported = [
            e.id
            for line in report.lines
            for f in line.flags
            if f.code == "shipment_not_received"
            for e in f.events
        ]
    assert reported == [e for _, e, _ in alerts(webhook_app)]
    assert reported == [shipped_event(webhook_app, stalled["id"])]


def test_an_enterprise_subscription_sees_only_its_own_shipments(webhook_app, client, auth, parties):
    producer, distributor = parties
    other = make_party(webhook_app, auth, "Other", 2)
    mine = subscribe(client, auth("regulator"), "http://127.0.0.1:9/a")
    batch = register(client, producer, "100")
    ship(client, producer, batch["id"], distributor)
    with webhook_app.app_context():
        # A query an enterprise owns: its own organisation's events only, whatever it asks.
        enterprise_query = SavedQuery(
            name="mine",
            parameters={},
            owner_credential_id="K-other",
            owner_role="enterprise",
            owner_organization_id=other.id,
        )
        db.session.add(enterprise_query)
        db.session.flush()
        theirs = Subscription(
            query_id=enterprise_query.id, dest="http://127.0.0.1:9/b", secret_encrypted=b"x"
        )
        db.session.add(theirs)
        db.session.commit()
        theirs_id = theirs.id
    scan(webhook_app, datetime.now(UTC) + LATER)
    subscribers = {s for s, _, _ in alerts(webhook_app)}
    assert subscribers == {mine["subscriptionID"]}
    assert theirs_id not in subscribers


def test_two_scanners_at_once_raise_each_alert_once(
    webhook_app, client, auth, parties, monkeypatch
):
    """Two workers scan together (threads with their own sessions and connections; on
    PostgreSQL SKIP LOCKED and the mark, on SQLite the one writer): one alert each."""
    producer, distributor = parties
    subscribe(client, auth("regulator"), "http://127.0.0.1:9/a")
    batch = register(client, producer, "1000")
    transfers = [ship(client, producer, batch["id"], distributor) for _ in range(12)]
    monkeypatch.setattr(overdue, "CHUNK", 3)  # several transactions each, interleaved
    later = datetime.now(UTC) + LATER
    start = threading.Barrier(2)
    counts: list[int] = []
    errors: list[BaseException] = []

    def scanner() -> None:
        try:
            with webhook_app.app_context():
                start.wait()
                counts.append(overdue.scan(Thresholds(), later))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=scanner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(counts) == len(transfers)
    found = alerts(webhook_app)
    assert len(found) == len(transfers)
    assert len({e for _, e, _ in found}) == len(transfers)
    with webhook_app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.overdue_alerted_at.is_(None))
            )
            == 0
        )
