"""EPCIS 2.0 named queries and webhook subscriptions over HTTP (the REST bindings' shapes)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry.db import db
from registry.models import OutboxMessage, Subscription
from tests.api.batch_helpers import register

QUERIES = "/api/v1/epcis/queries"


@pytest.fixture
def regulator(auth):
    return auth("regulator")


def save(client, headers, name="shipping", query=None, status=201):
    response = client.post(
        QUERIES,
        json={"name": name, "query": {"EQ_bizStep": ["shipping"]} if query is None else query},
        headers=headers,
    )
    assert response.status_code == status, response.json
    return response


def test_save_list_get_delete(client, regulator):
    made = save(
        client,
        regulator,
        query={"EQ_bizStep": ["shipping"], "GE_eventTime": "2026-01-01T00:00:00Z"},
    )
    assert made.headers["Location"] == f"{QUERIES}/shipping"
    assert made.json["query"]["EQ_bizStep"] == ["shipping"]
    save(client, regulator, "b-second", {"EQ_controlList": ["UN-1988-Table-I"]})
    listed = client.get(QUERIES, headers=regulator).json
    assert [q["name"] for q in listed] == ["b-second", "shipping"]
    assert client.get(f"{QUERIES}/shipping", headers=regulator).json["name"] == "shipping"
    assert client.delete(f"{QUERIES}/shipping", headers=regulator).status_code == 204
    assert client.get(f"{QUERIES}/shipping", headers=regulator).status_code == 404


def test_a_name_is_taken_once(client, regulator):
    save(client, regulator)
    again = save(client, regulator, status=409)
    assert again.json["code"] == "query_exists"


def test_another_regulators_queries_are_not_found(client, regulator, auth):
    save(client, regulator)
    other = auth("regulator")
    assert client.get(f"{QUERIES}/shipping", headers=other).status_code == 404
    assert client.get(QUERIES, headers=other).json == []
    save(client, other)  # the same name is free for them


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"EQ_controlList": ["No-Such-List"]}, "unknown_control_list"),
        ({"EQ_redFlag": ["large_order"]}, "red_flag_unknown"),
        ({"EQ_bizStep": []}, "validation_failed"),
        ({"EQ_bizStep": "shipping"}, "validation_failed"),
        ({"unknown": ["x"]}, "validation_failed"),
    ],
)
def test_bad_parameters_are_refused(client, regulator, query, code):
    refused = save(client, regulator, query=query, status=422)
    assert refused.json["code"] == code
    assert client.get(QUERIES, headers=regulator).json == []


def test_the_events_of_a_query(client, regulator, producer):
    register(client, producer, lot_number="ONE")
    register(client, producer, lot_number="TWO")
    save(client, regulator, "all", {})
    page = client.get(f"{QUERIES}/all/events?perPage=1", headers=regulator)
    assert page.status_code == 200
    assert page.mimetype == "application/ld+json"
    assert page.json["epcisBody"]["queryResults"]["queryName"] == "all"
    assert len(page.json["epcisBody"]["queryResults"]["resultsBody"]["eventList"]) == 1
    assert 'rel="next"' in page.headers["Link"]
    save(client, regulator, "none", {"EQ_bizStep": ["shipping"]})
    empty = client.get(f"{QUERIES}/none/events", headers=regulator).json
    assert empty["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []


def test_subscribe_list_unsubscribe(app, client, regulator):
    app.config["WEBHOOK_ALLOWED"] = "http://127.0.0.1/8"
    save(client, regulator)
    path = f"{QUERIES}/shipping/subscriptions"
    made = client.post(
        path, json={"dest": "http://127.0.0.1:9/hook", "stream": True}, headers=regulator
    )
    assert made.status_code == 201, made.json
    assert made.json["secret"].startswith("whsec_")
    sub_id = made.json["subscriptionID"]
    assert made.headers["Location"] == f"{path}/{sub_id}"
    listed = client.get(path, headers=regulator).json
    assert [s["subscriptionID"] for s in listed] == [sub_id]
    assert "secret" not in listed[0]
    with app.app_context():
        stored = db.session.get(Subscription, sub_id).secret_encrypted
        assert made.json["secret"].encode() not in stored  # encrypted at rest
    assert client.delete(f"{path}/{sub_id}", headers=regulator).status_code == 204
    assert client.get(path, headers=regulator).json == []
    assert client.delete(f"{path}/{sub_id}", headers=regulator).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"dest": "http://127.0.0.1:9/hook", "stream": True}, "webhook_destination_refused"),
        ({"dest": "https://169.254.169.254/", "stream": True}, "webhook_destination_refused"),
        ({"dest": "https://10.1.2.3/hook", "stream": True}, "webhook_destination_refused"),
        ({"dest": "not a url", "stream": True}, "webhook_destination_refused"),
        ({"dest": "https://8.8.8.8/hook"}, "validation_failed"),
        (
            {"dest": "https://8.8.8.8/hook", "schedule": {"hour": "1"}},
            "schedule_unsupported",
        ),
    ],
)
def test_bad_subscriptions_are_refused(client, regulator, body, code):
    save(client, regulator)
    path = f"{QUERIES}/shipping/subscriptions"
    refused = client.post(path, json=body, headers=regulator)
    assert refused.status_code == 422, refused.json
    assert refused.json["code"] == code
    assert client.get(path, headers=regulator).json == []


def test_matching_events_enter_the_outbox_with_them(app, client, regulator, producer):
    save(client, regulator, "registrations", {"EQ_bizStep": ["commissioning"]})
    save(client, regulator, "shipping")
    for name in ("registrations", "shipping"):
        made = client.post(
            f"{QUERIES}/{name}/subscriptions",
            json={"dest": "https://8.8.8.8/hook", "stream": True},
            headers=regulator,
        )
        assert made.status_code == 201
    batch = register(client, producer)
    # A refused write records nothing, and so queues nothing.
    refused = client.post(
        f"/api/v1/batches/{batch['id']}/consume",
        json={"quantity": {"value": "99999", "unit": "kg"}, "purpose": "x"},
        headers=producer.headers,
    )
    assert refused.status_code in (409, 422)
    with app.app_context():
        queued = db.session.scalars(select(OutboxMessage)).all()
        assert [m.ledger_index for m in queued] == [batch["ledger_index"]]
        assert db.session.scalar(select(func.count()).select_from(Subscription)) == 2
    # Deleting the query ends its subscription and drops what it had not delivered.
    assert client.delete(f"{QUERIES}/registrations", headers=regulator).status_code == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
