"""EPCIS capture jobs: 202 with Location, rollback or proceed, jobs seen by their organisation
(and regulators and admins) and kept across restarts; the single-event capture; both forms of
the EPCIS @context; the GS1 headers."""

from __future__ import annotations

import json

import pytest

from registry.db import db
from registry.ledger.audit import verify_ledger
from registry.models import Batch, Event, LedgerHead
from tests.api.routes.test_epcis_capture import BASE, commissioning, count, document, post

UNVERSIONED = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
VERSIONED = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def refused(party):
    """An event the registry cannot record: another organisation's facility."""
    event = commissioning(party, lot="REFUSED")
    event["bizLocation"] = {"id": f"{BASE}/facilities/01JQ3V7Y8M2N4P6R8T0V2X4Z6B"}
    return event


def test_proceed_keeps_the_good_events_and_lists_the_bad(app, client, producer):
    good = [commissioning(producer, lot=f"GOOD-{n}") for n in range(2)]
    response = post(
        client,
        producer,
        document(good[0], refused(producer), good[1]),
        **{"GS1-Capture-Error-Behaviour": "proceed"},
    )
    assert response.status_code == 202, response.text
    job = response.json
    assert response.headers["Location"] == f"/api/v1/epcis/capture/{job['captureID']}"
    assert (job["running"], job["success"], job["captureErrorBehaviour"]) == (
        False,
        False,
        "proceed",
    )
    assert [c["index"] for c in job["captured"]] == [0, 2]
    assert [(e["index"], e["field"], e["code"]) for e in job["errors"]] == [
        (1, "epcisBody.eventList.1", "unmappable")
    ]
    assert count(app, Batch) == 2
    with app.app_context():
        # The refused event left nothing: the ledger is dense and verifies.
        assert db.session.get(LedgerHead, 1).size == count(app, Event) == 4
        assert verify_ledger().finding is None


def test_rollback_is_the_default_and_keeps_nothing(app, client, producer):
    response = post(client, producer, document(commissioning(producer), refused(producer)))
    assert response.status_code == 202
    job = response.json
    assert (job["success"], job["captureErrorBehaviour"], job["captured"]) == (
        False,
        "rollback",
        [],
    )
    assert count(app, Batch) == 0 and count(app, Event) == 0


def test_an_unknown_error_behaviour_is_refused(client, producer):
    behaviour = {"GS1-Capture-Error-Behaviour": "all"}  # only a server says "all"
    response = post(client, producer, document(commissioning(producer)), **behaviour)
    assert response.status_code == 400
    assert response.json["code"] == "capture_error_behaviour_invalid"
    assert response.json["type"] == "epcisException:ValidationException"


def test_jobs_are_seen_by_their_organisation_regulators_and_admins(
    client, auth, producer, distributor
):
    job = post(client, producer, document(commissioning(producer))).json
    url = f"/api/v1/epcis/capture/{job['captureID']}"
    for headers in (producer.headers, auth("regulator"), auth("admin")):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 200 and answer.json["success"] is True
        assert answer.json["captured"] == job["captured"]
    assert client.get(url, headers=distributor.headers).status_code == 404
    assert client.get("/api/v1/epcis/capture", headers=distributor.headers).json == []
    assert client.get("/api/v1/epcis/capture", headers=auth("inspector")).status_code == 403


def test_jobs_are_listed_a_page_at_a_time(client, auth, producer):
    made = [
        post(client, producer, document(commissioning(producer, lot=f"L{n}"))).json["captureID"]
        for n in range(3)
    ]
    first = client.get("/api/v1/epcis/capture?perPage=2", headers=producer.headers)
    assert [j["captureID"] for j in first.json] == made[:2]
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"')
    following = link[1 : link.index(">")].removeprefix("http://localhost")
    second = client.get(following, headers=producer.headers)
    assert [j["captureID"] for j in second.json] == made[2:]
    assert "Link" not in second.headers


