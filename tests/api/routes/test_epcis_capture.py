"""POST /api/v1/epcis/capture: EPCIS documents captured as jobs, all or nothing by default,
every refused event named with its reason; a document that is not EPCIS refused whole."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from registry.db import db
from registry.models import Batch, Event, Facility
from tests.api.batch_helpers import register
from tests.reference import TEST_DATA

EXAMPLES = TEST_DATA / "epcis" / "examples"
BASE = "http://127.0.0.1:8000"
CONTEXT = ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld", {"ct": f"{BASE}/ns/epcis#"}]


def document(*events):
    return {
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-23T08:00:00.000Z",
        "epcisBody": {"eventList": list(events)},
    }


def commissioning(party, quantity=12.5, lot="EPCIS-LOT-1"):
    return {
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T08:00:00.000Z",
        "eventTimeZoneOffset": "+07:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "epcList": [],
        "quantityList": [{"epcClass": f"{BASE}/classes/{lot}", "quantity": quantity, "uom": "KGM"}],
        "bizLocation": {"id": f"{BASE}/facilities/{party.facility_id}"},
        "ct:casRN": "108-24-7",
        "ct:lotNumber": lot,
    }


def post(client, party, body, **headers):
    text = body if isinstance(body, str) else json.dumps(body)
    return client.post(
        "/api/v1/epcis/capture",
        data=text,
        headers={**party.headers, "Content-Type": "application/ld+json", **headers},
    )


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.jsonld")))
def test_every_official_example_is_recorded_or_refused_with_reasons(app, client, producer, example):
    before = count(app, Event)
    response = post(client, producer, (EXAMPLES / example).read_text(encoding="utf-8"))
    assert response.status_code == 202, response.text
    job = response.json
    if not job["success"]:
        assert job["errors"], job
        assert all(e["message"] for e in job["errors"])
        assert job["captured"] == []
        assert count(app, Event) == before


def test_commission_then_ship_then_receive(app, client, producer, distributor):
    shipped_quantity = 2.25
    response = post(client, producer, document(commissioning(producer, quantity=12.5)))
    assert response.status_code == 202, response.text
    (registration,) = response.json["captured"]
    batch_id = registration["id"]
    assert registration["operation"] == "registration"
    batch = client.get(f"/api/v1/batches/{batch_id}", headers=producer.headers).json
    assert batch["quantity"] == {"value": "12.5", "unit": "kg"}
    assert batch["lot_number"] == "EPCIS-LOT-1"

    shipping = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T09:00:00.000Z",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "epcList": [],
        "quantityList": [
            {"epcClass": f"{BASE}/batches/{batch_id}", "quantity": shipped_quantity, "uom": "KGM"}
        ],
        "destinationList": [
            {"type": "owning_party", "destination": f"{BASE}/organizations/{distributor.id}"}
        ],
        "bizTransactionList": [{"type": "inv", "bizTransaction": "urn:example:inv:42"}],
    }
    response = post(client, producer, document(shipping))
    assert response.status_code == 202, response.text
    transfer_id = response.json["captured"][0]["id"]
    transfer = client.get(f"/api/v1/transfers/{transfer_id}", headers=producer.headers).json
    assert transfer["status"] == "in_transit"
    assert transfer["quantity"] == {"value": "2.25", "unit": "kg"}

    receiving = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T10:00:00.000Z",
        "eventTimeZoneOffset": "+07:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "disposition": "active",
        "epcList": [],
        "quantityList": [
            {
                "epcClass": f"{BASE}/batches/{transfer['shipped_batch_id']}",
                "quantity": 2.25,
                "uom": "KGM",
            }
        ],
        "bizLocation": {"id": f"{BASE}/facilities/{distributor.facility_id}"},
    }
    response = post(client, distributor, document(receiving))
    assert response.status_code == 202, response.text
    received = client.get(f"/api/v1/transfers/{transfer_id}", headers=distributor.headers).json
    assert received["status"] == "received"


def cbv_forms(code_list: str, word: str) -> list[str]:
    """The forms CBV 2.0 allows for a standard value in an EPCIS 2.0 JSON document: the bare
    word, the compact IRI with the context's ``cbv:`` prefix, and the full URI."""
    return [word, f"cbv:{code_list}-{word}", f"https://ref.gs1.org/cbv/{code_list}-{word}"]


