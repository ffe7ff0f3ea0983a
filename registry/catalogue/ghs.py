"""The GHS code tables: pictograms, signal words, hazard (H) and precautionary (P) statements,
each code with its text in every language the tables carry (``registry/data/ghs``).

A table is a CSV file with a ``code`` column and one column per language; a text missing in
a language is said in English, never left blank. Sources: ``registry/data/ghs/SOURCES.md``.

A hazard statement code is one the table lists (``H226``, or a combination the UN GHS lists,
``H300+H310+H330``), a listed code refined with an EU CLP suffix (``H350i``, ``H360FD``: said
with the text of the code it refines), or several of those joined by ``+``.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources

SOURCE_LANGUAGE = "en"
SIGNAL_WORDS = ("danger", "warning")
# EU CLP refines some codes with a route or effect suffix (H350i, H360FD, ...).
CLP_SUFFIXES = frozenset(["", "i", "F", "D", "FD", "Fd", "Df", "f", "d", "fd"])
_REFINED = re.compile(r"^(H\d{3})([A-Za-z]{1,2})$")


@cache
def _table(name: str) -> dict[str, dict[str, str]]:
    text = resources.files("registry.data").joinpath(f"ghs/{name}.csv").read_text("utf-8")
    return {row.pop("code"): row for row in csv.DictReader(text.splitlines())}


def _text(table: str, code: str, locale: str) -> str:
    texts = _table(table)[code]
    return texts.get(locale) or texts[SOURCE_LANGUAGE]


def codes(table: str) -> tuple[str, ...]:
    """Every code of a table (``pictograms``, ``signal_words``, ``hazard_statements``,
    ``precautionary_statements``), in the table's order."""
    return tuple(_table(table))


def languages(table: str) -> tuple[str, ...]:
    """The languages a table carries texts in."""
    return tuple(next(iter(_table(table).values())))


def pictogram_name(code: str, locale: str) -> str:
    """``GHS02`` -> "Flame" (the pictogram's name, for alt text and legends)."""
    return _text("pictograms", code, locale)


def signal_word_text(word: str, locale: str) -> str:
    """``danger`` -> "Danger" / "Nguy hiểm"."""
    return _text("signal_words", word, locale)


def hazard_text(code: str, locale: str) -> str:
    """``H226`` -> "Flammable liquid and vapour"; a combination the table does not list is
    said part by part, a CLP refinement with the text of the code it refines."""
    if code in _table("hazard_statements"):
        return _text("hazard_statements", code, locale)
    if "+" in code:
        return "; ".join(hazard_text(part, locale) for part in code.split("+"))
    return _text("hazard_statements", _unrefined(code), locale)


def precaution_text(code: str, locale: str) -> str:
    """``P210`` -> "Keep away from heat, hot surfaces, sparks, open flames ..."."""
    return _text("precautionary_statements", code, locale)


def is_pictogram(code: str) -> bool:
    return code in _table("pictograms")


def is_signal_word(word: str) -> bool:
    return word in _table("signal_words")


def is_hazard_statement(code: str) -> bool:
    if code in _table("hazard_statements"):
        return True
    parts = code.split("+")
    return all(_unrefined(part) in _single_hazard_codes() for part in parts)


def is_precautionary_statement(code: str) -> bool:
    return code in _table("precautionary_statements")


@cache
def _single_hazard_codes() -> frozenset[str]:
    return frozenset(c for c in _table("hazard_statements") if "+" not in c)


def single_hazard_codes() -> frozenset[str]:
    """The hazard statement codes that are not combinations (H200 ... H420)."""
    return _single_hazard_codes()


def _unrefined(code: str) -> str:
    """``H350i`` -> ``H350``; anything that is not a refinement is returned unchanged."""
    match = _REFINED.fullmatch(code)
    if match and match[2] in CLP_SUFFIXES:
        return match[1]
    return code
