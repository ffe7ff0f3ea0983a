"""Verification reads the batch with Core statements: the same answer, field for field and in
the same order, as the ORM objects it used to load, in every state the answer depends on."""

from __future__ import annotations

from typing import Any

import jwt
from sqlalchemy import select

from registry.db import db
from registry.models import Batch, Organization, Transfer
from registry.signing import kid_text, signer
from tests.api.batch_helpers import make_party, qty, register


def _as_the_orm_saw_it(app, batch_id: str) -> dict[str, Any]:
    """The public batch as the ORM version of the lookup built it."""
    with app.app_context():
        batch = db.session.get(Batch, batch_id)
        body: dict[str, Any] = {
            "id": batch.id,
            "cas_rn": batch.cas_rn,
            "substance_name": batch.substance.name,
            "ghs_pictograms": list(batch.substance.ghs_pictograms),
            "lot_number": batch.lot_number,
            "status": batch.status,
            "holder": {"name": batch.holder.name, "enterprise_code": batch.holder.enterprise_code},
        }
        if batch.status == "in_transit":
            transfer = db.session.scalar(
                select(Transfer).where(Transfer.shipped_batch_id == batch.id)
            )
            receiver = db.session.get(Organization, transfer.to_organization_id)
            body["in_transit_to"] = {
                "name": receiver.name,
                "enterprise_code": receiver.enterprise_code,
            }
        return body


def _verify(client, token: str) -> dict[str, Any]:
    response = client.post("/api/v1/verify", json={"token": token})
    assert response.status_code == 200
    return response.json


def _token_of(client, party, batch_id: str) -> str:
    return client.get(f"/api/v1/batches/{batch_id}", headers=party.headers).json["identifier"][
        "token"
    ]


def test_a_batch_in_transit_and_then_received(app, client, producer, distributor):
    batch = register(client, producer, "500")
    shipment = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch["id"], "quantity": qty("50"), "to_organization_id": distributor.id},
        headers=producer.headers,
    ).json
    shipped = shipment["shipped_batch_id"]
    token = _token_of(client, producer, shipped)
    in_transit = _verify(client, token)
    assert in_transit["verified"] is True
    assert in_transit["batch"]["in_transit_to"] == {
        "name": "Distributor",
        "enterprise_code": "0101248141",
    }
    assert list(in_transit["batch"].items()) == list(_as_the_orm_saw_it(app, shipped).items())
    client.post(
        f"/api/v1/transfers/{shipment['id']}/receive",
        json={"received_quantity": qty("50")},
        headers=distributor.headers,
    )
    received = _verify(client, token)
    assert "in_transit_to" not in received["batch"]
    assert list(received["batch"].items()) == list(_as_the_orm_saw_it(app, shipped).items())
    # The source batch never was in transit itself.
    source = _verify(client, batch["identifier"]["token"])
    assert list(source["batch"].items()) == list(_as_the_orm_saw_it(app, batch["id"]).items())


def test_container_tokens_known_and_unknown(app, client, producer):
    batch = register(client, producer, "25", containers=1)
    genuine = _verify(client, batch["containers"][0]["token"])
    assert genuine["verified"] is True
    assert genuine["container"] == {"serial": batch["containers"][0]["serial"]}
    assert list(genuine["batch"].items()) == list(_as_the_orm_saw_it(app, batch["id"]).items())
    with app.app_context():
        token, _key = signer().sign(batch["id"], "NO-SUCH-SERIAL")
    refused = _verify(client, token)
    assert refused["verified"] is False and refused["failure_reason"] == "unknown_container"
    assert refused["batch"] is None and refused["container"] is None


def test_the_answer_keeps_its_fields_and_their_order(client, producer):
    batch = register(client, producer, "25")
    response = client.post("/api/v1/verify", json={"token": batch["identifier"]["token"]})
    assert list(response.json) == [
        "verified",
        "kid",
        "batch",
        "container",
        "checked_at",
        "signed_result",
    ]


def test_the_signed_result_is_the_jws_pyjwt_writes(app, client, auth):
    holder = make_party(app, auth, "Công ty Hóa chất “Sài Gòn”", 2)
    batch = register(client, holder, "25", containers=1)
    for token in (batch["identifier"]["token"], batch["containers"][0]["token"], "NOT-A-TOKEN"):
        answer = _verify(client, token)
        signed = answer.pop("signed_result")
        with app.app_context():
            key = signer().keys.current()
            expected = jwt.encode(
                answer,
                key.private_key,
                algorithm="EdDSA",
                headers={"kid": kid_text(key.kid), "typ": "vnd.chemtrace.verification+jwt"},
            )
        assert signed == expected
