"""The label's text: no glyph box can ever be printed, and text is shortened or wrapped to fit."""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from api.i18n import TRANSLATIONS
from api.render import label_layout
from api.render.label_text import (
    ELLIPSIS,
    character_map,
    fit,
    measure,
    printable,
    width,
    wrap,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "registry" / "data"
# The label's own signs: digits, the separators and marks it writes around the words.
SIGNS = "0123456789 .,;:-–—·…%/()'\"&+#?!"


def _label_messages() -> set[str]:
    """The message ids the label code marks for translation."""
    found = extract_from_file("python", label_layout.__file__)
    return {message if isinstance(message, str) else message[0] for _, message, _, _ in found}


def _translations() -> list[str]:
    """Each label message in each shipped catalogue, as it would be drawn (placeholders out)."""
    ids = _label_messages()
    texts = []
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source:
            catalogue = read_po(source)
        texts.extend(catalogue[i].string or i for i in ids if catalogue.get(i) is not None)
    return [re.sub(r"%\(\w+\)s|%%", " ", text) for text in texts]


def _data_texts() -> list[str]:
    """Every text of the GHS tables and of the substance catalogue's names."""
    files = [*sorted((DATA / "ghs").glob("*.csv")), DATA / "controlled_substances.csv"]
    files += [DATA / "substance_names.csv"] if (DATA / "substance_names.csv").exists() else []
    return [
        cell for file in files for row in csv.reader(file.open(encoding="utf-8")) for cell in row
    ]


def test_the_font_has_a_glyph_for_every_character_the_label_can_draw_in_every_language():
    assert len(_label_messages()) >= 10
    drawn = {
        c
        for text in [*_translations(), *_data_texts(), SIGNS]
        for c in unicodedata.normalize("NFC", text)
        if not c.isspace()
    }
    missing = sorted(c for c in drawn if ord(c) not in character_map())
    assert not missing, f"the label font would print boxes for {missing}"


@given(st.text())
def test_user_text_is_drawn_only_with_characters_the_font_has(text):
    drawn = printable(text)
    assert all(c == " " or ord(c) in character_map() for c in drawn)
    assert "\n" not in drawn and len(drawn) <= len(text)


def test_vietnamese_is_kept_and_what_the_font_lacks_becomes_a_question_mark():
    assert printable("Hóa chất Sài Gòn") == "Hóa chất Sài Gòn"
    assert printable("Ho\u0301a") == "Hóa"  # decomposed input is composed first
    assert printable("LOT\n1\u2028漢🧪") == "LOT 1 ??"


def test_text_that_does_not_fit_is_shortened_with_an_ellipsis():
    long = "Công ty Trách nhiệm Hữu hạn Một thành viên Hóa chất Công nghiệp Miền Bắc"
    length = measure(3.0)
    assert fit("Lot 1", length, 30) == "Lot 1"
    shortened = fit(long, length, 30)
    assert shortened.endswith(ELLIPSIS) and long.startswith(shortened[:-1])
    assert width(shortened, 3.0) <= 30


def test_statements_wrap_line_by_line_and_an_overflow_ends_with_an_ellipsis():
    length = measure(3.0)
    lines = wrap(
        ["H226 Flammable liquid and vapour", "H330 Fatal if inhaled"], length, [40, 40, 40]
    )
    assert lines == ("H226 Flammable liquid and", "vapour", "H330 Fatal if inhaled")
    cut = wrap(["one two three four five six seven eight nine ten"], length, [20, 20])
    assert len(cut) == 2 and cut[1].endswith(ELLIPSIS)
    assert all(width(line, 3.0) <= 20 for line in cut)
