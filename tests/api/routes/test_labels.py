"""Label routes: refusals when a label would not print, and caching that follows the drawing."""

from __future__ import annotations

import pytest

from api.routes import labels
from registry.signing import EXTENSION
from tests.api.batch_helpers import make_party, register

LONG_PUBLIC_URL = "https://traceability-registry.chemicals.industrial-safety.ministry-of-industry-and-trade.example.gov.vn"


@pytest.fixture
def producer(app, auth):
    return make_party(app, auth, "Producer", 0)


@pytest.mark.parametrize("path", ["label.png", "label.svg?container=0001", "labels.svg"])
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
    # Six lines each: acetic anhydride has no GHS classification in the catalogue, so no
    # hazard line is drawn.
    assert first.status_code == 200 and first.data.count(b"<text") == 4 * 6
    assert b"GHS" not in first.data
    etag = first.headers["ETag"]
    again = client.get(url, headers={**producer.headers, "If-None-Match": etag})
    assert again.status_code == 304
    monkeypatch.setattr(labels, "LABEL_VERSION", "redrawn")
    redrawn = client.get(url, headers={**producer.headers, "If-None-Match": etag})
    assert redrawn.status_code == 200 and redrawn.headers["ETag"] != etag


@pytest.mark.parametrize("path", ["label.png", "label.svg", "labels.svg"])
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
