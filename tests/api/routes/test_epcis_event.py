"""One event by its eventID (GET /epcis/events/{eventID}) and the EPCIS root's list of
top-level resources (GET /epcis/), as the EPCIS REST bindings define them."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.api.batch_helpers import register

VERSIONED = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
UNKNOWN = "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"


@pytest.fixture
def regulator(auth):
    return auth("regulator")


def all_events(client, headers) -> list[dict]:
    response = client.get("/api/v1/epcis/events", query_string={"perPage": 500}, headers=headers)
    assert response.status_code == 200, response.text
    return json.loads(response.text)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def event_url(event_id: str) -> str:
    return f"/api/v1/epcis/events/{quote(event_id, safe='')}"


def test_each_event_is_found_by_the_event_id_get_events_gives(client, regulator, producer):
    register(client, producer, "10")
    register(client, producer, "3")
    listed = all_events(client, regulator)
    assert len(listed) >= 2
    for event in listed:
        response = client.get(event_url(event["eventID"]), headers=regulator)
        assert response.status_code == 200, response.text
        assert response.mimetype == "application/ld+json"
        assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
        document = json.loads(response.text)
        assert document["type"] == "EPCISQueryDocument"
        assert document["@context"][0] == VERSIONED
        assert document["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == [event]


def test_events_recorded_after_a_lookup_are_found_too(client, regulator, producer):
    register(client, producer, "10")
    first = all_events(client, regulator)[-1]["eventID"]
    assert client.get(event_url(first), headers=regulator).status_code == 200
    register(client, producer, "4")
    latest = all_events(client, regulator)[-1]["eventID"]
    assert latest != first
    response = client.get(event_url(latest), headers={**regulator, "Accept": "application/json"})
    assert response.status_code == 200 and response.mimetype == "application/json"


@pytest.mark.parametrize(
    "event_id",
    [
        UNKNOWN,
        "ni:///sha-256;" + "A" * 64 + "?ver=CBV2.0",  # not the form the registry makes
        "urn:uuid:831c0292-4de1-430a-8255-2aca821abaab",
        "x" * 300,
    ],
)
def test_an_unknown_event_is_a_no_such_name_exception(client, regulator, producer, event_id):
    register(client, producer, "10")
    response = client.get(event_url(event_id), headers=regulator)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["type"] == "epcisException:NoSuchNameException"
    assert response.json["code"] == "not_found"


def test_only_regulators_read_events(client, auth, producer):
    register(client, producer, "10")
    event_id = all_events(client, auth("regulator"))[0]["eventID"]
    for headers in (producer.headers, auth("admin"), auth("inspector")):
        response = client.get(event_url(event_id), headers=headers)
        assert response.status_code == 403  # as GET /events answers them
    assert client.get(event_url(event_id)).status_code == 401


def test_options_on_an_event(client, regulator, producer):
    register(client, producer, "10")
    event_id = all_events(client, regulator)[0]["eventID"]
    response = client.options(event_url(event_id))
    assert response.status_code == 204 and not response.data
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "OPTIONS"}
    for name in ("GS1-EPCIS-Version", "GS1-CBV-Version", "GS1-EPCIS-Min", "GS1-CBV-Max"):
        assert response.headers[name] == "2.0.0"
    # Something that is no eventID of this registry names no resource.
    assert client.options(event_url("urn:uuid:831c0292")).status_code == 404


def test_the_top_level_resources(client, auth):
    for role in ("regulator", "admin", "inspector"):
        response = client.get("/api/v1/epcis/", headers=auth(role))
        assert response.status_code == 200, response.text
        assert response.json == {
            "@context": VERSIONED,
            "type": "Collection",
            "member": [
                "queries",
                "capture",
                "events",
                "eventTypes",
                "epcs",
                "readPoints",
                "bizLocations",
                "dispositions",
                "bizSteps",
            ],
        }
        assert response.headers["GS1-CBV-Version"] == "2.0.0"
    assert client.get("/api/v1/epcis/").status_code == 401


def test_options_on_the_root(client):
    response = client.options("/api/v1/epcis/")
    assert response.status_code == 204 and not response.data
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    for name in ("GS1-EPCIS-Version", "GS1-EPCIS-Min", "GS1-EPCIS-Max", "GS1-CBV-Min"):
        assert response.headers[name] == "2.0.0"
    assert response.headers["GS1-Extensions"].startswith("ct,")


def test_a_backlog_too_large_for_one_lookup_is_503_until_indexed(
    client, regulator, producer, monkeypatch
):
    from registry.epcis import event_ids

    register(client, producer, "10")
    register(client, producer, "3")
    latest = all_events(client, regulator)[-1]["eventID"]
    monkeypatch.setattr(event_ids, "BATCH", 1)
    monkeypatch.setattr(event_ids, "MAX_LOOKUP_BATCHES", 1)
    answers = [client.get(event_url(latest), headers=regulator) for _ in range(4)]
    statuses = [a.status_code for a in answers]
    # One event hashed per lookup: the latest is found once the ones before it are.
    assert statuses[0] == 503 and statuses[-1] == 200, statuses
    assert answers[0].json["code"] == "epcis_ids_pending"
    assert answers[0].headers["Retry-After"] == "5"
