"""Drawing labels: the QR code stays within the printable version; sheets place labels whole."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET

import pytest

from api.render.label import (
    MAX_QR_VERSION,
    LabelTooLarge,
    label_font,
    qr_code,
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
