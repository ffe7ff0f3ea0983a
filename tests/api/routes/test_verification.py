"""Signed identifiers, the JWKS, verification online and offline, and printed labels."""

from __future__ import annotations

import io

import jwt
import pytest
import zxingcpp
from PIL import Image

from api.render.label import MAX_QR_VERSION, qr_code
from registry.signing import signer
from tests.api.batch_helpers import make_party, register


@pytest.fixture
def producer(app, auth):
    return make_party(app, auth, "Producer", 0)


def jwks(client):
    return client.get("/.well-known/jwks.json").json


def test_registration_issues_tokens_for_the_batch_and_each_container(client, producer):
    batch = register(client, producer, "25", containers=2)
    assert batch["identifier"]["url"] == "http://127.0.0.1:8000/v/" + batch["identifier"]["token"]
    tokens = [batch["identifier"]["token"]] + [c["token"] for c in batch["containers"]]
    assert len(set(tokens)) == 3
    for container in batch["containers"]:
        result = client.post("/api/v1/verify", json={"token": container["url"]}).json
        assert result["verified"] is True
        assert result["container"] == {"serial": container["serial"]}


def test_verify_answers_with_status_holder_and_a_signed_result(client, auth, producer):
    batch = register(client, producer, "25")
    result = client.post("/api/v1/verify", json={"token": batch["identifier"]["token"]}).json
    assert result["verified"] is True
    assert result["batch"]["status"] == "active"
    assert result["batch"]["holder"] == {"name": "Producer", "enterprise_code": "0300588569"}
    header = jwt.get_unverified_header(result["signed_result"])
    # Explicitly typed (RFC 8725 3.11): a verification record, not a generic JWT.
    assert header["typ"] == "vnd.chemtrace.verification+jwt"
    assert header["alg"] == "EdDSA"
    key = next(k for k in jwks(client)["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(result["signed_result"], jwt.PyJWK(key).key, algorithms=["EdDSA"])
    assert claims == {k: v for k, v in result.items() if k != "signed_result"}


def test_recalled_batch_is_shown_as_recalled(client, auth, producer):
    batch = register(client, producer, "25")
    client.post(
        f"/api/v1/batches/{batch['id']}/recall",
        json={"reason": "impurity"},
        headers=auth("regulator"),
    )
    page = client.get(f"/v/{batch['identifier']['token']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "GENUINE LABEL" in html and "RECALLED" in html
    assert "<script" not in html
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    as_json = client.get(
        f"/v/{batch['identifier']['token']}", headers={"Accept": "application/json"}
    ).json
    assert as_json["batch"]["status"] == "recalled"
    typ = jwt.get_unverified_header(as_json["signed_result"])["typ"]
    assert typ == "vnd.chemtrace.verification+jwt"


def test_forged_label_gets_a_reason_not_a_500(client, producer):
    batch = register(client, producer, "25")
    token = batch["identifier"]["token"]
    forged = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    result = client.post("/api/v1/verify", json={"token": forged}).json
    assert result["verified"] is False and result["failure_reason"] in {
        "bad_signature",
        "not_cbor",
        "wrong_structure",
        "trailing_bytes",
        "bad_base32",
    }
    page = client.get(f"/v/{forged}").get_data(as_text=True)
    assert "NOT A GENUINE LABEL" in page


def test_genuine_token_for_a_batch_not_here(app, client):
    with app.app_context():
        token, _key = signer().sign("01NOSUCHBATCH0000000000000")
    result = client.post("/api/v1/verify", json={"token": token}).json
    assert result == {**result, "verified": False, "failure_reason": "unknown_batch"}


def test_jwks_is_cacheable_and_lists_next_and_current(client):
    response = client.get("/.well-known/jwks.json")
    assert response.headers["ETag"] and "max-age" in response.headers["Cache-Control"]
    assert {k["status"] for k in response.json["keys"]} == {"current", "next"}
    again = client.get(
        "/.well-known/jwks.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304


def test_rotation_keeps_old_labels_verifying(app, client, producer):
    old = register(client, producer, "1")
    with app.app_context():
        signer().keys.rotate()
    new = register(client, producer, "1")
    for batch in (old, new):
        assert client.post("/api/v1/verify", json={"token": batch["identifier"]["token"]}).json[
            "verified"
        ]
    assert {k["status"] for k in jwks(client)["keys"]} == {"current", "next", "retired"}


def test_label_png_decodes_to_the_verification_url(client, producer):
    batch = register(client, producer, "25", containers=1)
    response = client.get(f"/api/v1/batches/{batch['id']}/label.png", headers=producer.headers)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert "max-age=86400" in response.headers["Cache-Control"]  # revalidated daily
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert [d.text for d in decoded] == [batch["identifier"]["url"]]
    cached = client.get(
        f"/api/v1/batches/{batch['id']}/label.png",
        headers={**producer.headers, "If-None-Match": response.headers["ETag"]},
    )
    assert cached.status_code == 304
    svg = client.get(
        f"/api/v1/batches/{batch['id']}/label.svg?container=0001", headers=producer.headers
    )
    assert svg.status_code == 200 and b"Acetic anhydride" in svg.data
    sheet = client.get(f"/api/v1/batches/{batch['id']}/labels.svg", headers=producer.headers)
    assert sheet.status_code == 200
    missing = client.get(
        f"/api/v1/batches/{batch['id']}/label.svg?container=9999", headers=producer.headers
    )
    assert missing.status_code == 404


def test_qr_fits_version_10_at_level_m_for_a_32_character_public_url(app, client, producer):
    batch = register(client, producer, "25", containers=1)
    public_url = "https://chemtrace.example.gov.vn"  # 32 characters
    assert len(public_url) == 32
    for token in [batch["identifier"]["token"], batch["containers"][0]["token"]]:
        code = qr_code(f"{public_url}/v/", token)
        assert code.version <= MAX_QR_VERSION, code.version


@pytest.mark.parametrize("body", [{"token": ""}, {"token": "x" * 1001}, {"token": "!!!"}])
def test_bad_tokens_are_answered_not_failed(client, body):
    response = client.post("/api/v1/verify", json=body)
    assert response.status_code == 200
    assert response.json["verified"] is False and response.json["failure_reason"]
