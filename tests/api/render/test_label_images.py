"""The acetic anhydride label as a person sees it, in Vietnamese and English: PNG files (and a
page of labels.pdf as PNG) kept for a reviewer in ``CHEMTRACE_LABEL_ARTIFACTS`` when it is set,
each read back with a QR reader to the label's URL."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from PIL import Image

from registry.catalogue.substances import get_by_cas_rn
from registry.db import db
from tests.api.batch_helpers import make_party, register


@pytest.fixture
def batch(app, client, auth):
    with app.app_context():
        substance = get_by_cas_rn("108-24-7")
        substance.names = {**substance.names, "vi": "Anhydrit axetic"}
        substance.ghs_pictograms = ["GHS02", "GHS05", "GHS06"]
        substance.signal_word = "danger"
        substance.hazard_statements = ["H226", "H302", "H314", "H330"]
        substance.precautionary_statements = ["P210"]
        db.session.commit()
    party = make_party(app, auth, "Công ty TNHH Hóa chất Sài Gòn", 0)
    made = register(
        client, party, "25", containers=3, manufactured_on="2026-01-15", expires_on="2028-01-14"
    )
    return made, party


def _keep(name: str, image: Image.Image) -> None:
    folder = os.environ.get("CHEMTRACE_LABEL_ARTIFACTS")
    if folder:
        image.save(Path(folder) / name)


def _url(made: dict, serial: str) -> str:
    return next(c["url"] for c in made["containers"] if c["serial"] == serial)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_label_png_reads_back_to_its_url(client, batch, lang):
    made, party = batch
    response = client.get(
        f"/api/v1/batches/{made['id']}/label.png?container=0001&lang={lang}", headers=party.headers
    )
    image = Image.open(io.BytesIO(response.data))
    _keep(f"label-{lang}.png", image)
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [_url(made, "0001")]


def test_a_labels_pdf_page_reads_back_to_every_containers_url(client, batch):
    made, party = batch
    response = client.get(f"/api/v1/batches/{made['id']}/labels.pdf?lang=vi", headers=party.headers)
    image = pypdfium2.PdfDocument(response.data)[0].render(scale=200 / 72).to_pil()
    _keep("labels-pdf.png", image)
    read = sorted(r.text for r in zxingcpp.read_barcodes(image.convert("L")))
    assert read == sorted(_url(made, s) for s in ("0001", "0002", "0003"))
