"""The verification page in the reader's language; the JSON answers the same in every one.

The page (``/v/<token>``) says every word in the language of ``?lang=``, Accept-Language or
the default, with ``<html lang>`` to match, links to itself in every shipped language, and
shows the substance's name and GHS hazard texts in that language. ``POST /api/v1/verify``
and the page's JSON keep their bytes whatever the language.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select

from registry.db import db
from registry.labels import verification
from registry.models import Substance
from tests.api.batch_helpers import make_party, qty, register

# Test data for the page to show (the catalogue's own seeding is another part's test).
NAMES = {"en": "Acetic anhydride", "vi": "Anhydrit axetic"}
HAZARDS = ["H226", "H302", "H314", "H330"]


def classify_acetic_anhydride(app) -> None:
    with app.app_context():
        substance = db.session.scalar(select(Substance).where(Substance.cas_rn == "108-24-7"))
        substance.names = NAMES
        substance.ghs_pictograms = ["GHS02", "GHS05", "GHS06"]
        substance.signal_word = "danger"
        substance.hazard_statements = HAZARDS
        db.session.commit()


@pytest.fixture
def producer(app, auth):
    classify_acetic_anhydride(app)
    return make_party(app, auth, "Hoa Chat Sai Gon", 0)


def token_of(batch: dict) -> str:
    return batch["identifier"]["token"]


def page(client, token: str, **headers: str):
    response = client.get(f"/v/{token}", headers={"Accept": "text/html", **headers})
    assert response.status_code == 200
    return response


def test_the_page_in_vietnamese(client, producer):
    html = page(client, token_of(register(client, producer)), **{"Accept-Language": "vi"})
    assert html.headers["Content-Language"] == "vi"
    assert "Accept-Language" in html.headers["Vary"]
    text = html.get_data(as_text=True)
    assert '<html lang="vi">' in text
    for words in (
        "NHÃN THẬT",
        "Hóa chất",
        "Anhydrit axetic (CAS 108-24-7)",
        "Từ cảnh báo",
        "Nguy hiểm",
        "Cảnh báo nguy cơ",
        "Gây bỏng da nghiêm trọng và tổn thương mắt",
        "Gây tử vong nếu hít phải",
        "GHS02 Ngọn lửa, GHS05 Ăn mòn, GHS06 Đầu lâu xương chéo",
        "Trạng thái",
        "đang lưu hành",
        "mã số doanh nghiệp 0300588569",
        "Được Hệ thống ChemTrace kiểm tra lúc",
    ):
        assert words in text, words
    for english in ("GENUINE", "Substance", "Should be held by", "Checked", "Danger", "active<"):
        assert english not in text, english
    assert "<script" not in text


def test_the_page_in_english_and_its_language_switch(client, producer):
    token = token_of(register(client, producer))
    text = page(client, token, **{"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in text
    for words in (
        "GENUINE LABEL",
        "Acetic anhydride (CAS 108-24-7)",
        "Danger",
        "Causes severe skin burns and eye damage",
        "GHS06 Skull and crossbones",
        "active",
    ):
        assert words in text, words
    assert 'href="?lang=vi" hreflang="vi" lang="vi">Tiếng Việt</a>' in text
    assert 'href="?lang=en" hreflang="en" lang="en" aria-current="true">English</a>' in text
    switched = page(client, f"{token}?lang=vi", **{"Accept-Language": "en"})
    assert '<html lang="vi">' in switched.get_data(as_text=True)


def test_a_recalled_batch_warns_in_the_reader_s_language(client, auth, producer):
    batch = register(client, producer)
    recalled = client.post(
        f"/api/v1/batches/{batch['id']}/recall", json={"reason": "x"}, headers=producer.headers
    )
    assert recalled.status_code == 200, recalled.json
    vietnamese = page(client, f"{token_of(batch)}?lang=vi").get_data(as_text=True)
    assert "ĐÃ BỊ THU HỒI: không sử dụng" in vietnamese and "đã bị thu hồi" in vietnamese
    english = page(client, f"{token_of(batch)}?lang=en").get_data(as_text=True)
    assert "RECALLED: do not use" in english


def test_a_forged_label_says_why_in_the_reader_s_language(client, producer):
    forged = token_of(register(client, producer))[:-4] + "AAAA"
    vietnamese = page(client, f"{forged}?lang=vi").get_data(as_text=True)
    assert "KHÔNG PHẢI NHÃN THẬT" in vietnamese and "Lý do" in vietnamese
    assert "Mã lý do" in vietnamese
    english = page(client, f"{forged}?lang=en").get_data(as_text=True)
    assert "NOT A GENUINE LABEL" in english and "Reason code" in english


def test_the_json_answers_do_not_change_with_the_language(client, producer, monkeypatch):
    # One clock for both, so that the answers can be compared byte for byte (Ed25519
    # signatures are deterministic: the same claims give the same signed_result).
    monkeypatch.setattr(verification, "utcnow", lambda: datetime(2026, 12, 2, 8, 0, tzinfo=UTC))
    token = token_of(register(client, producer))
    forged = token[:-4] + "AAAA"
    for tested in (token, forged):
        answers = [
            client.post(
                f"/api/v1/verify?lang={language}",
                json={"token": tested},
                headers={"Accept-Language": language},
            ).get_data()
            for language in ("en", "vi")
        ]
        answers += [
            client.get(
                f"/v/{tested}?lang={language}",
                headers={"Accept": "application/json", "Accept-Language": language},
            ).get_data()
            for language in ("en", "vi")
        ]
        assert len(set(answers)) == 1, tested
        assert b"danger" not in answers[0] and b"Anhydrit" not in answers[0]


def test_the_page_reads_no_more_than_the_json_answer(app, client, producer):
    token = token_of(register(client, producer))
    counts = {}
    for accept in ("text/html", "application/json"):
        statements: list[str] = []
        with app.app_context():
            engine = db.engine

        def count(conn, cursor, statement, *args, log=statements):
            log.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/v/{token}?lang=vi", headers={"Accept": accept}).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts[accept] = len([s for s in statements if s.lstrip().upper().startswith("SELECT")])
    assert counts["text/html"] == counts["application/json"], counts


def test_in_transit_page_names_the_receiver(app, client, auth, producer):
    receiver = make_party(app, auth, "Mekong Distribution", 1)
    batch = register(client, producer)
    shipped = client.post(
        "/api/v1/transfers",
        json={"batch_id": batch["id"], "quantity": qty("2"), "to_organization_id": receiver.id},
        headers=producer.headers,
    )
    assert shipped.status_code == 201, shipped.json
    moving = client.get(
        f"/api/v1/batches/{shipped.json['shipped_batch_id']}", headers=producer.headers
    ).json
    text = page(client, f"{token_of(moving)}?lang=vi").get_data(as_text=True)
    assert "ĐANG VẬN CHUYỂN giữa hai tổ chức." in text
    assert "Đang được chuyển đến" in text and "Mekong Distribution" in text
