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
    assert body["names"] == {"en": "Acetic anhydride", "vi": "Acetic anhydride (AA)"}
    ghs = body["ghs"]
    assert ghs["pictograms"] == ["GHS02", "GHS05", "GHS06"]
    assert ghs["signal_word"] == "danger"
    assert ghs["hazard_statements"] == ["H226", "H302", "H314", "H330"]
    assert ghs["precautionary_statements"] == []
    assert "607-008-00-9" in ghs["source"]
    assert ghs["texts"]["hazard_statements"]["H330"] == "Fatal if inhaled"

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


def test_codes_stay_and_texts_follow_the_language(client, inspector):
    english = client.get("/api/v1/substances/108-24-7", headers=inspector)
    vietnamese = client.get("/api/v1/substances/108-24-7?lang=vi", headers=inspector)
    assert vietnamese.headers["Content-Language"] == "vi"
    assert "Accept-Language" in vietnamese.headers["Vary"]
    en, vi = english.json["ghs"], vietnamese.json["ghs"]
    for key in ("pictograms", "signal_word", "hazard_statements", "source"):
        assert en[key] == vi[key]
    assert vi["texts"]["signal_word"] == "Nguy hiểm"
    assert vi["texts"]["pictograms"]["GHS06"] == "Đầu lâu xương chéo"
    assert vi["texts"]["hazard_statements"]["H314"] == "Gây bỏng da nghiêm trọng và tổn thương mắt"
    by_header = client.get(
        "/api/v1/substances/108-24-7", headers={**inspector, "Accept-Language": "vi"}
    )
    assert by_header.json["ghs"]["texts"] == vi["texts"]


def test_an_unclassified_substance_has_no_classification(client, inspector):
    body = client.get("/api/v1/substances/4468-48-8", headers=inspector).json  # APAAN
    assert body["ghs"] == {
        "pictograms": [],
        "signal_word": None,
        "hazard_statements": [],
        "precautionary_statements": [],
        "source": None,
        "texts": {
            "pictograms": {},
            "signal_word": None,
            "hazard_statements": {},
            "precautionary_statements": {},
        },
    }


ACETONE = "/api/v1/substances/67-64-1"
CLASSIFICATION = {
    "pictograms": ["GHS02", "GHS07", "GHS02"],
    "signal_word": "danger",
    "hazard_statements": ["H225", "H319", "H336", "H350i", "H300+H310+H330"],
    "precautionary_statements": ["P210", "P305+P351+P338"],
    "source": "Regulator's decision 12/2026",
}


def _access_log(client, regulator, action):
    items = client.get(f"/api/v1/access-log?action={action}", headers=regulator).json["items"]
    return [(i["action"], i["object_id"]) for i in items]


def test_a_regulator_sets_the_classification_and_it_is_audited(client, auth):
    regulator = auth("regulator")
    response = client.put(
        f"{ACETONE}/classification?lang=vi", json=CLASSIFICATION, headers=regulator
    )
    assert response.status_code == 200, response.json
    ghs = response.json["ghs"]
    assert ghs["pictograms"] == ["GHS02", "GHS07"]  # each code once
    assert ghs["hazard_statements"] == CLASSIFICATION["hazard_statements"]
    assert ghs["precautionary_statements"] == ["P210", "P305+P351+P338"]
    assert ghs["source"] == "Regulator's decision 12/2026"
    assert ghs["texts"]["hazard_statements"]["H350i"] == "Có thể gây ung thư"
    assert ghs["texts"]["precautionary_statements"]["P210"].startswith("Tránh xa nguồn nhiệt")
    assert client.get(ACETONE, headers=regulator).json["ghs"]["source"] == ghs["source"]
    assert _access_log(client, regulator, "substance.classification") == [
        ("substance.classification", "67-64-1")
    ]

    cleared = client.put(
        f"{ACETONE}/classification",
        json={"signal_word": None, "source": "withdrawn pending review"},
        headers=regulator,
    )
    assert cleared.status_code == 200
    assert cleared.json["ghs"]["pictograms"] == [] and cleared.json["ghs"]["signal_word"] is None