def query_events(client, headers, **parameters):
    response = client.get("/api/v1/epcis/events", query_string=parameters, headers=headers)
    assert response.status_code == 200, response.text
    return json.loads(response.text)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


@pytest.mark.parametrize("disposition", cbv_forms("Disp", "active"))
@pytest.mark.parametrize("step", cbv_forms("BizStep", "commissioning"))
def test_every_cbv_form_of_biz_step_and_disposition_is_captured(
    client, auth, producer, step, disposition
):
    event = {**commissioning(producer), "bizStep": step, "disposition": disposition}
    response = post(client, producer, document(event))
    assert response.status_code == 202, response.text
    (registration,) = response.json["captured"]
    assert registration["operation"] == "registration"
    # The query side reads the same forms: the event it answers with is the one captured.
    found = query_events(
        client,
        auth("regulator"),
        EQ_bizStep=step,
        EQ_disposition=disposition,
        MATCH_anyEPCClass=f"{BASE}/batches/{registration['id']}",
    )
    assert [(e["bizStep"], e["disposition"]) for e in found] == [("commissioning", "active")]


@pytest.mark.parametrize("form", range(3))
def test_every_cbv_form_picks_the_operation(client, producer, distributor, form):
    """The step decides the operation (disposal or consumption, shipment), and the owning
    party and document type are read from CBV values in any form as well."""
    batch = register(client, producer, "10")
    epc_class = f"{BASE}/batches/{batch['id']}"

    def event(action, step, disposition, **more):
        return {
            "type": "ObjectEvent",
            "eventTime": "2026-11-23T08:00:00.000Z",
            "eventTimeZoneOffset": "+07:00",
            "action": action,
            "bizStep": cbv_forms("BizStep", step)[form],
            "disposition": cbv_forms("Disp", disposition)[form],
            "epcList": [],
            "quantityList": [{"epcClass": epc_class, "quantity": 1.5, "uom": "KGM"}],
            **more,
        }

    shipping = event(
        "OBSERVE",
        "shipping",
        "in_transit",
        destinationList=[
            {
                "type": cbv_forms("SDT", "owning_party")[form],
                "destination": f"{BASE}/organizations/{distributor.id}",
            }
        ],
        bizTransactionList=[
            {"type": cbv_forms("BTT", "inv")[form], "bizTransaction": "urn:example:inv:42"}
        ],
    )
    destroying = event("DELETE", "destroying", "destroyed")
    response = post(client, producer, document(shipping, destroying))
    assert response.status_code == 202, response.text
    assert [c["operation"] for c in response.json["captured"]] == ["shipment", "dispose"]
    transfer_id = response.json["captured"][0]["id"]
    transfer = client.get(f"/api/v1/transfers/{transfer_id}", headers=producer.headers).json
    assert transfer["to_organization_id"] == distributor.id
    assert transfer["documents"] == [{"type": "invoice", "number": "urn:example:inv:42"}]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bizStep", "urn:epcglobal:cbv:bizstep:commissioning"),
        ("disposition", "urn:epcglobal:cbv:disp:active"),
    ],
)
def test_the_epcis_1_urn_forms_are_refused_by_the_epcis_2_schema(
    app, client, producer, field, value
):
    """EPCIS 2.0 JSON has no place for the 1.x URNs (its schema refuses them); queries still
    read them, since they name the same values."""
    response = post(client, producer, document({**commissioning(producer), field: value}))
    assert response.status_code == 400
    assert response.json["type"] == "epcisException:ValidationException"
    assert [e["code"] for e in response.json["errors"]] == ["epcis_invalid"]
    assert count(app, Batch) == 0


