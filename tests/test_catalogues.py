"""Every message the code can say is in every shipped catalogue, translated, and compiled.

The messages are collected the way ``make messages`` collects them, by running ``pybabel
extract`` over the source, so a string marked for translation but never added to the
catalogues fails here (and so in CI), not in front of a reader.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from api.i18n import SOURCE_LOCALE, TRANSLATIONS, available_locales

ROOT = Path(__file__).resolve().parent.parent


def _catalogue(path: Path):
    with path.open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[str]:
    pot = tmp_path_factory.mktemp("messages") / "messages.pot"
    subprocess.run(
        [
            sys.executable, "-m", "babel.messages.frontend", "--quiet", "extract",
            "-F", "babel.cfg", "-k", "message", "-k", "lazy_gettext", "--no-location",
            "-o", str(pot), ".",
        ],
        cwd=ROOT,
        check=True,
    )  # fmt: skip
    return {m.id for m in _catalogue(pot) if m.id}


def test_more_than_one_language_is_shipped():
    assert {"en", "vi"} <= set(available_locales())


@pytest.mark.parametrize("locale", available_locales())
def test_every_message_of_the_code_is_in_the_catalogue(extracted, locale):
    catalogue = _catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    missing = sorted(extracted - {m.id for m in catalogue if m.id})
    assert not missing, f"run `make messages` and translate: {missing}"


@pytest.mark.parametrize("locale", [x for x in available_locales() if x != SOURCE_LOCALE])
def test_every_message_is_translated(locale):
    catalogue = _catalogue(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po")
    untranslated = [m.id for m in catalogue if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"{locale}: no (or only a fuzzy) translation for {untranslated}"


@pytest.mark.parametrize("locale", available_locales())
def test_the_compiled_catalogue_is_the_catalogue(locale):
    po = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    expected = io.BytesIO()
    write_mo(expected, _catalogue(po))
    assert po.with_suffix(".mo").read_bytes() == expected.getvalue(), (
        "messages.mo is stale: run `make install` (it compiles the catalogues)"
    )
