"""The red flags raised as events are written, each in the case it names and not in the near
miss, and the mass-balance report flagging the same events from the same history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from registry.access.credentials import Principal
from registry.db import db
from registry.ledger import events as ledger_events
from registry.models import Event, OutboxMessage
from registry.reports.mass_balance import mass_balance
from registry.reports.red_flags import Thresholds
from tests.api.batch_helpers import make_party, qty, register
from tests.registry.subscriptions.conftest import subscribe

REGULATOR = Principal("test-regulator", "regulator")


@pytest.fixture
def hooked(app):
    """The app, allowed to subscribe a webhook on 127.0.0.1 (the worker is not run here:
    nothing is posted)."""
    app.config["WEBHOOK_ALLOWED"] = "http://127.0.0.1/8"
    return app


@pytest.fixture
def watched(hooked, client, auth):
    """A regulator subscribed to every event, so every event's flags are worked out."""
    subscribe(client, auth("regulator"), "http://127.0.0.1:9/hook")
    return hooked


def written(app, organization_id: str, flag: str) -> list[str]:
    """The events of the organisation whose outbox message carries ``flag``, in ledger order."""
    with app.app_context():
        rows = db.session.execute(
            select(Event.id, OutboxMessage.flags)
            .join(OutboxMessage, OutboxMessage.event_id == Event.id)
            .where(Event.organization_id == organization_id, OutboxMessage.kind == "event")
            .order_by(Event.ledger_index)
        )
        return [event_id for event_id, flags in rows if flag in flags]


def reported(app, organization_id: str, flag: str, since: datetime) -> list[str]:
    with app.app_context():
        report = mass_balance(
            REGULATOR,
            organization_id,
            since,
            datetime.now(UTC) + timedelta(seconds=1),
            thresholds=app.config["FLAG_THRESHOLDS"],
        )
        found = [e for line in report.lines for f in line.flags if f.code == flag for e in f.events]
        return [e.id for e in sorted(found, key=lambda e: e.ledger_index)]


def of_type(app, organization_id: str, type_: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Event.id)
                .where(Event.organization_id == organization_id, Event.type == type_)
                .order_by(Event.ledger_index)
            )
        )


def ship(client, sender, batch_id: str, receiver, value: str) -> dict:
    response = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch_id, "quantity": qty(value), "to_organization_id": receiver.id},
        headers=sender.headers,
    )
    assert response.status_code == 201, response.json
    return response.json


def receive(client, receiver, transfer: dict, value: str) -> None:
    response = client.post(
        f"/api/v1/transfers/{transfer['id']}/receive",
        json={"received_quantity": qty(value), "facility_id": receiver.facility_id},
        headers=receiver.headers,
    )
    assert response.status_code == 200, response.json


START = datetime(2020, 1, 1, tzinfo=UTC)


def test_licence_missing_for_the_unlicensed_organisation_only(watched, client, auth):
    unlicensed = make_party(watched, auth, "No licence", 3, licensed=False)
    licensed = make_party(watched, auth, "Licensed", 1)
    batch = register(client, unlicensed, "100")
    ship(client, unlicensed, batch["id"], licensed, "10")
    register(client, licensed, "100")  # the near miss: its own licence covers it

    flagged = written(watched, unlicensed.id, "licence_missing")
    registered = of_type(watched, unlicensed.id, "registered")
    shipped = of_type(watched, unlicensed.id, "shipped")
    assert flagged == registered + shipped
    assert written(watched, licensed.id, "licence_missing") == []
    assert reported(watched, unlicensed.id, "licence_missing", START) == flagged
    assert reported(watched, licensed.id, "licence_missing", START) == []


@pytest.mark.parametrize(("fourth", "large"), [("31", True), ("30", False)])
def test_unusually_large_over_three_times_the_mean(watched, client, auth, fourth, large):
    """Three shipments of 10 kg make the usual 10 kg: 31 is over 3 times it, 30 is not."""
    producer = make_party(watched, auth, "Producer", 0)
    distributor = make_party(watched, auth, "Distributor", 1)
    batch = register(client, producer, "1000")
    for value in ("10", "10", "10", fourth):
        receive(client, distributor, ship(client, producer, batch["id"], distributor, value), value)

    for party, type_ in ((producer, "shipped"), (distributor, "received")):
        moves = of_type(watched, party.id, type_)
        flagged = written(watched, party.id, "unusually_large")
        assert flagged == (moves[3:] if large else [])
        assert reported(watched, party.id, "unusually_large", START) == flagged


def test_unusually_large_needs_enough_history(watched, client, auth):
    producer = make_party(watched, auth, "Producer", 0)
    distributor = make_party(watched, auth, "Distributor", 1)
    batch = register(client, producer, "1000")
    for value in ("10", "10", "500"):  # two before it: not enough to know the usual
        ship(client, producer, batch["id"], distributor, value)
    assert written(watched, producer.id, "unusually_large") == []
    assert reported(watched, producer.id, "unusually_large", START) == []


def test_just_under_the_threshold_counted_in_a_trailing_window(watched, client, auth, monkeypatch):
    """With a 1 kg threshold, 0.95 kg is just under it, 1 kg and 0.89 kg are not; the third
    just-under shipment within 30 days is flagged, and every later one."""
    watched.config["FLAG_THRESHOLDS"] = Thresholds(reporting_threshold_g=Decimal(1000))
    producer = make_party(watched, auth, "Producer", 0)
    distributor = make_party(watched, auth, "Distributor", 1)
    now = datetime.now(UTC)
    # Two just under, 40 days ago: outside the window of the shipments made now.
    monkeypatch.setattr(ledger_events, "utcnow", lambda: now - timedelta(days=40))
    batch = register(client, producer, "100", concentration_pct="100")
    ship(client, producer, batch["id"], distributor, "0.95")
    ship(client, producer, batch["id"], distributor, "0.95")
    monkeypatch.undo()
    for value in ("0.95", "0.95", "1", "0.89", "0.95", "0.95"):
        ship(client, producer, batch["id"], distributor, value)

    shipped = of_type(watched, producer.id, "shipped")
    recent_just_under = [shipped[i] for i in (2, 3, 6, 7)]
    flagged = written(watched, producer.id, "just_under_threshold")
    assert flagged == recent_just_under[2:]
    # The report counts a period: the last day's four, or all six over the longer period;
    # what was flagged as it was written is among them, from the third on.
    assert reported(watched, producer.id, "just_under_threshold", now - timedelta(days=1)) == (
        recent_just_under
    )
    assert reported(watched, producer.id, "just_under_threshold", START) == (
        shipped[:2] + recent_just_under
    )


def test_flags_are_worked_out_only_for_events_a_subscription_matches(
    hooked, client, auth, monkeypatch
):
    """Nobody subscribed to the producer's events: its writes read nothing for red flags."""
    from registry.reports import red_flags

    producer = make_party(hooked, auth, "Producer", 0)
    distributor = make_party(hooked, auth, "Distributor", 1)
    subscribe(
        client,
        auth("regulator"),
        "http://127.0.0.1:9/hook",
        query={"EQ_organizationID": [distributor.id]},
    )

    def refuse(self, event):
        raise AssertionError(f"flags worked out for {event.type} of {event.organization_id}")

    monkeypatch.setattr(red_flags.Flagger, "flags_of", refuse)
    batch = register(client, producer, "100")
    ship(client, producer, batch["id"], distributor, "10")
