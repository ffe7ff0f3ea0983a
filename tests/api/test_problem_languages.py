"""Problem answers in the reader's language: the words change, the machine fields never do.

``title``, ``detail`` and the domain's field messages follow ``?lang=``, then
``Accept-Language``, then CHEMTRACE_DEFAULT_LOCALE; ``type``, ``status``, ``code``, field
names and ``errors[].code`` are the same in every language.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import SimpleNamespace
from typing import Any

import hypothesis
import pytest
from hypothesis import strategies as st

import api
import registry
from api.i18n import available_locales
from registry import errors as domain
from registry.errors import FieldError, message
from tests.api.batch_helpers import make_party, qty

MACHINE_FIELDS = ("type", "status", "code")


def machine_part(body: dict[str, Any]) -> dict[str, Any]:
    """What a program reads from a problem: everything but the words."""
    part = {name: body[name] for name in MACHINE_FIELDS}
    part["errors"] = [(e["field"], e["code"]) for e in body.get("errors", [])]
    return part


def bad_cas(client, party, language: str):
    body = {
        "cas_rn": "108-24-8",  # fails the check digit
        "lot_number": "L-1",
        "quantity": qty("5"),
        "facility_id": party.facility_id,
        "origin": {"kind": "produced"},
    }
    return client.post(
        "/api/v1/batches", json=body, headers={**party.headers, "Accept-Language": language}
    )


def test_the_same_bad_request_in_vietnamese_and_english(app, client, auth):
    party = make_party(app, auth, "Hoa Chat", 0)
    english, vietnamese = bad_cas(client, party, "en"), bad_cas(client, party, "vi-VN,vi;q=0.9")
    assert english.status_code == vietnamese.status_code == 422
    assert machine_part(english.json) == machine_part(vietnamese.json)
    assert english.json["code"] == "cas_invalid"
    assert english.json["title"] == "Some fields are invalid"
    assert english.json["detail"] == "108-24-8 fails the CAS RN check digit."
    assert vietnamese.json["title"] == "Một số trường không hợp lệ"
    assert vietnamese.json["detail"] == "108-24-8 sai chữ số kiểm tra của số CAS."
    assert vietnamese.json["errors"][0]["message"] == vietnamese.json["detail"]
    assert english.headers["Content-Language"] == "en"
    assert vietnamese.headers["Content-Language"] == "vi"
    for response in (english, vietnamese):
        assert "Accept-Language" in response.headers["Vary"]


def test_werkzeug_and_authentication_problems_are_translated(raw_client, client):
    missing = raw_client.get("/no/such/route", headers={"Accept-Language": "vi"})
    assert missing.status_code == 404 and missing.json["code"] == "not_found"
    assert missing.json["title"] == "Không tìm thấy"
    assert missing.json["detail"] == "Không có đường dẫn nào của dịch vụ khớp với URL đó."
    assert missing.headers["Content-Language"] == "vi"

    anonymous = client.get("/api/v1/organizations", headers={"Accept-Language": "vi"})
    assert anonymous.status_code == 401 and anonymous.json["code"] == "unauthenticated"
    assert anonymous.json["title"] == "Cần có thông tin xác thực hợp lệ"
    assert "Đường dẫn này cần thông tin xác thực" in anonymous.json["detail"]
    english = client.get("/api/v1/organizations", headers={"Accept-Language": "en"})
    assert english.json["detail"] == "This route needs an Authorization: Bearer credential."


def test_lang_wins_over_accept_language(client):
    too_long = "A" * 601
    answer = client.get(f"/v/{too_long}?lang=vi", headers={"Accept-Language": "en"})
    assert answer.status_code == 422 and answer.json["code"] == "validation_failed"
    assert answer.json["title"] == "Không thể xử lý nội dung"
    assert answer.json["errors"] == [
        {"field": "token", "message": "Dài hơn mọi mã nhãn.", "code": "invalid_field"}
    ]
    assert answer.headers["Content-Language"] == "vi"
    english = client.get(f"/v/{too_long}?lang=en", headers={"Accept-Language": "vi"})
    assert english.json["title"] == "Unprocessable Entity"


def test_an_unknown_language_falls_back_to_the_default_locale(another_app):
    vietnamese_by_default = another_app(DEFAULT_LOCALE="vi").test_client()
    for headers, query in (({"Accept-Language": "fr-FR, de;q=0.5"}, "?lang=xx"), ({}, "")):
        answer = vietnamese_by_default.get(f"/v/{'A' * 601}{query}", headers=headers)
        assert answer.status_code == 422
        assert answer.headers["Content-Language"] == "vi"
        assert answer.json["title"] == "Không thể xử lý nội dung"


# --- every domain error, in every language ------------------------------------------------


def _all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def _import_everything() -> None:
    for package in (registry, api):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)


def _example(cls: type[domain.DomainError]) -> domain.DomainError:
    """One instance of each kind of domain error, built the way the code builds it."""
    batch = SimpleNamespace(id="01BATCH", status="recalled")
    detail = message("No batch {batch_id}.", batch_id="01BATCH")
    by_name = {
        "InvalidInput": lambda: cls(
            "cas_rn", message("{value} fails the CAS RN check digit.", value="1-1-1"), "cas_invalid"
        ),
        "Conflict": lambda: cls(detail, "organization_exists"),
        "StateConflict": lambda: cls(batch, "ship"),
        "InsufficientQuantity": lambda: cls(batch),
        "TokenRefused": lambda: cls("token_expired", message("The token has expired.")),
        "CaptureRefused": lambda: cls(
            message("The document has no events."),
            field_errors=[FieldError("type", message("Send an EPCISDocument."), "epcis_invalid")],
        ),
    }
    build = by_name.get(cls.__name__, lambda: cls(detail))
    return build()


_import_everything()
DOMAIN_ERRORS = sorted(_all_subclasses(domain.DomainError), key=lambda c: c.__name__)


def test_every_domain_error_is_covered():
    names = {c.__name__ for c in DOMAIN_ERRORS}
    assert {"InvalidInput", "NotFound", "Conflict", "StateConflict", "CaptureRefused"} <= names


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda c: c.__name__)
def test_a_domain_error_keeps_its_code_in_every_language(app, cls):
    answers = {}
    for language in available_locales():
        with app.test_request_context("/", headers={"Accept-Language": language}):
            response = app.make_response(app.handle_user_exception(_example(cls)))
            answers[language] = response.get_json()
    english = answers["en"]
    assert english["title"] == str(cls.title) and english["detail"] == str(_example(cls).detail)
    for language, answer in answers.items():
        assert machine_part(answer) == machine_part(english), language
    assert answers["vi"]["title"] != english["title"]
    assert answers["vi"]["detail"] != english["detail"]


LANGUAGES = st.sampled_from(
    ["en", "vi", "vi-VN", "en-GB,en;q=0.8", "fr", "*", "vi;q=0.1,en"]
) | st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@hypothesis.settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(accept=LANGUAGES, lang=st.sampled_from([None, "vi", "en", "xx"]))
def test_real_routes_keep_their_codes_whatever_the_language(client, raw_client, accept, lang):
    query = f"?lang={lang}" if lang else ""
    requests = [
        (raw_client.get, f"/no/such/route{query}", {}),
        (client.get, f"/api/v1/organizations{query}", {}),
        (client.get, f"/v/{'A' * 601}{query}", {}),
        (client.post, f"/api/v1/verify{query}", {"json": {"token": 5}}),
    ]
    for send, path, extra in requests:
        baseline = send(path, headers={"Accept-Language": "en"}, **extra)
        answer = send(path, headers={"Accept-Language": accept}, **extra)
        assert answer.status_code == baseline.status_code
        assert machine_part(answer.json) == machine_part(baseline.json)
        assert answer.headers["Content-Language"] in available_locales()
