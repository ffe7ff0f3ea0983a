"""The substance catalogue over HTTP."""

from __future__ import annotations

import pytest


@pytest.fixture
def inspector(auth):
    return auth("inspector")


def test_find_acetic_anhydride_by_cas_rn(client, inspector):
    response = client.get("/api/v1/substances/108-24-7", headers=inspector)
    assert response.status_code == 200
    body = response.json
    assert body["name"] == "Acetic anhydride"
    assert {c["code"] for c in body["control_lists"]} >= {"UN-1988-Table-I"}
    assert body["ghs"] == {"pictograms": [], "hazard_statements": []}

    search = client.get("/api/v1/substances?cas_rn=108-24-7", headers=inspector).json
    assert [s["cas_rn"] for s in search["items"]] == ["108-24-7"]


def test_find_by_control_list_pages_with_a_cursor(client, inspector):
    first = client.get(
        "/api/v1/substances?control_list=UN-1988-Table-I&limit=10", headers=inspector
    ).json
    assert len(first["items"]) == 10 and first["next_cursor"]
    names = [s["name"] for s in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(
            f"/api/v1/substances?control_list=UN-1988-Table-I&limit=10&cursor={cursor}",
            headers=inspector,
        ).json
        names += [s["name"] for s in page["items"]]
        cursor = page["next_cursor"]
    assert "Acetic anhydride" in names
    assert len(names) == len(set(names))
    for item in first["items"]:
        assert "UN-1988-Table-I" in {c["code"] for c in item["control_lists"]}


def test_search_by_name_fragment(client, inspector):
    page = client.get("/api/v1/substances?q=ephedr", headers=inspector).json
    assert {"Ephedrine"} <= {s["name"] for s in page["items"]}


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("cas_rn=108-24-8", "cas_invalid"),
        ("cas_rn=CAS%20108-24-7", "cas_invalid"),
        ("control_list=NOPE", "unknown_control_list"),
        ("limit=0", "invalid_limit"),
        ("limit=501", "validation_failed"),
        ("limit=ten", "validation_failed"),
        ("cursor=!!!", "invalid_cursor"),
        ("colour=red", "validation_failed"),
    ],
)
def test_bad_search_parameters(client, inspector, query, code):
    response = client.get(f"/api/v1/substances?{query}", headers=inspector)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code or (
        code == "validation_failed" and response.json["code"] == "invalid_limit"
    )


def test_unknown_and_malformed_cas_rn_lookups(client, inspector):
    missing = client.get("/api/v1/substances/7732-18-5", headers=inspector)
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    malformed = client.get("/api/v1/substances/7732-18-4", headers=inspector)
    assert malformed.status_code == 422 and malformed.json["code"] == "cas_invalid"


def test_regulator_adds_a_substance_and_an_enterprise_may_not(client, auth, org_factory):
    body = {
        "cas_rn": "7664-93-9",
        "name": "Sulphuric acid",
        "un_number": "1830",
        "ghs": {"pictograms": ["GHS05"], "hazard_statements": ["H314"]},
        "control_lists": ["UN-1988-Table-II"],
    }
    enterprise = auth("enterprise", org_factory())
    refused = client.post("/api/v1/substances", json=body, headers=enterprise)
    assert refused.status_code == 403
    regulator = auth("regulator")
    # The seed list already holds sulphuric acid.
    duplicate = client.post("/api/v1/substances", json=body, headers=regulator)
    assert duplicate.status_code == 409 and duplicate.json["code"] == "substance_exists"
    created = client.post(
        "/api/v1/substances",
        json={**body, "cas_rn": "7732-18-5", "name": "Water", "control_lists": []},
        headers=regulator,
    )
    assert created.status_code == 201, created.json
    assert created.json["ghs"]["pictograms"] == ["GHS05"]
    assert client.get("/api/v1/substances/7732-18-5", headers=enterprise).status_code == 200


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"cas_rn": "7732-18-4"}, "cas_invalid", "cas_rn"),
        ({"un_number": "UN1830"}, "un_number_invalid", "un_number"),
        ({"ghs": {"pictograms": ["GHS11"]}}, "ghs_invalid", "ghs.pictograms.0"),
        ({"ghs": {"hazard_statements": ["H999"]}}, "ghs_invalid", "ghs.hazard_statements.0"),
        ({"control_lists": ["NOPE"]}, "unknown_control_list", "control_lists.0"),
        ({"name": 12}, "validation_failed", "name"),
        ({"colour": "red"}, "validation_failed", "colour"),
    ],
)
def test_bad_substances_are_refused_and_not_stored(client, auth, change, code, field):
    regulator = auth("regulator")
    body = {"cas_rn": "7732-18-5", "name": "Water", **change}
    response = client.post("/api/v1/substances", json=body, headers=regulator)
    assert response.status_code == 422
    assert response.json["code"] == code
    assert field in {e["field"] for e in response.json["errors"]}
    assert client.get("/api/v1/substances/7732-18-5", headers=regulator).status_code == 404


def test_control_lists_are_listed_and_extended(client, auth):
    regulator = auth("regulator")
    lists = client.get("/api/v1/control-lists", headers=regulator).json["items"]
    assert {"UN-1988-Table-I", "CWC-Schedule-1", "VN-ND24-AnnexIII-Group1-A"} <= {
        c["code"] for c in lists
    }
    created = client.post(
        "/api/v1/control-lists",
        json={"code": "VN-ND24-AnnexIII-Group3", "jurisdiction": "VN", "name": "Group 3"},
        headers=regulator,
    )
    assert created.status_code == 201
    again = client.post(
        "/api/v1/control-lists",
        json={"code": "VN-ND24-AnnexIII-Group3", "jurisdiction": "VN", "name": "Group 3"},
        headers=regulator,
    )
    assert again.status_code == 409
