"""The EPCIS top-level collections (/eventTypes, /epcs, /bizSteps, /bizLocations,
/readPoints, /dispositions) and the events of one of their values, as the EPCIS REST
bindings shape them; OPTIONS and the GS1 headers on each."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.api.batch_helpers import register

BASE = "http://127.0.0.1:8000"
VERSIONED = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


@pytest.fixture
def regulator(auth):
    return auth("regulator")


def members(client, headers, collection, **query):
    response = client.get(f"/api/v1/epcis/{collection}", query_string=query, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json
    assert (body["@context"], body["type"]) == (VERSIONED, "Collection")
    return body["member"], response


def events_of(client, headers, collection, value, **query):
    # A URI is one path segment: its slashes percent-encoded.
    url = f"/api/v1/epcis/{collection}/{quote(value, safe='')}/events"
    response = client.get(url, query_string=query, headers=headers)
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/ld+json"
    document = json.loads(response.text)
    assert document["@context"][0] == VERSIONED
    return document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_the_vocabulary_collections(client, regulator):
    assert members(client, regulator, "eventTypes")[0] == ["ObjectEvent", "TransformationEvent"]
    steps = members(client, regulator, "bizSteps")[0]
    assert {"commissioning", "shipping", "receiving", "destroying"} <= set(steps)
    dispositions = members(client, regulator, "dispositions")[0]
    assert {"active", "in_transit", "destroyed", "stolen"} <= set(dispositions)


def test_collections_are_paged_with_a_link(client, regulator):
    everything = members(client, regulator, "bizSteps")[0]
    first, response = members(client, regulator, "bizSteps", perPage=3)
    assert first == everything[:3]
    link = response.headers["Link"]
    following = link[1 : link.index(">")].removeprefix("http://localhost")
    rest = client.get(following, headers=regulator).json["member"]
    assert rest == everything[3:6]


def test_epcs_and_locations_are_the_registry_s(client, regulator, producer):
    batch = register(client, producer, "10")
    epcs = members(client, regulator, "epcs")[0]
    assert f"{BASE}/batches/{batch['id']}" in epcs
    location = f"{BASE}/facilities/{producer.facility_id}"
    assert location in members(client, regulator, "bizLocations")[0]
    assert location in members(client, regulator, "readPoints")[0]


def test_the_events_of_one_value(client, regulator, producer, distributor):
    batch = register(client, producer, "10")
    other = register(client, distributor, "5")
    uri = f"{BASE}/batches/{batch['id']}"
    mine = events_of(client, regulator, "epcs", uri)
    assert mine and all(
        e["quantityList"][0]["epcClass"] == uri for e in mine if "quantityList" in e
    )
    commissioned = events_of(client, regulator, "bizSteps", "commissioning")
    assert len(commissioned) == 2
    assert events_of(client, regulator, "bizSteps", "shipping") == []
    assert len(events_of(client, regulator, "eventTypes", "ObjectEvent")) == 4
    assert events_of(client, regulator, "eventTypes", "TransformationEvent") == []
    assert len(events_of(client, regulator, "dispositions", "active")) == 2
    location = f"{BASE}/facilities/{distributor.facility_id}"
    at_distributor = events_of(client, regulator, "bizLocations", location)
    # Its registration and its labels' issue, both at its facility.
    assert [e["bizLocation"]["id"] for e in at_distributor] == [location, location]
    read_there = events_of(client, regulator, "readPoints", location)
    assert {e["readPoint"]["id"] for e in read_there} == {location} and len(read_there) == 2
    # The query parameters filter further; several values separated by |.
    both = events_of(
        client,
        regulator,
        "bizSteps",
        "commissioning",
        MATCH_anyEPCClass=f"{uri}|{BASE}/batches/{other['id']}",
    )
    assert len(both) == 2


def test_only_regulators_query(client, auth, producer):
    for headers in (producer.headers, auth("admin"), auth("inspector")):
        assert client.get("/api/v1/epcis/bizSteps", headers=headers).status_code == 403
    assert client.get("/api/v1/epcis/epcs").status_code == 401


def test_query_answers_carry_the_gs1_headers(client, regulator):
    _, response = members(client, regulator, "eventTypes")
    assert response.headers["GS1-EPCIS-Version"] == "2.0.0"
    assert response.headers["GS1-CBV-Version"] == "2.0.0"
    assert response.headers["GS1-Extensions"] == f"ct,{BASE}/ns/epcis#"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/epcis/events",
        "/api/v1/epcis/eventTypes",
        "/api/v1/epcis/eventTypes/ObjectEvent/events",
        f"/api/v1/epcis/epcs/{quote(BASE + '/batches/X', safe='')}/events",
        "/api/v1/epcis/bizSteps",
        "/api/v1/epcis/dispositions/active/events",
    ],
)
def test_options_on_every_resource(client, path):
    response = client.options(path)
    assert response.status_code == 204 and not response.data
    assert "GET" in response.headers["Allow"] and "OPTIONS" in response.headers["Allow"]
    for name in ("GS1-EPCIS-Version", "GS1-CBV-Version", "GS1-EPCIS-Min", "GS1-EPCIS-Max"):
        assert response.headers[name] == "2.0.0"
    assert "GS1-EPCIS-Capture-Limit" not in response.headers


def test_a_refused_query_is_an_epcis_query_parameter_exception(client, regulator):
    response = client.get("/api/v1/epcis/bizSteps?perPage=0", headers=regulator)
    assert response.status_code == 422
    assert response.json["type"] == "epcisException:QueryParameterException"
    assert response.json["code"] == "validation_failed"


def test_a_facility_with_a_gln_is_its_digital_link(client, regulator, producer):
    facility = client.post(
        f"/api/v1/organizations/{producer.id}/facilities",
        json={"name": "Warehouse 2", "address": "Lot 4", "gln": "8934567000000"},
        headers=producer.headers,
    ).json
    register(client, producer, "10", facility_id=facility["id"])
    location = "https://id.gs1.org/414/8934567000000"
    assert location in members(client, regulator, "bizLocations")[0]
    found = events_of(client, regulator, "bizLocations", location)
    assert [e["bizLocation"]["id"] for e in found] == [location, location]
    # The registry's own URI names a facility only when it has no GLN.
    assert events_of(client, regulator, "bizLocations", f"{BASE}/facilities/{facility['id']}") == []
