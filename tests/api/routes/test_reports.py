"""GET /api/v1/events and the mass-balance report: where did 500 kg go, what does not add up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest

from registry.reports.mass_balance import Thresholds
from tests.api.batch_helpers import qty, register


def moment(value: datetime) -> str:
    return quote(value.isoformat())


def post(client, path, body, party, status=(200, 201)):
    response = client.post(path, json=body, headers=party.headers)
    assert response.status_code in status, response.json
    return response.json


@pytest.fixture
def story(app, client, producer, distributor, end_user):
    """500 kg of acetic anhydride (98 %): split, shipped with a short receipt, consumed,
    disposed, exported, partly lost, adjusted after a count, and 100 kg shipped onward that
    never arrives."""
    app.config["FLAG_THRESHOLDS"] = Thresholds(transit_days=0)
    start = datetime.now(UTC) - timedelta(seconds=1)
    batch = register(client, producer, "500", concentration_pct="98")
    bid = batch["id"]
    post(client, f"/api/v1/batches/{bid}/split", {"parts": [qty("100")]}, producer)
    shipment = post(
        client,
        "/api/v1/transfers",
        {"batch_id": bid, "quantity": qty("200"), "to_organization_id": distributor.id},
        producer,
    )
    received = post(
        client,
        f"/api/v1/transfers/{shipment['id']}/receive",
        {"received_quantity": qty("199.5"), "facility_id": distributor.facility_id},
        distributor,
    )
    post(
        client, f"/api/v1/batches/{bid}/consume", {"quantity": qty("50"), "purpose": "x"}, producer
    )
    post(
        client,
        f"/api/v1/batches/{bid}/dispose",
        {"quantity": qty("10"), "method": "burn"},
        producer,
    )
    post(
        client,
        f"/api/v1/batches/{bid}/export",
        {"quantity": qty("40"), "destination_country": "LA", "licence_number": "XK-1"},
        producer,
    )
    loss = post(
        client,
        f"/api/v1/batches/{bid}/incidents",
        {"kind": "theft", "quantity": qty("5"), "description": "a drum taken"},
        producer,
    )
    adjustment = post(
        client,
        f"/api/v1/batches/{bid}/adjustments",
        {"quantity": qty("-2"), "reason": "stock count"},
        producer,
    )
    onward = post(
        client,
        "/api/v1/transfers",
        {
            "batch_id": received["batch_id"],
            "quantity": qty("100"),
            "to_organization_id": end_user.id,
        },
        distributor,
    )
    return {
        "start": start,
        "end": datetime.now(UTC) + timedelta(seconds=1),
        "batch": batch,
        "received": received,
        "loss": loss,
        "adjustment": adjustment,
        "onward": onward,
    }


def report(client, headers, organization_id, since, until, **extra):
    query = f"organization_id={organization_id}&since={moment(since)}&until={moment(until)}"
    for key, value in extra.items():
        query += f"&{key}={value}"
    return client.get(f"/api/v1/reports/mass-balance?{query}", headers=headers)


def flags_of(line):
    return {flag["code"]: flag["events"] for flag in line["flags"]}


def test_where_did_the_500_kg_go(client, auth, producer, story):
    answer = report(client, auth("regulator"), producer.id, story["start"], story["end"])
    assert answer.status_code == 200, answer.json
    (line,) = answer.json["lines"]
    assert line["cas_rn"] == "108-24-7"
    assert line["opening"] == qty("0")
    assert line["inflows"]["produced"] == qty("500")
    assert line["outflows"] == {
        "shipped": qty("200"),
        "consumed": qty("50"),
        "disposed": qty("10"),
        "exported": qty("40"),
        "lost": qty("5"),
        "transformed": qty("0"),
    }
    assert line["expected_closing"] == qty("195")
    assert line["actual_closing"] == qty("193")
    assert line["discrepancy"] == qty("-2")
    flags = flags_of(line)
    assert [e["id"] for e in flags["adjustment"]] == [story["adjustment"]["event"]["id"]]
    assert [e["id"] for e in flags["loss_or_theft"]] == [story["loss"]["event"]["id"]]
    # 98 % pure: the same figures in pure-substance kilograms.
    pure = line["pure_substance"]
    assert pure["inflows"]["produced"] == qty("490")
    assert pure["discrepancy"] == qty("-1.96")


def test_the_receiver_sees_its_short_receipt_and_the_stalled_shipment(
    client, auth, distributor, story
):
    answer = report(client, distributor.headers, distributor.id, story["start"], story["end"])
    assert answer.status_code == 200, answer.json
    (line,) = answer.json["lines"]
    assert line["inflows"]["received"] == qty("200")
    assert line["outflows"]["shipped"] == qty("100")
    assert line["expected_closing"] == qty("100")
    assert line["actual_closing"] == qty("99.5")
    assert line["discrepancy"] == qty("-0.5")
    flags = flags_of(line)
    assert len(flags["receipt_discrepancy"]) == 1
    assert flags["receipt_discrepancy"][0]["type"] == "received"
    assert flags["shipment_not_received"][0]["type"] == "shipped"


def test_opening_stock_comes_from_before_the_period(client, auth, producer, story):
    middle = datetime.now(UTC)
    register(client, producer, "7", lot_number="LATER")
    answer = report(client, auth("regulator"), producer.id, middle, middle + timedelta(hours=1))
    (line,) = answer.json["lines"]
    assert line["opening"] == qty("193")  # 93 kg left in the first batch, 100 kg split off
    assert line["inflows"]["produced"] == qty("7")
    assert line["expected_closing"] == line["actual_closing"] == qty("200")
    assert line["flags"] == []


def test_an_enterprise_sees_only_its_own_report(client, producer, distributor, story):
    other = report(client, producer.headers, distributor.id, story["start"], story["end"])
    assert other.status_code == 404


def test_bad_periods_are_refused(client, auth, producer):
    now = datetime.now(UTC)
    backwards = report(client, auth("regulator"), producer.id, now, now - timedelta(days=1))
    assert backwards.status_code == 422
    naive = client.get(
        f"/api/v1/reports/mass-balance?organization_id={producer.id}"
        "&since=2026-01-01T00:00:00&until=2027-01-01T00:00:00",
        headers=auth("regulator"),
    )
    assert naive.status_code == 422


def test_events_are_filtered_and_paged_in_ledger_order(client, auth, producer, distributor, story):
    regulator = auth("regulator")
    seen, cursor = [], None
    while True:
        url = "/api/v1/events?limit=4" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=regulator).json
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    indexes = [e["ledger_index"] for e in seen]
    assert indexes == list(range(len(indexes)))
    shipped = client.get("/api/v1/events?type=shipped", headers=regulator).json["items"]
    assert [e["type"] for e in shipped] == ["shipped", "shipped"]
    listed = client.get(
        "/api/v1/events?control_list=UN-1988-Table-I&limit=500", headers=regulator
    ).json["items"]
    assert len(listed) == len(seen)
    assert (
        client.get("/api/v1/events?control_list=CWC-Schedule-1", headers=regulator).json["items"]
        == []
    )
    later = client.get(f"/api/v1/events?since={moment(story['end'])}", headers=regulator).json[
        "items"
    ]
    assert later == []


def test_an_enterprise_sees_only_events_of_its_own_stock(client, producer, distributor, story):
    own = client.get("/api/v1/events?limit=500", headers=distributor.headers).json["items"]
    assert own and {e["organization_id"] for e in own} == {distributor.id}
    theirs = client.get(
        f"/api/v1/events?organization_id={producer.id}", headers=distributor.headers
    ).json["items"]
    assert theirs == []


def test_events_are_the_ledger_records(client, auth, story):
    """An event as listed hashes to its ledger leaf: an auditor can check it directly."""
    import base64

    import rfc8785

    from crypto import merkle

    regulator = auth("regulator")
    event = client.get("/api/v1/events?limit=1", headers=regulator).json["items"][0]
    entry = client.get("/api/v1/ledger/entries?start=0&end=1", headers=regulator).json
    assert base64.b64decode(entry["entries"][0]["leaf"]) == rfc8785.dumps(event)
    assert merkle.leaf_hash(rfc8785.dumps(event))


@pytest.mark.parametrize("cursor", ["!!", "YWJj", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTA"])
def test_foreign_cursors_are_refused(client, auth, cursor):
    response = client.get(f"/api/v1/events?cursor={cursor}", headers=auth("regulator"))
    assert response.status_code == 422


def test_report_quantities_are_decimal_strings(client, auth, producer, story):
    line = report(client, auth("regulator"), producer.id, story["start"], story["end"]).json[
        "lines"
    ][0]
    assert Decimal(line["actual_closing"]["value"]) == Decimal(193)


def test_exports_stream_every_matching_event(client, auth, story):
    import csv
    import io
    import json

    regulator = auth("regulator")
    listed = client.get("/api/v1/events?limit=500", headers=regulator).json["items"]
    ndjson = client.get("/api/v1/exports/events.ndjson", headers=regulator)
    assert ndjson.status_code == 200
    assert ndjson.mimetype == "application/x-ndjson"
    assert [json.loads(line) for line in ndjson.text.splitlines()] == listed
    table = client.get("/api/v1/exports/events.csv?type=shipped", headers=regulator)
    assert table.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["type"] for r in rows] == ["shipped", "shipped"]
    assert rows[0]["quantity_value"] == "200000" and rows[0]["quantity_unit"] == "g"
    assert json.loads(rows[0]["details"])["to_organization_id"]
    assert (
        client.get("/api/v1/exports/events.csv?type=nonsense", headers=regulator).status_code == 422
    )


def test_lookups_are_in_the_access_log(client, auth, producer, story):
    regulator = auth("regulator")
    inspector = auth("inspector")
    batch_id = story["batch"]["id"]
    assert client.get(f"/api/v1/batches/{batch_id}", headers=inspector).status_code == 200
    assert client.get(f"/api/v1/batches/{batch_id}/history", headers=regulator).status_code == 200
    report(client, regulator, producer.id, story["start"], story["end"])
    # A refused lookup is not a lookup.
    assert (
        client.get("/api/v1/batches/01JD0000000000000000000000", headers=inspector).status_code
        == 404
    )
    log = client.get("/api/v1/access-log", headers=regulator).json["items"]
    assert [(r["role"], r["action"], r["object_id"]) for r in log] == [
        ("inspector", "batch.read", batch_id),
        ("regulator", "batch.history", batch_id),
        ("regulator", "report.mass_balance", producer.id),
    ]
    about_batch = client.get(f"/api/v1/access-log?object_id={batch_id}", headers=regulator)
    assert len(about_batch.json["items"]) == 2
    assert client.get("/api/v1/access-log", headers=producer.headers).status_code == 403


def test_epcis_query_pages_validate_against_the_gs1_schema(client, auth, story):
    """The story's events through GET /api/v1/epcis/events, a few per page, following the
    Link header; every page is a valid EPCISQueryDocument and the eventIDs are the hashes."""
    import json
    from decimal import Decimal as D

    from registry.epcis.event_hash import event_hash
    from tests.registry.epcis.test_mapping import VALIDATOR

    regulator = auth("regulator")
    url, seen = "/api/v1/epcis/events?perPage=4", []
    while url:
        page = client.get(url, headers=regulator)
        assert page.status_code == 200, page.text
        assert page.mimetype == "application/ld+json"
        document = json.loads(page.text, parse_float=D)
        assert list(VALIDATOR.iter_errors(json.loads(page.text))) == []
        events = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        for event in events:
            without_id = {k: v for k, v in event.items() if k != "eventID"}
            assert event["eventID"] == event_hash(without_id, document["@context"])
        seen += events
        link = page.headers.get("Link")
        url = link[1 : link.index(">")].removeprefix("http://localhost") if link else None
    listed = client.get("/api/v1/events?limit=500", headers=regulator).json["items"]
    assert len(seen) == len(listed)
    shipping = client.get(
        "/api/v1/epcis/events?EQ_bizStep=shipping&eventType=ObjectEvent", headers=regulator
    )
    steps = json.loads(shipping.text)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert steps and {e["bizStep"] for e in steps} == {"shipping"}
    batch_uri = steps[0]["quantityList"][0]["epcClass"]
    matched = client.get(f"/api/v1/epcis/events?MATCH_anyEPCClass={batch_uri}", headers=regulator)
    assert json.loads(matched.text)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    stolen = client.get("/api/v1/epcis/events?EQ_disposition=stolen", headers=regulator)
    found = json.loads(stolen.text)["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    assert [e["disposition"] for e in found] == ["stolen"]


def test_history_svg_draws_the_genealogy(client, auth, story):
    import xml.etree.ElementTree as ET

    regulator = auth("regulator")
    batch_id = story["batch"]["id"]
    response = client.get(f"/api/v1/batches/{batch_id}/history.svg", headers=regulator)
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    root = ET.fromstring(response.data)  # noqa: S314 - our own output
    text = "".join(root.itertext())
    assert "AA-2026-001" in text and "Distributor" in text
    assert "<script" not in response.text


@pytest.mark.parametrize(
    "query", ["cas_rn=", "cas_rn=108-24-8", "since=2001-01-01T00:00:00Z&until=2000-01-01T00:00:00Z"]
)
def test_bad_export_filters_are_refused_before_streaming(client, auth, query):
    for fmt in ("ndjson", "csv"):
        response = client.get(f"/api/v1/exports/events.{fmt}?{query}", headers=auth("regulator"))
        assert response.status_code == 422