def test_a_job_survives_a_restart(client, another_app, producer):
    job = post(client, producer, document(commissioning(producer))).json
    restarted = another_app().test_client()
    answer = restarted.get(f"/api/v1/epcis/capture/{job['captureID']}", headers=producer.headers)
    assert answer.status_code == 200 and answer.json == job


@pytest.mark.parametrize("context", [UNVERSIONED, VERSIONED])
def test_both_forms_of_the_epcis_context_are_taken(client, producer, context):
    body = document(commissioning(producer))
    body["@context"] = [context, {"ct": f"{BASE}/ns/epcis#"}]
    response = post(client, producer, body)
    assert response.status_code == 202 and response.json["success"] is True


def test_a_document_without_the_epcis_context_is_refused(app, client, producer):
    body = document(commissioning(producer))
    body["@context"] = ["https://example.com/not-epcis.jsonld"]
    response = post(client, producer, body)
    assert response.status_code == 400
    assert [e["field"] for e in response.json["errors"]] == ["@context"]
    assert count(app, Batch) == 0


def test_one_event_is_captured_alone(client, producer):
    event = {"@context": [VERSIONED, {"ct": f"{BASE}/ns/epcis#"}], **commissioning(producer)}
    response = client.post("/api/v1/epcis/events", json=event, headers=producer.headers)
    assert response.status_code == 201, response.text
    assert json.loads(response.text) == event
    job = client.get(response.headers["Location"], headers=producer.headers).json
    assert job["success"] is True and job["eventCount"] == 1
    assert job["captured"][0]["operation"] == "registration"


def test_one_event_that_cannot_be_recorded_is_refused(app, client, producer):
    event = {"@context": [VERSIONED], **refused(producer)}
    response = client.post("/api/v1/epcis/events", json=event, headers=producer.headers)
    assert response.status_code == 400
    assert response.json["code"] == "epcis_unmappable"
    assert response.json["type"] == "epcisException:ValidationException"
    assert [e["field"] for e in response.json["errors"]] == ["epcisBody.eventList.0"]
    assert count(app, Batch) == 0
    document_instead = client.post(
        "/api/v1/epcis/events", json=document(commissioning(producer)), headers=producer.headers
    )
    assert document_instead.status_code == 400


def test_capture_answers_carry_the_gs1_headers(client, producer):
    response = post(client, producer, document(commissioning(producer)))
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert response.headers["GS1-CBV-Version"] == "2.0.0"
    assert response.headers["GS1-Extensions"] == f"ct,{BASE}/ns/epcis#"


def test_options_on_capture_says_the_limits(client):
    response = client.options("/api/v1/epcis/capture")
    assert response.status_code == 204 and not response.data
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST", "OPTIONS"}
    assert response.headers["GS1-EPCIS-Capture-Limit"] == "1000"
    assert int(response.headers["GS1-EPCIS-Capture-File-Size-Limit"]) > 0
    assert response.headers["GS1-Capture-Error-Behaviour"] == "all"
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"


def test_a_capture_sent_again_with_its_idempotency_key_is_the_same_job(app, client, producer):
    body = document(commissioning(producer))
    key = {"Idempotency-Key": "capture-1"}
    first = post(client, producer, body, **key)
    again = post(client, producer, body, **key)
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, Batch) == 1


def test_one_event_sent_again_with_its_idempotency_key_has_the_same_location(app, client, producer):
    event = {"@context": [VERSIONED, {"ct": f"{BASE}/ns/epcis#"}], **commissioning(producer)}
    headers = {**producer.headers, "Idempotency-Key": "event-1"}
    first = client.post("/api/v1/epcis/events", json=event, headers=headers)
    again = client.post("/api/v1/epcis/events", json=event, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.text == first.text
    assert again.headers["Location"] == first.headers["Location"]
    assert client.get(again.headers["Location"], headers=producer.headers).status_code == 200
    assert count(app, Batch) == 1
