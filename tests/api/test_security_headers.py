"""Security headers: strict CSP on every page, nosniff everywhere, no CORS."""

from __future__ import annotations

from api.headers import PAGE_POLICY
from tests.api.batch_helpers import register


def test_pages_get_a_policy_with_no_script_and_no_framing(client, producer, auth):
    batch = register(client, producer)
    pages = [
        client.get("/docs"),
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
