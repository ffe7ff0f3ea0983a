"""The GHS code tables and the bundled classifications and names: complete and well-formed."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from registry.catalogue import ghs, substances
from registry.catalogue.codes import parse_cas_rn

TABLES = ("pictograms", "signal_words", "hazard_statements", "precautionary_statements")
LANGUAGES = ("en", "vi")


def _rows(path: str) -> list[dict[str, str]]:
    with resources.files("registry.data").joinpath(path).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("table", TABLES)
def test_every_code_is_unique_and_said_in_every_language(table):
    rows = _rows(f"ghs/{table}.csv")
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes))
    assert list(rows[0]) == ["code", *LANGUAGES]
    for row in rows:
        for language in LANGUAGES:
            assert row[language].strip() == row[language] and row[language], (row, language)
    assert ghs.languages(table) == LANGUAGES


def test_the_tables_hold_every_ghs_code():
    assert ghs.codes("pictograms") == tuple(f"GHS0{n}" for n in range(1, 10))
    assert ghs.codes("signal_words") == ghs.SIGNAL_WORDS
    hazards = set(ghs.codes("hazard_statements"))
    numbers = (
        *range(200, 212), *range(220, 233), 240, 241, 242, 250, 251, 252, 260, 261,
        270, 271, 272, *range(280, 285), 290, *range(300, 306), *range(310, 321),
        *range(330, 337), 340, 341, 350, 351, 360, 361, 362, *range(370, 374),
        400, 401, 402, *range(410, 414), 420,
    )  # fmt: skip
    single = {f"H{n}" for n in numbers}
    combined = {
        "H300+H310", "H300+H330", "H310+H330", "H300+H310+H330",
        "H301+H311", "H301+H331", "H311+H331", "H301+H311+H331",
        "H302+H312", "H302+H332", "H312+H332", "H302+H312+H332",
        "H303+H313", "H303+H333", "H313+H333", "H303+H313+H333", "H315+H320",
    }  # fmt: skip
    assert hazards == single | combined
    precautions = set(ghs.codes("precautionary_statements"))
    for code in ("P101", "P203", "P210", "P280", "P316", "P317", "P391", "P420", "P503"):
        assert code in precautions
    for code in ("P301+P330+P331", "P305+P351+P338", "P370+P372+P380+P373", "P410+P412"):
        assert code in precautions
    for deleted in ("P201", "P202", "P281", "P310", "P301+P310"):
        assert deleted not in precautions
    # A combination is made only of codes the table lists alone.
    for code in precautions | hazards:
        assert all(part in precautions | hazards for part in code.split("+")), code


def test_texts_of_codes_combinations_and_refinements():
    assert ghs.hazard_text("H330", "vi") == "Gây tử vong nếu hít phải"
    assert ghs.hazard_text("H300+H310+H330", "en") == (
        "Fatal if swallowed, in contact with skin or if inhaled"
    )
    assert ghs.hazard_text("H361d", "en") == ghs.hazard_text("H361", "en")
    assert ghs.hazard_text("H226+H302", "en") == (
        "Flammable liquid and vapour; Harmful if swallowed"
    )
    assert ghs.precaution_text("P305+P351+P338", "en").startswith("IF IN EYES: Rinse")
    assert ghs.signal_word_text("warning", "vi") == "Cảnh báo"
    assert ghs.hazard_text("H226", "fr") == "Flammable liquid and vapour"  # no French: English
    for good in ("H350i", "H360FD", "H300+H310+H330", "H226+H302"):
        assert ghs.is_hazard_statement(good)
    for bad in ("H999", "H314x", "EUH014", "H300+", "", "h226", "P210"):
        assert not ghs.is_hazard_statement(bad)
    assert ghs.is_precautionary_statement("P305+P351+P338")
    assert not ghs.is_precautionary_statement("P210+P211")


def test_every_classified_substance_is_seeded_and_every_code_is_in_the_tables():
    seeded = {row["cas_rn"] for row in _rows("controlled_substances.csv") if row["cas_rn"]}
    rows = _rows("ghs/classification.csv")
    assert len({row["cas_rn"] for row in rows}) == len(rows)
    for row in rows:
        assert parse_cas_rn(row["cas_rn"]) in seeded
        assert all(ghs.is_pictogram(code) for code in row["pictograms"].split())
        assert row["signal_word"] in ghs.SIGNAL_WORDS
        assert all(ghs.is_hazard_statement(code) for code in row["hazard_statements"].split())
        precautions = row["precautionary_statements"].split()
        assert all(ghs.is_precautionary_statement(code) for code in precautions)
        assert row["source"].startswith("EU CLP Reg. (EC) 1272/2008 Annex VI index ")
    acetic_anhydride = substances.bundled_classifications()["108-24-7"]
    assert acetic_anhydride.pictograms == ["GHS02", "GHS05", "GHS06"]
    assert acetic_anhydride.signal_word == "danger"
    assert {"H226", "H302", "H314", "H330"} <= set(acetic_anhydride.hazard_statements)
    assert "607-008-00-9" in acetic_anhydride.source


def test_every_named_substance_is_seeded_and_its_source_given():
    seeded = {row["cas_rn"] for row in _rows("controlled_substances.csv") if row["cas_rn"]}
    rows = _rows("substance_names.csv")
    assert list(rows[0]) == ["cas_rn", "vi", "source"]
    assert len({row["cas_rn"] for row in rows}) == len(rows)
    for row in rows:
        assert row["cas_rn"] in seeded and row["vi"].strip() and "Decree 24/2026" in row["source"]
    assert substances.bundled_names()["108-24-7"] == {"vi": "Acetic anhydride (AA)"}


def test_the_sources_say_what_was_not_classified():
    text = resources.files("registry.data").joinpath("ghs/SOURCES.md").read_text("utf-8")
    assert "none known; not guessed" in text
    for row in _rows("ghs/classification.csv"):
        assert row["cas_rn"] in text