def test_an_admin_sets_names_and_the_english_name_stays_name(client, auth):
    admin = auth("admin")
    response = client.put(
        f"{ACETONE}/names",
        json={"names": {"vi": "Axeton", "zh-Hant": "丙酮", "en": "Acetone (propan-2-one)"}},
        headers=admin,
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["name"] == "Acetone (propan-2-one)"
    assert body["names"] == {"en": "Acetone (propan-2-one)", "vi": "Axeton", "zh-Hant": "丙酮"}
    replaced = client.put(f"{ACETONE}/names", json={"names": {"vi": "Aceton"}}, headers=admin)
    assert replaced.json["names"] == {"en": "Acetone (propan-2-one)", "vi": "Aceton"}
    assert _access_log(client, auth("regulator"), "substance.names") == [
        ("substance.names", "67-64-1"),
        ("substance.names", "67-64-1"),
    ]


@pytest.mark.parametrize("role", ["inspector", "enterprise"])
def test_inspectors_and_enterprises_may_not_change_the_catalogue(client, auth, org_factory, role):
    headers = auth(role, org_factory() if role == "enterprise" else None)
    before = client.get(ACETONE, headers=headers).json
    names = client.put(f"{ACETONE}/names", json={"names": {"vi": "X"}}, headers=headers)
    ghs = client.put(f"{ACETONE}/classification", json=CLASSIFICATION, headers=headers)
    assert names.status_code == ghs.status_code == 403
    assert names.json["code"] == ghs.json["code"] == "forbidden"
    assert client.get(ACETONE, headers=headers).json == before


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"pictograms": ["GHS10"]}, "ghs_invalid", "ghs.pictograms.0"),
        ({"signal_word": "caution"}, "ghs_invalid", "ghs.signal_word"),
        ({"hazard_statements": ["H225", "H999"]}, "ghs_invalid", "ghs.hazard_statements.1"),
        ({"hazard_statements": ["EUH014"]}, "ghs_invalid", "ghs.hazard_statements.0"),
        ({"hazard_statements": ["H314x"]}, "ghs_invalid", "ghs.hazard_statements.0"),
        ({"precautionary_statements": ["P999"]}, "ghs_invalid", "ghs.precautionary_statements.0"),
        # A combination the GHS does not list is not a code.
        ({"precautionary_statements": ["P210+P211"]}, "ghs_invalid", None),
        ({"source": "   "}, "validation_failed", "source"),
        ({"source": "x" * 301}, "validation_failed", "source"),
        ({"colour": "red"}, "validation_failed", "colour"),
        ({"hazard_statements": "H225"}, "validation_failed", "hazard_statements"),
    ],
)
def test_bad_classifications_are_refused_and_change_nothing(client, auth, change, code, field):
    regulator = auth("regulator")
    before = client.get(ACETONE, headers=regulator).json
    response = client.put(
        f"{ACETONE}/classification", json={**CLASSIFICATION, **change}, headers=regulator
    )
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code
    if field:
        assert field in {e["field"] for e in response.json["errors"]}
    assert client.get(ACETONE, headers=regulator).json == before
    assert _access_log(client, regulator, "substance.classification") == []


def test_a_classification_without_its_source_or_signal_word_field_is_refused(client, auth):
    regulator = auth("regulator")
    for missing in ("source", "signal_word"):
        body = {k: v for k, v in CLASSIFICATION.items() if k != missing}
        response = client.put(f"{ACETONE}/classification", json=body, headers=regulator)
        assert response.status_code == 422 and response.json["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("names", "code"),
    [
        ({"Vietnamese": "Axeton"}, "language_tag_invalid"),
        ({"vi_VN": "Axeton"}, "language_tag_invalid"),
        ({"vi": "   "}, "validation_failed"),
        ({"vi": "x" * 301}, "validation_failed"),
        ({f"x{i:02d}": "n" for i in range(21)}, "validation_failed"),
        ({"vi": 12}, "validation_failed"),
    ],
)
def test_bad_names_are_refused_and_change_nothing(client, auth, names, code):
    regulator = auth("regulator")
    before = client.get(ACETONE, headers=regulator).json
    response = client.put(f"{ACETONE}/names", json={"names": names}, headers=regulator)
    assert response.status_code == 422, response.json
    assert response.json["code"] == code
    assert client.get(ACETONE, headers=regulator).json == before


def test_writes_to_unknown_or_malformed_substances(client, auth):
    regulator = auth("regulator")
    body = {"names": {"vi": "Nước"}}
    missing = client.put("/api/v1/substances/7732-18-5/names", json=body, headers=regulator)
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    malformed = client.put(
        "/api/v1/substances/7732-18-4/classification", json=CLASSIFICATION, headers=regulator
    )
    assert malformed.status_code == 422 and malformed.json["code"] == "cas_invalid"


def test_registering_takes_names_and_a_full_classification(client, auth):
    regulator = auth("regulator")
    created = client.post(
        "/api/v1/substances",
        json={
            "cas_rn": "7732-18-5",
            "name": "Water",
            "names": {"vi": "Nước"},
            "ghs": {**CLASSIFICATION, "pictograms": ["GHS07"]},
        },
        headers=regulator,
    )
    assert created.status_code == 201, created.json
    assert created.json["names"] == {"en": "Water", "vi": "Nước"}
    assert created.json["ghs"]["signal_word"] == "danger"
    assert created.json["ghs"]["precautionary_statements"] == ["P210", "P305+P351+P338"]
    refused = client.post(
        "/api/v1/substances",
        json={"cas_rn": "7732-18-5", "name": "Water", "names": {"Viet": "Nước"}},
        headers=regulator,
    )
    assert refused.status_code == 422 and refused.json["code"] == "language_tag_invalid"
