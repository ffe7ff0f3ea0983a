"""The ledger routes: checkpoints, proofs and entries, checked with our verifiers."""

from __future__ import annotations

import base64

import pytest

from crypto import merkle, notes
from registry.ledger import tree
from tests.api.batch_helpers import make_party, register


def b64d(text: str) -> bytes:
    return base64.b64decode(text)


@pytest.fixture(autouse=True)
def checkpoint_on_every_read(app):
    """A checkpoint period of zero: GET /checkpoint always covers the whole log."""
    settings = app.extensions[tree.EXTENSION]
    app.extensions[tree.EXTENSION] = tree.Settings(settings.origin, 1000, 0)


@pytest.fixture
def producer(app, auth):
    return make_party(app, auth, "Ledger Producer JSC", 0)


@pytest.fixture
def registered(client, producer):
    """Five batches: ten events (registered, identifiers_issued)."""
    return [register(client, producer, lot_number=f"L-{i}") for i in range(5)]


def pinned_verifiers(client) -> list[notes.Verifier]:
    response = client.get("/api/v1/ledger/checkpoint?format=verifier-key")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return [notes.parse_verifier_key(line) for line in response.text.splitlines()]


def trusted_checkpoint(client) -> notes.Checkpoint:
    response = client.get("/api/v1/ledger/checkpoint")
    assert response.mimetype == "text/plain"
    origin = response.text.split("\n", 1)[0]
    return notes.open_checkpoint(response.text, pinned_verifiers(client), origin)


def test_checkpoint_is_a_signed_note_of_the_whole_log(client, registered):
    checkpoint = trusted_checkpoint(client)
    assert checkpoint.tree_size == 10
    assert checkpoint.origin == "127.0.0.1:8000/ledger"
    as_json = client.get("/api/v1/ledger/checkpoint", headers={"Accept": "application/json"}).json
    assert as_json["tree_size"] == 10
    assert b64d(as_json["root_hash"]) == checkpoint.root_hash
    assert as_json["note"].startswith(checkpoint.text())


def test_verifier_keys_include_the_next_key_and_match_the_jwks(client):
    verifiers = pinned_verifiers(client)
    jwks = client.get("/.well-known/jwks.json").json["keys"]
    assert len(verifiers) == len(jwks) == 2
    raw_keys = {base64.urlsafe_b64decode(k["x"] + "=") for k in jwks}
    assert {notes._raw(v.public_key) for v in verifiers} == raw_keys


def test_every_event_has_an_inclusion_proof_against_the_checkpoint(client, registered):
    checkpoint = trusted_checkpoint(client)
    indexes = [b["ledger_index"] for b in registered]
    assert indexes == [0, 2, 4, 6, 8]  # each registration is followed by its label issuance
    for index in range(checkpoint.tree_size):
        answer = client.get(
            f"/api/v1/ledger/proofs/inclusion?index={index}&tree_size={checkpoint.tree_size}"
        ).json
        assert b64d(answer["root_hash"]) == checkpoint.root_hash
        merkle.verify_inclusion(
            b64d(answer["leaf_hash"]),
            index,
            checkpoint.tree_size,
            [b64d(h) for h in answer["proof"]],
            checkpoint.root_hash,
        )


def test_entries_are_the_leaves_the_proofs_cover(client, registered, auth):
    regulator = auth("regulator")
    answer = client.get("/api/v1/ledger/entries?start=0&end=10", headers=regulator).json
    assert [e["index"] for e in answer["entries"]] == list(range(10))
    first = answer["entries"][0]
    assert first["event_id"]
    proof = client.get("/api/v1/ledger/proofs/inclusion?index=0&tree_size=10").json
    assert merkle.leaf_hash(b64d(first["leaf"])) == b64d(proof["leaf_hash"])
    history = client.get(f"/api/v1/batches/{registered[0]['id']}/history", headers=regulator).json
    # The leaf is the canonical JSON of the event as the ledger serves it.
    import json

    record = json.loads(b64d(first["leaf"]))
    assert record["id"] == first["event_id"] == history["events"][0]["id"]
    assert record["type"] == "registered"
    assert record["quantity"] == {"value": "500000", "unit": "g"}


def test_consistency_between_any_two_sizes(client, registered, auth):
    roots = {}
    for size in range(1, 11):
        roots[size] = b64d(
            client.get(f"/api/v1/ledger/proofs/inclusion?index=0&tree_size={size}").json[
                "root_hash"
            ]
        )
    for first in range(1, 11):
        for second in range(first, 11):
            answer = client.get(
                f"/api/v1/ledger/proofs/consistency?first={first}&second={second}"
            ).json
            merkle.verify_consistency(
                first, second, [b64d(h) for h in answer["proof"]], roots[first], roots[second]
            )


def test_on_demand_checkpoint(client, registered, auth):
    response = client.post("/api/v1/ledger/checkpoints", headers=auth("regulator"))
    assert response.status_code == 201
    assert response.json["tree_size"] == 10
    verifiers = pinned_verifiers(client)
    signed = notes.open_checkpoint(response.json["note"], verifiers, response.json["origin"])
    assert signed.tree_size == 10


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("proofs/inclusion?index=10&tree_size=10", "index_out_of_range"),
        ("proofs/inclusion?index=0&tree_size=11", "tree_too_large"),
        ("proofs/consistency?first=5&second=11", "tree_too_large"),
        ("proofs/consistency?first=6&second=5", "bad_tree_sizes"),
        ("proofs/inclusion?index=-1&tree_size=5", "invalid_field"),
        ("proofs/inclusion?index=0", "missing_field"),
        ("checkpoint?format=pem", "invalid_field"),
    ],
)
def test_impossible_proof_requests_are_refused(client, registered, query, code):
    response = client.get(f"/api/v1/ledger/{query}")
    assert response.status_code == 422
    assert code in {e["code"] for e in response.json["errors"]}


def test_entries_are_for_regulators_and_bounded(client, registered, auth, producer):
    assert client.get("/api/v1/ledger/entries?start=0&end=5").status_code == 401
    assert (
        client.get("/api/v1/ledger/entries?start=0&end=5", headers=producer.headers).status_code
        == 403
    )
    regulator = auth("regulator")
    too_many = client.get("/api/v1/ledger/entries?start=0&end=1001", headers=regulator)
    assert too_many.status_code == 422
    beyond = client.get("/api/v1/ledger/entries?start=8&end=20", headers=regulator).json
    assert [e["index"] for e in beyond["entries"]] == [8, 9]


def test_an_empty_log_has_a_signed_empty_checkpoint(client):
    checkpoint = trusted_checkpoint(client)
    assert (checkpoint.tree_size, checkpoint.root_hash) == (0, merkle.EMPTY_ROOT)
    answer = client.get("/api/v1/ledger/proofs/consistency?first=0&second=0").json
    assert answer["proof"] == []