def test_all_or_nothing(app, client, producer):
    aggregation = {
        "type": "AggregationEvent",
        "eventTime": "2026-11-23T08:00:00.000Z",
        "eventTimeZoneOffset": "+07:00",
        "action": "ADD",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
    }
    batches = count(app, Batch)
    response = post(client, producer, document(commissioning(producer), aggregation))
    assert response.status_code == 202
    job = response.json
    assert (job["success"], job["captureErrorBehaviour"], job["captured"]) == (
        False,
        "rollback",
        [],
    )
    assert [e["field"] for e in job["errors"]] == ["epcisBody.eventList.1"]
    assert count(app, Batch) == batches


def test_refusals_name_each_event_and_why(client, producer, distributor):
    someone_elses = commissioning(producer)
    someone_elses["bizLocation"] = {"id": f"{BASE}/facilities/{distributor.facility_id}"}
    no_substance = commissioning(producer, lot="L-2")
    del no_substance["ct:casRN"]
    response = post(client, producer, document(someone_elses, no_substance))
    assert response.status_code == 202
    reasons = {e["field"]: e["message"] for e in response.json["errors"]}
    assert "not one of your facilities" in reasons["epcisBody.eventList.0"]
    assert "ct:casRN" in reasons["epcisBody.eventList.1"]


def test_a_document_that_is_not_epcis_is_refused(client, producer):
    response = post(client, producer, {"type": "EPCISDocument", "epcisBody": {}})
    assert response.status_code == 400
    assert response.json["code"] == "epcis_invalid"
    assert post(client, producer, "{not json").status_code == 400


def test_consumption_and_disposal(client, producer):
    batch = register(client, producer, "10")

    def take(step, action="DELETE"):
        return {
            "type": "ObjectEvent",
            "eventTime": "2026-11-23T08:00:00.000Z",
            "eventTimeZoneOffset": "+07:00",
            "action": action,
            "bizStep": step,
            "epcList": [],
            "quantityList": [
                {"epcClass": f"{BASE}/batches/{batch['id']}", "quantity": 1.5, "uom": "KGM"}
            ],
        }

    response = post(client, producer, document(take("destroying"), take("other")))
    assert response.status_code == 202, response.text
    assert [c["operation"] for c in response.json["captured"]] == ["dispose", "consume"]
    left = client.get(f"/api/v1/batches/{batch['id']}", headers=producer.headers).json
    assert left["quantity"] == {"value": "7", "unit": "kg"}


def test_a_capture_of_more_than_1000_events_is_refused_whole(app, client, producer):
    events = [commissioning(producer, lot=f"LOT-{n}") for n in range(1001)]
    response = post(client, producer, document(*events))
    assert response.status_code == 413
    assert response.json["code"] == "epcis_capture_limit"
    assert response.json["type"] == "epcisException:CaptureLimitExceededException"
    assert response.headers["GS1-EPCIS-Capture-Limit"] == "1000"
    assert response.json["errors"][0]["code"] == "too_many_events"
    assert count(app, Batch) == 0


def test_a_facility_with_a_gln_is_named_by_its_digital_link_or_the_registrys_uri(
    app, client, producer
):
    with app.app_context():
        facility = db.session.get(Facility, producer.facility_id)
        facility.gln = "8934567000000"
        db.session.commit()
    by_gln = commissioning(producer, lot="GLN-1")
    by_gln["bizLocation"] = {"id": "https://id.gs1.org/414/8934567000000"}
    by_own_uri = commissioning(producer, lot="OWN-1")  # {BASE}/facilities/{id}
    answer = post(client, producer, document(by_gln, by_own_uri))
    assert answer.status_code == 202, answer.json
    assert [c["operation"] for c in answer.json["captured"]] == ["registration"] * 2
