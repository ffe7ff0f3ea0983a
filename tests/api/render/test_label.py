"""Drawing labels: the QR code stays within the printable version; sheets place labels whole."""

from __future__ import annotations

import io
import unicodedata
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from api.render.label import (
    MAX_QR_VERSION,
    LabelTooLarge,
    fit,
    label_font,
    qr_code,
    render,
    sheet,
    svg_label,
)

TOKEN = "2MEFBAQBOQ" * 22  # 220 base32 characters, as long as a batch's token


def test_a_32_character_public_url_fits_the_printable_version():
    assert qr_code("https://chemtrace.example.gov.vn/v/", TOKEN).version <= MAX_QR_VERSION


def test_a_url_that_would_need_a_larger_code_is_refused_clearly():
    long_url = "https://traceability-registry.chemicals.industrial-safety.ministry-of-industry-and-trade.example.gov.vn/v/"
    with pytest.raises(LabelTooLarge, match=r"QR version 1\d.*CHEMTRACE_PUBLIC_URL"):
        qr_code(long_url, TOKEN)


def test_a_sheet_places_each_label_at_its_own_size_three_across():
    one = svg_label(TOKEN, ("Acetic anhydride", "Lot 1"), "http://127.0.0.1:8000/v/")
    root = ET.fromstring(sheet([one] * 4))  # noqa: S314 - our own output
    assert int(root.get("width")) == 3 * one.width + 2 * 20
    assert int(root.get("height")) == 2 * one.height + 20
    placed = [g.get("transform") for g in root if g.tag.endswith("g")]
    assert placed == [
        "translate(0,0)",
        f"translate({one.width + 20},0)",
        f"translate({2 * (one.width + 20)},0)",
        f"translate(0,{one.height + 20})",
    ]


def _vietnamese_letters() -> str:
    """Every letter of the Vietnamese alphabet with every tone, both cases (precomposed)."""
    vowels = "aăâeêioôơuưy"
    tones = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
    letters = [unicodedata.normalize("NFC", v + t) for v in vowels for t in tones] + ["đ"]
    lower = "".join(letters) + "bcdghklmnpqrstvx"
    return lower + lower.upper()


def test_the_label_font_draws_every_character_a_label_may_hold_no_box():
    font = label_font()
    missing_glyph = bytes(font.getmask("\U0010fffd"))  # a code point no font maps
    # The label's own words and signs, then what holders' and substances' names may hold.
    drawn = "CAS — GHS Lot Holder ID … · container % w/w µ 0123456789.,-()/&'\""
    drawn += _vietnamese_letters()
    boxes = sorted(
        {c for c in drawn if not c.isspace() and bytes(font.getmask(c)) == missing_glyph}
    )
    assert not boxes, f"the label font would print boxes for {boxes}"


LONG_HOLDER = "Holder Công ty Trách nhiệm Hữu hạn Một thành viên Hóa chất Công nghiệp Miền Bắc"


def test_text_that_does_not_fit_is_shortened_with_an_ellipsis():
    font = label_font()
    assert fit("Lot 1", font, 300) == "Lot 1"
    shortened = fit(LONG_HOLDER, font, 300)
    assert shortened.endswith("…") and LONG_HOLDER.startswith(shortened[:-1])
    assert font.getlength(shortened) <= 300


def test_no_text_is_drawn_past_a_png_labels_margin():
    png = render(TOKEN, "png", ("Acetic anhydride", LONG_HOLDER), "http://127.0.0.1:8000/v/")
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    margin = 24  # the quiet zone: 4 modules of 6 pixels
    right_margin = image.crop((width - margin + 1, 0, width, height))
    assert right_margin.getextrema()[0] == 255, "ink in the right margin"


def test_an_svg_label_shortens_what_would_overflow_it():
    label = svg_label(TOKEN, ("Acetic anhydride", LONG_HOLDER), "http://127.0.0.1:8000/v/")
    root = ET.fromstring(label.document())  # noqa: S314 - our own output
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0] == "Acetic anhydride"
    assert texts[1].endswith("…") and LONG_HOLDER.startswith(texts[1][:-1])
    assert label_font(14).getlength(texts[1]) <= label.width - 2 * 16
