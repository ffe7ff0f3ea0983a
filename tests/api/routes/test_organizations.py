"""Organisations, facilities and licences over HTTP."""

from __future__ import annotations

import pytest

from registry.models import Organization


@pytest.fixture
def admin(auth):
    return auth("admin")


def create_org(client, headers, **overrides):
    body = {"name": "Hoa Chat Viet JSC", "enterprise_code": "0300588569", **overrides}
    return client.post("/api/v1/organizations", json=body, headers=headers)


def test_admin_registers_an_organization_with_facility_and_licence(client, admin):
    response = create_org(client, admin, address="12 Le Loi, Ho Chi Minh City")
    assert response.status_code == 201
    org = response.json
    assert org["enterprise_code"] == "0300588569"
    assert org["facilities"] == [] and org["licences"] == []

    facility = client.post(
        f"/api/v1/organizations/{org['id']}/facilities",
        json={"name": "Warehouse 1", "address": "Lot 4, Tan Thuan EPZ", "gln": "8934567000000"},
        headers=admin,
    )
    assert facility.status_code == 201, facility.json
    licence = client.post(
        f"/api/v1/organizations/{org['id']}/licences",
        json={
            "kind": "distribution",
            "number": "GP-2026/123",
            "valid_from": "2026-01-01",
            "valid_until": "2027-12-31",
            "covers": ["UN-1988-Table-I", "67-64-1"],
        },
        headers=admin,
    )
    assert licence.status_code == 201, licence.json
    assert licence.json["covers"] == ["UN-1988-Table-I", "67-64-1"]

    fetched = client.get(f"/api/v1/organizations/{org['id']}", headers=admin).json
    assert [f["name"] for f in fetched["facilities"]] == ["Warehouse 1"]
    assert [lic["number"] for lic in fetched["licences"]] == ["GP-2026/123"]


def test_branch_code_is_stored_compact(client, admin):
    response = create_org(client, admin, enterprise_code="0100109106-001")
    assert response.status_code == 201
    assert response.json["enterprise_code"] == "0100109106001"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("0300588568", "enterprise_code_invalid"),  # wrong check digit
        ("0100109106-000", "enterprise_code_invalid"),  # branch 000 does not exist
        ("030058856", "validation_failed"),  # 9 digits: off the contract's pattern
        ("03005885 69", "validation_failed"),
    ],
)
def test_bad_enterprise_codes_are_refused_and_nothing_is_stored(
    app, raw_client, admin, code, expected
):
    response = create_org(raw_client, admin, enterprise_code=code)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] in {expected, "enterprise_code_invalid"}
    assert response.json["errors"][0]["field"] == "enterprise_code"
    with app.app_context():
        assert Organization.query.count() == 0


def test_duplicate_enterprise_code_conflicts(client, admin):
    assert create_org(client, admin).status_code == 201
    response = create_org(client, admin, name="Other name")
    assert response.status_code == 409
    assert response.json["code"] == "organization_exists"


def test_licence_with_unknown_control_list_or_bad_cas_is_refused(client, admin, org_factory):
    org_id = org_factory()
    base = {
        "kind": "import",
        "number": "N1",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    }
    unknown = client.post(
        f"/api/v1/organizations/{org_id}/licences",
        json={**base, "covers": ["NOT-A-LIST"]},
        headers=admin,
    )
    assert unknown.status_code == 422
    assert unknown.json["code"] == "unknown_control_list"
    assert unknown.json["errors"][0]["field"] == "covers.0"
    bad_cas = client.post(
        f"/api/v1/organizations/{org_id}/licences",
        json={**base, "covers": ["UN-1988-Table-II", "108-24-8"]},
        headers=admin,
    )
    assert bad_cas.status_code == 422
    assert bad_cas.json["code"] == "cas_invalid"
    backwards = client.post(
        f"/api/v1/organizations/{org_id}/licences",
        json={**base, "valid_until": "2025-01-01", "covers": ["UN-1988-Table-II"]},
        headers=admin,
    )
    assert backwards.status_code == 422
    assert client.get(f"/api/v1/organizations/{org_id}", headers=admin).json["licences"] == []


def test_enterprise_sees_only_its_own_organization(client, auth, org_factory):
    own, other = org_factory("Own"), org_factory("Other")
    headers = auth("enterprise", own)
    assert client.get(f"/api/v1/organizations/{own}", headers=headers).status_code == 200
    hidden = client.get(f"/api/v1/organizations/{other}", headers=headers)
    assert hidden.status_code == 404
    assert hidden.json["code"] == "not_found"
    facility = client.post(
        f"/api/v1/organizations/{other}/facilities",
        json={"name": "x", "address": "y"},
        headers=headers,
    )
    assert facility.status_code == 404


def test_enterprise_adds_its_own_facility_but_not_a_licence(client, auth, org_factory):
    own = org_factory()
    headers = auth("enterprise", own)
    facility = client.post(
        f"/api/v1/organizations/{own}/facilities",
        json={"name": "Plant", "address": "Bien Hoa"},
        headers=headers,
    )
    assert facility.status_code == 201
    licence = client.post(
        f"/api/v1/organizations/{own}/licences",
        json={
            "kind": "use",
            "number": "n",
            "valid_from": "2026-01-01",
            "valid_until": "2026-02-01",
            "covers": ["EU-cat-1"],
        },
        headers=headers,
    )
    assert licence.status_code == 403
    assert licence.json["code"] == "forbidden"


def test_bad_gln_is_refused(client, admin, org_factory):
    org_id = org_factory()
    response = client.post(
        f"/api/v1/organizations/{org_id}/facilities",
        json={"name": "Plant", "address": "Bien Hoa", "gln": "8934567000003"},
        headers=admin,
    )
    assert response.status_code == 422
    assert response.json["code"] == "gln_invalid"


def test_list_organizations_by_enterprise_code(client, admin, org_factory):
    org_factory("A")
    org_factory("B")
    page = client.get("/api/v1/organizations?enterprise_code=0101248141", headers=admin).json
    assert [o["name"] for o in page["items"]] == ["B"]
    assert page["next_cursor"] is None
