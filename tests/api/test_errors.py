"""Every error is RFC 9457 problem+json with a stable code, and changes nothing."""

from __future__ import annotations

import pytest

from registry.models import Organization


@pytest.fixture
def admin(auth):
    return auth("admin")


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["status"] == status
    assert body["code"] == code
    # Under the EPCIS root, the EPCIS REST bindings' exception names the kind of problem.
    epcis = response.request.path.startswith("/api/v1/epcis")
    assert (
        body["type"].startswith("epcisException:")
        if epcis
        else (body["type"] == f"urn:chemtrace:problem:{code}")
    )
    assert body["title"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def count_organizations(app) -> int:
    with app.app_context():
        return Organization.query.count()


def test_malformed_json_is_400(app, client, admin):
    response = client.post(
        "/api/v1/organizations", data="{not json", content_type="application/json", headers=admin
    )
    assert_problem(response, 400, "malformed_json")
    assert count_organizations(app) == 0


def test_json_that_is_not_an_object_is_400(client, admin):
    response = client.post("/api/v1/organizations", json=["a"], headers=admin)
    assert_problem(response, 400, "body_not_object")


def test_wrong_media_type_is_415(client, admin):
    response = client.post(
        "/api/v1/organizations", data="name=x", content_type="text/plain", headers=admin
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(app, client, admin):
    huge = '{"name": "' + "x" * (5 * 1024 * 1024) + '"}'
    response = client.post(
        "/api/v1/organizations", data=huge, content_type="application/json", headers=admin
    )
    assert_problem(response, 413, "body_too_large")
    assert count_organizations(app) == 0


def test_missing_wrong_type_and_unknown_fields_are_listed(app, client, admin):
    response = client.post(
        "/api/v1/organizations",
        json={"enterprise_code": 300588569, "colour": "red"},
        headers=admin,
    )
    body = assert_problem(response, 422, "validation_failed")
    by_field = {e["field"]: e["code"] for e in body["errors"]}
    assert by_field == {
        "name": "missing_field",
        "enterprise_code": "invalid_field",
        "colour": "unknown_field",
    }
    assert count_organizations(app) == 0


def test_field_error_codes_do_not_depend_on_the_message_text():
    """A schema may word its messages as it likes: the codes stay the same."""
    from marshmallow import ValidationError, fields

    from api.errors import _flatten
    from api.schemas.common import StrictSchema

    class Reworded(StrictSchema):
        name = fields.String(required=True, error_messages={"required": "Give a name."})
        size = fields.Integer(error_messages={"invalid": "Missing data for required field."})

    with pytest.raises(ValidationError) as raised:
        Reworded().load({"size": "big", "colour": "red"})
    assert {e.field: e.code for e in _flatten(raised.value.messages)} == {
        "name": "missing_field",
        "size": "invalid_field",
        "colour": "unknown_field",
    }


def test_no_credential_is_401_with_a_challenge(client):
    response = client.get("/api/v1/substances")
    assert_problem(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ctk_nope", "Bearer ctk_" + "A" * 26 + "_x"],
)
def test_bad_credentials_are_401(client, header):
    response = client.get("/api/v1/substances", headers={"Authorization": header})
    assert_problem(response, 401, "unauthenticated")


def test_revoked_key_is_refused(client, auth):
    admin = auth("admin")
    created = client.post("/api/v1/api-keys", json={"role": "regulator"}, headers=admin).json
    regulator = {"Authorization": f"Bearer {created['key']}"}
    assert client.get("/api/v1/substances", headers=regulator).status_code == 200
    client.post(f"/api/v1/api-keys/{created['id']}/revoke", headers=admin)
    assert_problem(client.get("/api/v1/substances", headers=regulator), 401, "unauthenticated")


def test_wrong_role_is_403(client, auth):
    response = client.post(
        "/api/v1/organizations",
        json={"name": "x", "enterprise_code": "0300588569"},
        headers=auth("inspector"),
    )
    assert_problem(response, 403, "forbidden")


def test_unknown_route_is_404(raw_client):
    assert_problem(raw_client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_and_keeps_allow(raw_client):
    response = raw_client.delete("/api/v1/organizations")
    assert_problem(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_conflict_is_409(client, admin):
    body = {"name": "x", "enterprise_code": "0300588569"}
    client.post("/api/v1/organizations", json=body, headers=admin)
    assert_problem(
        client.post("/api/v1/organizations", json=body, headers=admin), 409, "organization_exists"
    )


def test_unexpected_failure_is_500_and_leaks_nothing(app, raw_client, caplog):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret SQL: SELECT * FROM api_keys")

    response = raw_client.get("/boom")
    body = assert_problem(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body["detail"] == "The service failed; the error has been logged."


def test_callers_request_id_is_echoed_and_unsafe_ones_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id; drop"})
    assert replaced.headers["X-Request-ID"] != "bad id; drop"
    assert replaced.headers["X-Request-ID"].isalnum()


def test_nul_characters_are_refused_everywhere(client, auth):
    """PostgreSQL cannot store NUL; no field needs it. Refused as a 422, never a 500."""
    regulator = auth("regulator")
    query = client.get(
        "/api/v1/reports/mass-balance?organization_id=a%00b"
        "&since=2020-01-01T00:00:00Z&until=2021-01-01T00:00:00Z",
        headers=regulator,
    )
    assert query.status_code == 422
    assert query.json["errors"][0]["code"] == "invalid_character"
    body = client.post(
        "/api/v1/organizations",
        json={"name": "Bad\u0000Name", "enterprise_code": "0100109106"},
        headers=auth("admin"),
    )
    assert body.status_code == 422
    assert body.json["errors"][0]["field"] == "name"
