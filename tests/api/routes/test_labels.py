"""Label routes: every format in the asked language, refusals when a label would not print,
and caching that follows the drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pypdfium2
import pytest

from api.render import label as drawing
from api.routes import labels
from registry.catalogue.substances import get_by_cas_rn
from registry.db import db
from registry.signing import EXTENSION
from tests.api.batch_helpers import make_party, register

SVG_TEXT = "{http://www.w3.org/2000/svg}text"

LONG_PUBLIC_URL = "https://traceability-registry.chemicals.industrial-safety.ministry-of-industry-and-trade.example.gov.vn"


@pytest.fixture
def producer(app, auth):
    return make_party(app, auth, "Producer", 0)


@pytest.mark.parametrize(
    "path",
    ["label.png", "label.svg?container=0001", "label.pdf", "labels.svg", "labels.pdf?lang=vi"],
)
def test_a_label_past_the_printable_qr_version_is_refused_as_a_problem(
    app, client, producer, monkeypatch, path
):
    batch = register(client, producer, "25", containers=1)
    monkeypatch.setattr(app.extensions[EXTENSION], "public_url", LONG_PUBLIC_URL)
    response = client.get(f"/api/v1/batches/{batch['id']}/{path}", headers=producer.headers)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "label_too_large"
    assert "CHEMTRACE_PUBLIC_URL" in response.json["detail"]


def test_the_service_refuses_to_start_with_a_public_url_that_makes_labels_unprintable(
    another_app,
):
    result = another_app(PUBLIC_URL=LONG_PUBLIC_URL).test_cli_runner().invoke(args=["init"])
    assert result.exit_code != 0
    assert "CHEMTRACE_PUBLIC_URL" in result.output


def test_the_sheet_is_revalidated_and_fetched_again_once_the_drawing_changes(
    client, producer, monkeypatch
):
    batch = register(client, producer, "25", containers=4)
    url = f"/api/v1/batches/{batch['id']}/labels.svg"
    first = client.get(url, headers=producer.headers)
    # Name, CAS RN, ID, container, lot, holder, origin, then the seeded classification of
    # acetic anhydride (EU CLP Annex VI): the signal word and four hazard statements, beside
    # its three pictograms, on each of the four labels.
    assert first.status_code == 200 and first.data.count(b"<text") == 4 * (7 + 1 + 4)
    assert first.data.count(b'class="pictogram"') == 4 * 3
    etag = first.headers["ETag"]
    again = client.get(url, headers={**producer.headers, "If-None-Match": etag})
    assert again.status_code == 304
    monkeypatch.setattr(labels, "LABEL_VERSION", "redrawn")
    redrawn = client.get(url, headers={**producer.headers, "If-None-Match": etag})
    assert redrawn.status_code == 200 and redrawn.headers["ETag"] != etag


@pytest.mark.parametrize("path", ["label.png", "label.svg", "labels.svg", "label.pdf"])
def test_line_breaks_and_control_characters_in_a_lot_number_are_drawn_as_spaces(
    client, producer, path
):
    # The fuzzer found these: the text shaper refuses a line break inside one line of text.
    lot = "LOT\n1\r2\x1c3\x1d4\x1e5\x856\u20297\u20288\x07"
    batch = register(client, producer, "25", containers=1, lot_number=lot)
    response = client.get(f"/api/v1/batches/{batch['id']}/{path}", headers=producer.headers)
    assert response.status_code == 200
    if path.endswith(".svg"):
        assert "Lot LOT 1 2 3 4 5 6 7 8 " in response.data.decode()


@pytest.fixture
def classified(app):
    """Acetic anhydride with its harmonised classification (EU CLP Annex VI)."""
    with app.app_context():
        substance = get_by_cas_rn("108-24-7")
        substance.names = {**substance.names, "vi": "Anhydrit axetic"}
        substance.ghs_pictograms = ["GHS02", "GHS05", "GHS06"]
        substance.signal_word = "danger"
        substance.hazard_statements = ["H226", "H302", "H314", "H330", "H999"]  # H999: in no table
        substance.precautionary_statements = ["P210", "P999"]
        db.session.commit()


def _texts(response) -> list[str]:
    return [t.text for t in ET.fromstring(response.data).iter(SVG_TEXT)]  # noqa: S314


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "vi",
            [
                "Anhydrit axetic",
                "Nguy hiểm",
                "H226 Chất lỏng và hơi dễ cháy",
                "H330 Gây tử vong nếu hít phải",
                "Số lô AA-2026-001 · 25 kg · 100% khối lượng",
                "Đơn vị chịu trách nhiệm: Producer",
                "Nguồn gốc: Sản xuất",
                "Hạn sử dụng 2028-06-30",
            ],
        ),
        (
            "en",
            [
                "Acetic anhydride",
                "Danger",
                "H226 Flammable liquid and vapour",
                "H330 Fatal if inhaled",
                "Lot AA-2026-001 · 25 kg · 100% w/w",
                "Holder: Producer",
                "Origin: Produced",
                "Expires 2028-06-30",
            ],
        ),
    ],
)
def test_acetic_anhydrides_label_speaks_the_asked_language(
    client, producer, classified, lang, expected
):
    batch = register(client, producer, "25", containers=1, expires_on="2028-06-30")
    url = f"/api/v1/batches/{batch['id']}/label.svg?container=0001&lang={lang}"
    response = client.get(url, headers=producer.headers)
    assert response.status_code == 200 and response.headers["Content-Language"] == lang
    assert "Accept-Language" in response.headers["Vary"]
    texts = _texts(response)
    missing = [line for line in expected if not any(t.startswith(line) for t in texts)]
    assert not missing, texts
    assert response.data.count(b'class="pictogram"') == 3
    assert any(t.startswith("P210 ") for t in texts) or texts[-1].endswith("…")


def test_the_language_comes_from_accept_language_too_and_is_part_of_the_etag(
    client, producer, classified
):
    batch = register(client, producer, "25", containers=1)
    url = f"/api/v1/batches/{batch['id']}/label.png"
    english = client.get(url, headers=producer.headers)
    vietnamese = client.get(url, headers={**producer.headers, "Accept-Language": "vi"})
    assert vietnamese.headers["Content-Language"] == "vi"
    assert english.headers["ETag"] != vietnamese.headers["ETag"]
    assert english.data != vietnamese.data
    again = client.get(
        url,
        headers={
            **producer.headers,
            "Accept-Language": "vi",
            "If-None-Match": vietnamese.headers["ETag"],
        },
    )
    assert again.status_code == 304


def test_a_corrected_classification_changes_the_etag(app, client, producer, classified):
    batch = register(client, producer, "25", containers=1)
    url = f"/api/v1/batches/{batch['id']}/label.svg"
    before = client.get(url, headers=producer.headers)
    with app.app_context():
        get_by_cas_rn("108-24-7").hazard_statements = ["H226"]
        db.session.commit()
    after = client.get(url, headers={**producer.headers, "If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and "H330 Fatal if inhaled" not in after.data.decode()


def test_a_label_revalidated_from_the_words_cache_is_fetched_again_once_redrawn(
    client, producer, monkeypatch
):
    batch = register(client, producer, "25", containers=1)
    url = f"/api/v1/batches/{batch['id']}/label.png"
    etag = client.get(url, headers=producer.headers).headers["ETag"]
    again = client.get(url, headers={**producer.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    monkeypatch.setattr(labels, "LABEL_VERSION", "redrawn")
    redrawn = client.get(url, headers={**producer.headers, "If-None-Match": etag})
    assert redrawn.status_code == 200 and redrawn.headers["ETag"] != etag


def test_a_label_once_drawn_is_served_from_the_cache(client, producer):
    batch = register(client, producer, "25", containers=1)
    url = f"/api/v1/batches/{batch['id']}/label.pdf?container=0001"
    first = client.get(url, headers=producer.headers)
    misses = drawing.render.cache_info().misses
    again = client.get(url, headers=producer.headers)
    assert drawing.render.cache_info().misses == misses
    assert again.data == first.data and again.mimetype == "application/pdf"
    assert "max-age=86400" in again.headers["Cache-Control"]


def test_labels_pdf_prints_every_container_on_a4_pages(client, producer):
    batch = register(client, producer, "25", containers=9)
    response = client.get(f"/api/v1/batches/{batch['id']}/labels.pdf", headers=producer.headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert len(pypdfium2.PdfDocument(response.data)) == 2  # eight labels a page


def test_an_unknown_query_parameter_is_still_refused(client, producer):
    batch = register(client, producer, "25", containers=1)
    response = client.get(
        f"/api/v1/batches/{batch['id']}/labels.pdf?colour=red", headers=producer.headers
    )
    assert response.status_code == 422 and response.json["code"] == "validation_failed"
