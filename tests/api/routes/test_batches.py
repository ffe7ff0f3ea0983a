"""Batches over HTTP: registration, the lifecycle, transfers, and exact quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from crypto import merkle
from registry.db import db
from registry.ledger.audit import verify_ledger
from registry.ledger.records import leaf_bytes
from registry.models import Batch, Event, LedgerLeaf
from tests.api.batch_helpers import kg, make_party, qty, register


def test_register_returns_an_active_batch_with_containers(client, producer):
    batch = register(client, producer, "1250.5", containers=3, concentration_pct="98.5")
    assert batch["status"] == "active"
    assert batch["quantity"] == qty("1250.5")
    assert batch["holder_organization_id"] == producer.id
    assert [c["serial"] for c in batch["containers"]] == ["0001", "0002", "0003"]
    assert batch["pure_substance_mass"] == {"value": "1231742.5", "unit": "g"}
    assert batch["ledger_index"] == 0


def test_volume_without_density_has_no_pure_mass_and_conversions_need_density(client, producer):
    batch = register(client, producer, "200", "L")
    assert batch["pure_substance_mass"] is None
    response = client.post(
        f"/api/v1/batches/{batch['id']}/consume",
        json={"quantity": qty("10", "kg"), "purpose": "synthesis"},
        headers=producer.headers,
    )
    assert response.status_code == 422
    assert response.json["code"] == "density_required"
    dense = register(client, producer, "200", "L", density_kg_per_l="1.082")
    assert dense["pure_substance_mass"] == {"value": "216400", "unit": "g"}
    consumed = client.post(
        f"/api/v1/batches/{dense['id']}/consume",
        json={"quantity": qty("10.82", "kg"), "purpose": "synthesis"},
        headers=producer.headers,
    )
    assert consumed.status_code == 200, consumed.json
    assert consumed.json["quantity"] == qty("190", "L")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"quantity": qty("0")}, "quantity_invalid"),
        ({"quantity": qty("-5")}, "quantity_invalid"),
        ({"quantity": {"value": 5, "unit": "kg"}}, "validation_failed"),
        ({"quantity": qty("5", "lb")}, "unit_invalid"),
        ({"quantity": qty("0.0000001", "g")}, "quantity_too_precise"),
        ({"cas_rn": "108-24-8"}, "cas_invalid"),
        ({"cas_rn": "7732-18-5"}, "substance_unknown"),
        ({"facility_id": "nope"}, "facility_unknown"),
        ({"origin": {"kind": "imported"}}, "import_document_required"),
        ({"manufactured_on": "2026-13-01"}, "validation_failed"),
        ({"manufactured_on": "2026-05-01", "expires_on": "2026-04-01"}, "dates_invalid"),
        ({"concentration_pct": "101"}, "factor_invalid"),
        ({"containers": 0}, "containers_invalid"),
        ({"colour": "red"}, "validation_failed"),
    ],
)
def test_bad_registrations_store_nothing(app, client, producer, change, code):
    body = {
        "cas_rn": "108-24-7",
        "lot_number": "L1",
        "quantity": qty("5"),
        "facility_id": producer.facility_id,
        "origin": {"kind": "produced"},
        **change,
    }
    response = client.post("/api/v1/batches", json=body, headers=producer.headers)
    assert response.status_code == 422, response.json
    assert response.json["code"] == code
    with app.app_context():
        assert Batch.query.count() == 0 and Event.query.count() == 0


def test_bulk_is_all_or_nothing(app, client, producer):
    good = {
        "cas_rn": "108-24-7",
        "lot_number": "B",
        "quantity": qty("1"),
        "facility_id": producer.facility_id,
        "origin": {"kind": "produced"},
    }
    bad = {**good, "quantity": qty("0")}
    response = client.post(
        "/api/v1/batches:bulk", json={"items": [good, good, bad]}, headers=producer.headers
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["field"] == "items.2.quantity.value"
    with app.app_context():
        assert Batch.query.count() == 0
    ok = client.post("/api/v1/batches:bulk", json={"items": [good] * 25}, headers=producer.headers)
    assert ok.status_code == 201
    indexes = [b["ledger_index"] for b in ok.json["items"]]
    # Each batch records its registration, then the issuance of its signed identifier.
    assert indexes == list(range(0, 50, 2))


def test_bulk_writes_the_rows_leaves_and_labels_of_single_registrations(app, client, producer):
    """batches:bulk writes its events and identifiers without ORM objects: what is stored
    is what it answered, each leaf is the leaf of the stored row, in item order."""
    good = {
        "cas_rn": "108-24-7",
        "lot_number": "B",
        "quantity": qty("1.5"),
        "facility_id": producer.facility_id,
        "origin": {"kind": "produced"},
    }
    items = [good, {**good, "containers": 2, "documents": [{"type": "invoice", "number": "I"}]}]
    single = register(client, producer, lot_number="S")
    response = client.post("/api/v1/batches:bulk", json={"items": items}, headers=producer.headers)
    assert response.status_code == 201
    answered = response.json["items"]
    with app.app_context():
        assert verify_ledger().ok
        events = db.session.scalars(sa.select(Event).order_by(Event.ledger_index)).all()
        assert [e.type for e in events] == ["registered", "identifiers_issued"] * 3
        assert [e.batch_id for e in events[::2]] == [single["id"]] + [b["id"] for b in answered]
        assert [e.ledger_index for e in events[2::2]] == [b["ledger_index"] for b in answered]
        leaves = dict(db.session.execute(sa.select(LedgerLeaf.event_id, LedgerLeaf.hash)).all())
        for event in events:
            assert bytes(leaves[event.id]) == merkle.leaf_hash(leaf_bytes(event))
        # The same columns as a single registration's, but the batch and the ids.
        for bulk_event, single_event in zip(events[2:4], events[:2], strict=True):
            for name in ("type", "cas_rn", "organization_id", "actor_role", "dimension"):
                assert getattr(bulk_event, name) == getattr(single_event, name)
            assert set(bulk_event.details) == set(single_event.details)
        batch = db.session.get(Batch, answered[1]["id"])
        tokens = {i.container_serial: i.token for i in batch.identifiers}
        assert tokens[None] == answered[1]["identifier"]["token"]
        assert [tokens[c["serial"]] for c in answered[1]["containers"]] == [
            c["token"] for c in answered[1]["containers"]
        ]
        assert events[5].details["tokens"] == [tokens[None], tokens["0001"], tokens["0002"]]
        assert events[4].documents == [{"type": "invoice", "number": "I"}]
        assert events[4].quantity_delta_micro == 1_500_000_000


def test_the_whole_chain_adds_up_to_the_gram(client, auth, producer, distributor, end_user):
    """producer → distributor → end user; a split; a partial receipt; consumption;
    disposal; a loss; a recall. Every quantity adds up exactly."""
    batch = register(client, producer, "500")
    bid = batch["id"]
    split = client.post(
        f"/api/v1/batches/{bid}/split",
        json={"parts": [qty("100"), qty("50.250")]},
        headers=producer.headers,
    )
    assert split.status_code == 201, split.json
    assert split.json["parent"]["quantity"] == qty("349.75")
    child = split.json["children"][0]

    shipment = client.post(
        "/api/v1/transfers",
        json={
            "batch_id": bid,
            "quantity": qty("300"),
            "to_organization_id": distributor.id,
            "documents": [
                {"type": "invoice", "number": "INV-1"},
                {"type": "control_slip", "number": "CS-9"},
            ],
        },
        headers=producer.headers,
    )
    assert shipment.status_code == 201, shipment.json
    transfer = shipment.json
    assert transfer["status"] == "in_transit"
    assert client.get(f"/api/v1/batches/{bid}", headers=producer.headers).json["quantity"] == qty(
        "49.75"
    )

    received = client.post(
        f"/api/v1/transfers/{transfer['id']}/receive",
        json={"received_quantity": qty("299.5"), "facility_id": distributor.facility_id},
        headers=distributor.headers,
    )
    assert received.status_code == 200, received.json
    assert received.json["status"] == "received_with_discrepancy"
    dist_batch = received.json["batch_id"]
    twice = client.post(
        f"/api/v1/transfers/{transfer['id']}/receive",
        json={"received_quantity": qty("299.5")},
        headers=distributor.headers,
    )
    assert twice.status_code == 409 and twice.json["code"] == "state_conflict"

    onward = client.post(
        "/api/v1/transfers",
        json={"batch_id": dist_batch, "quantity": qty("200"), "to_organization_id": end_user.id},
        headers=distributor.headers,
    ).json
    client.post(
        f"/api/v1/transfers/{onward['id']}/receive",
        json={"received_quantity": qty("200")},
        headers=end_user.headers,
    )
    user_batch = onward["shipped_batch_id"]
    consumed = client.post(
        f"/api/v1/batches/{user_batch}/consume",
        json={"quantity": qty("150"), "purpose": "acetylation"},
        headers=end_user.headers,
    )
    assert consumed.json["quantity"] == qty("50")
    disposed = client.post(
        f"/api/v1/batches/{user_batch}/dispose",
        json={"quantity": qty("20"), "method": "incineration"},
        headers=end_user.headers,
    )
    assert disposed.json["quantity"] == qty("30")
    lost = client.post(
        f"/api/v1/batches/{dist_batch}/incidents",
        json={"kind": "loss", "quantity": qty("99.5"), "description": "drum leaked"},
        headers=distributor.headers,
    )
    assert lost.status_code == 201
    assert lost.json["batch"]["status"] == "lost"
    assert lost.json["event"]["flagged"] is True

    regulator = auth("regulator")
    recalled = client.post(
        f"/api/v1/batches/{bid}/recall", json={"reason": "contamination"}, headers=regulator
    )
    assert recalled.status_code == 200
    assert recalled.json["status"] == "recalled"
    assert client.get(f"/api/v1/batches/{user_batch}", headers=regulator).json["status"] == (
        "recalled"
    )
    assert client.get(f"/api/v1/batches/{child['id']}", headers=regulator).json["status"] == (
        "recalled"
    )

    history = client.get(f"/api/v1/batches/{bid}/history", headers=regulator).json
    batches = {b["id"]: b for b in history["batches"]}
    held = sum(kg(b["quantity"]) for b in batches.values())
    events = history["events"]
    left = {"consumed", "disposed", "incident"}
    gone = sum(kg(e["quantity"]) for e in events if e["type"] in left)
    discrepancy = sum(kg(e["quantity_delta"]) for e in events if e["type"] == "received")
    assert held + gone - discrepancy == Decimal(500)
    assert gone == Decimal("269.5")
    assert discrepancy == Decimal("-0.5")
    for b in batches.values():
        deltas = sum(
            kg(e["quantity_delta"])
            for e in events
            if e["batch_id"] == b["id"] and e["quantity_delta"]
        )
        assert deltas == kg(b["quantity"]), b["id"]
    assert [e["ledger_index"] for e in events] == sorted(e["ledger_index"] for e in events)


def test_state_machine_refuses_and_changes_nothing(client, auth, producer, distributor):
    batch = register(client, producer, "10")
    regulator = auth("regulator")
    client.post(
        f"/api/v1/batches/{batch['id']}/suspend", json={"reason": "audit"}, headers=regulator
    )
    for path, body in [
        ("consume", {"quantity": qty("1"), "purpose": "x"}),
        ("split", {"parts": [qty("1")]}),
    ]:
        refused = client.post(
            f"/api/v1/batches/{batch['id']}/{path}", json=body, headers=producer.headers
        )
        assert refused.status_code == 409 and refused.json["code"] == "state_conflict"
    ship = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch["id"], "quantity": qty("1"), "to_organization_id": distributor.id},
        headers=producer.headers,
    )
    assert ship.status_code == 409 and ship.json["code"] == "state_conflict"
    current = client.get(f"/api/v1/batches/{batch['id']}", headers=regulator).json
    assert current["status"] == "suspended" and current["quantity"] == qty("10")
    released = client.post(
        f"/api/v1/batches/{batch['id']}/release", json={"reason": "ok"}, headers=regulator
    )
    assert released.json["status"] == "active"


def test_more_than_available_and_another_orgs_batch(client, producer, distributor):
    batch = register(client, producer, "10")
    too_much = client.post(
        f"/api/v1/batches/{batch['id']}/consume",
        json={"quantity": qty("10.001"), "purpose": "x"},
        headers=producer.headers,
    )
    assert too_much.status_code == 409 and too_much.json["code"] == "insufficient_quantity"
    foreign = client.post(
        f"/api/v1/batches/{batch['id']}/consume",
        json={"quantity": qty("1"), "purpose": "x"},
        headers=distributor.headers,
    )
    assert foreign.status_code == 404
    assert (
        client.get(f"/api/v1/batches/{batch['id']}", headers=distributor.headers).status_code == 404
    )


def test_controlled_substance_needs_a_receivers_licence(app, client, auth, producer):
    unlicensed = make_party(app, auth, "No licence", 3, licensed=False)
    batch = register(client, producer, "10")
    response = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch["id"], "quantity": qty("1"), "to_organization_id": unlicensed.id},
        headers=producer.headers,
    )
    assert response.status_code == 422 and response.json["code"] == "licence_missing"
    assert client.get(f"/api/v1/batches/{batch['id']}", headers=producer.headers).json[
        "quantity"
    ] == qty("10")


def test_rejected_shipment_returns_to_the_sender(client, producer, distributor):
    batch = register(client, producer, "10")
    transfer = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch["id"], "quantity": qty("4"), "to_organization_id": distributor.id},
        headers=producer.headers,
    ).json
    sender_try = client.post(
        f"/api/v1/transfers/{transfer['id']}/reject", json={"reason": "x"}, headers=producer.headers
    )
    assert sender_try.status_code == 403
    rejected = client.post(
        f"/api/v1/transfers/{transfer['id']}/reject",
        json={"reason": "wrong grade"},
        headers=distributor.headers,
    )
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    returned = client.get(
        f"/api/v1/batches/{transfer['shipped_batch_id']}", headers=producer.headers
    ).json
    assert returned["holder_organization_id"] == producer.id
    assert returned["quantity"] == qty("4") and returned["status"] == "active"


def test_transformation_consumes_inputs_and_knows_them(client, auth, producer):
    a = register(client, producer, "100")
    b = register(client, producer, "40")
    response = client.post(
        "/api/v1/transformations",
        json={
            "inputs": [
                {"batch_id": a["id"], "quantity": qty("100")},
                {"batch_id": b["id"], "quantity": qty("10")},
            ],
            "output": {
                "cas_rn": "67-64-1",
                "lot_number": "OUT-1",
                "quantity": qty("95"),
                "facility_id": producer.facility_id,
            },
        },
        headers=producer.headers,
    )
    assert response.status_code == 201, response.json
    output = response.json["output"]
    assert output["origin"]["kind"] == "transformation"
    upstream = client.get(
        f"/api/v1/batches/{output['id']}/history?direction=upstream", headers=auth("regulator")
    ).json
    assert {a["id"], b["id"], output["id"]} == {x["id"] for x in upstream["batches"]}
    states = {x["id"]: x["status"] for x in upstream["batches"]}
    assert states[a["id"]] == "consumed" and states[b["id"]] == "active"


def test_adjustment_is_flagged_and_signed(client, producer):
    batch = register(client, producer, "10")
    down = client.post(
        f"/api/v1/batches/{batch['id']}/adjustments",
        json={"quantity": qty("-0.5"), "reason": "stock count"},
        headers=producer.headers,
    )
    assert down.status_code == 201, down.json
    assert down.json["event"]["flagged"] is True
    assert down.json["batch"]["quantity"] == qty("9.5")


def test_idempotency_key(app, client, producer):
    body = {
        "cas_rn": "108-24-7",
        "lot_number": "I",
        "quantity": qty("5"),
        "facility_id": producer.facility_id,
        "origin": {"kind": "produced"},
    }
    headers = {**producer.headers, "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/batches", json=body, headers=headers)
    again = client.post("/api/v1/batches", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json
    assert again.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/batches", json={**body, "lot_number": "J"}, headers=headers)
    assert other.status_code == 422 and other.json["code"] == "idempotency_key_reused"
    with app.app_context():
        assert Batch.query.count() == 1


def test_inspection_by_inspector(client, auth, producer):
    batch = register(client, producer, "10")
    response = client.post(
        f"/api/v1/batches/{batch['id']}/inspections",
        json={"result": "discrepancy", "observed_quantity": qty("9")},
        headers=auth("inspector"),
    )
    assert response.status_code == 201, response.json
    assert response.json["event"]["details"]["observed_quantity"] == qty("9")
    assert response.json["event"]["flagged"] is True


def test_history_costs_a_fixed_number_of_queries(app, client, auth, producer):
    """No N+1: a chain of 1 batch and one of 21 batches take the same number of queries."""
    import sqlalchemy as sa

    from registry.db import db

    regulator = auth("regulator")

    def queries_for(batch_id: str) -> int:
        count = 0

        def count_query(*_args, **_kwargs) -> None:
            nonlocal count
            count += 1

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count_query)
        try:
            response = client.get(f"/api/v1/batches/{batch_id}/history", headers=regulator)
        finally:
            sa.event.remove(engine, "before_cursor_execute", count_query)
        assert response.status_code == 200
        return count

    lone = register(client, producer, "10")
    chain = register(client, producer, "100")
    parent, size = chain["id"], Decimal(100)
    for _ in range(4):
        size /= 2
        parts = client.post(
            f"/api/v1/batches/{parent}/split",
            json={"parts": [qty(str(size))] + [qty("0.5")] * 4},
            headers=producer.headers,
        ).json
        parent = parts["children"][0]["id"]
    assert (
        len(client.get(f"/api/v1/batches/{chain['id']}/history", headers=regulator).json["batches"])
        == 21
    )
    assert queries_for(chain["id"]) == queries_for(lone["id"])
