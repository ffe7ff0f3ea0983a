"""Reading JSON bodies: the quick NUL check never lets a NUL through."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.bodies import json_object
from api.errors import ApiProblem

# Any JSON value, its text drawn from every code point (NUL and surrogates' neighbours too).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


# The app is only a place to make request contexts in; no test input changes it.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.dictionaries(st.text(), json_values, max_size=4),
    ascii_only=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]),
)
def test_a_body_holding_a_nul_anywhere_is_refused_in_any_encoding(app, body, ascii_only, encoding):
    raw = json.dumps(body, ensure_ascii=ascii_only).encode(encoding, "surrogatepass")
    with app.test_request_context(method="POST", data=raw, content_type="application/json"):
        try:
            read = json_object()
        except ApiProblem as refused:
            assert refused.code == "validation_failed" and _holds_nul(body)
            assert refused.extra["errors"][0]["code"] == "invalid_character"
            return
    assert read == body and not _holds_nul(read)


def test_a_nul_in_a_key_of_a_utf16_body_is_refused(client, auth):
    raw = json.dumps({"name\u0000": "x", "enterprise_code": "0100109106"}, ensure_ascii=False)
    response = client.post(
        "/api/v1/organizations",
        data=raw.encode("utf-16"),
        headers={**auth("admin"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json["errors"][0]["code"] == "invalid_character"
