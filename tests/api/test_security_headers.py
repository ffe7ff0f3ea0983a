"""Security headers: strict CSP on every page, nosniff everywhere, CORS only where configured."""

from __future__ import annotations

from flask.testing import FlaskClient

from api.headers import PAGE_POLICY
from tests.api.batch_helpers import register


def test_pages_get_a_policy_with_no_script_and_no_framing(client, producer, auth):
    """Every page but /docs, whose viewer runs script from this origin (tests/api/routes/
    test_docs.py checks its policy)."""
    batch = register(client, producer)
    pages = [
        client.get(f"/v/{batch['identifier']['token']}", headers={"Accept": "text/html"}),
        client.get("/v/FORGED", headers={"Accept": "text/html"}),
        client.get(f"/api/v1/batches/{batch['id']}/history.svg", headers=auth("regulator")),
        client.get(f"/api/v1/batches/{batch['id']}/label.svg", headers=producer.headers),
    ]
    for page in pages:
        assert page.status_code == 200, page.request.path
        policy = page.headers["Content-Security-Policy"]
        assert policy == PAGE_POLICY
        assert "script-src" not in policy and "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert page.headers["X-Frame-Options"] == "DENY"
        assert "<script" not in page.get_data(as_text=True)


def test_every_answer_is_nosniff_and_sends_no_cors(client, producer):
    answers = [
        client.get("/healthz"),
        client.get("/api/v1/substances", headers=producer.headers),
        client.get("/api/v1/substances"),  # a 401 problem
        client.get("/.well-known/jwks.json", headers={"Origin": "https://evil.example"}),
    ]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_only_for_configured_origins_on_public_routes(another_app, producer):
    service = another_app(CORS_ORIGINS=["https://app.example.vn"])
    client = service.test_client()
    batch = register(client, producer)
    token = {"token": batch["identifier"]["token"]}
    allowed, other = {"Origin": "https://app.example.vn"}, {"Origin": "https://evil.example"}

    verified = client.post("/api/v1/verify", json=token, headers=allowed)
    assert verified.headers["Access-Control-Allow-Origin"] == "https://app.example.vn"
    assert "Access-Control-Allow-Credentials" not in verified.headers
    jwks = client.get("/.well-known/jwks.json", headers=allowed)
    assert jwks.headers["Access-Control-Allow-Origin"] == "https://app.example.vn"
    # A preflight is not in the contract (OPTIONS is not an operation): a plain client.
    preflight = FlaskClient(service, service.response_class).options(
        "/api/v1/verify", headers={**allowed, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.vn"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]

    # Another origin, or a route that needs credentials: nothing is readable cross-origin.
    assert (
        "Access-Control-Allow-Origin"
        not in client.post("/api/v1/verify", json=token, headers=other).headers
    )
    private = client.get("/api/v1/batches", headers={**producer.headers, **allowed})
    assert private.status_code == 200
    assert "Access-Control-Allow-Origin" not in private.headers
