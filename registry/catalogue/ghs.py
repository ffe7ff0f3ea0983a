"""The GHS code tables: pictograms, signal words, hazard (H) and precautionary (P) statements,
each code with its text in every language the tables carry (``registry/data/ghs``).

A table is a CSV file with a ``code`` column and one column per language; a text missing in
a language is said in English, never left blank. Sources: ``registry/data/ghs/SOURCES.md``.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

SOURCE_LANGUAGE = "en"
SIGNAL_WORDS = ("danger", "warning")


@cache
def _table(name: str) -> dict[str, dict[str, str]]:
    text = resources.files("registry.data").joinpath(f"ghs/{name}.csv").read_text("utf-8")
    return {row.pop("code"): row for row in csv.DictReader(text.splitlines())}


def _text(table: str, code: str, locale: str) -> str:
    texts = _table(table)[code]
    return texts.get(locale) or texts[SOURCE_LANGUAGE]


def pictogram_name(code: str, locale: str) -> str:
    """``GHS02`` -> "Flame" (the pictogram's name, for alt text and legends)."""
    return _text("pictograms", code, locale)


def signal_word_text(word: str, locale: str) -> str:
    """``danger`` -> "Danger" / "Nguy hiểm"."""
    return _text("signal_words", word, locale)


def hazard_text(code: str, locale: str) -> str:
    """``H226`` -> "Flammable liquid and vapour"."""
    return _text("hazard_statements", code, locale)


def precaution_text(code: str, locale: str) -> str:
    """``P210`` -> "Keep away from heat, hot surfaces, sparks, open flames ..."."""
    return _text("precautionary_statements", code, locale)


def is_pictogram(code: str) -> bool:
    return code in _table("pictograms")


def is_hazard_statement(code: str) -> bool:
    return code in _table("hazard_statements")


def is_precautionary_statement(code: str) -> bool:
    return code in _table("precautionary_statements")
