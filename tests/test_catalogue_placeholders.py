"""A translation keeps the placeholders of its message, neither more nor fewer.

The domain's ``message("... {name} ...")`` templates are filled after translation
(``api.i18n.localised``), and the pages' ``_("... %(name)s ...")`` likewise: a placeholder
lost, renamed or added by a translator would say the wrong thing or nothing at all.
"""

from __future__ import annotations

import re
import string

import pytest
from babel.messages.pofile import read_po

from api.i18n import SOURCE_LOCALE, TRANSLATIONS, available_locales
from registry.errors import message

PERCENT = re.compile(r"%\((\w+)\)[sd]")


def placeholders(text: str) -> tuple[set[str], set[str]]:
    """The ``{name}`` fields and the ``%(name)s`` fields of ``text``."""
    braces = {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    return braces, set(PERCENT.findall(text))


def test_placeholders_are_read_from_both_kinds_of_message():
    template = message("Batch {batch_id} is {status}.", batch_id="B", status="active")
    assert placeholders(template.template) == ({"batch_id", "status"}, set())
    assert placeholders("Lot %(lot)s: %(num)d") == (set(), {"lot", "num"})


@pytest.mark.parametrize("locale", [x for x in available_locales() if x != SOURCE_LOCALE])
def test_every_translation_has_the_placeholders_of_its_message(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalogue = read_po(source)
    wrong = []
    for entry in catalogue:
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = placeholders(ids[-1])
        for translated in strings:
            if translated and placeholders(translated) != expected:
                wrong.append((ids[0], translated))
    assert not wrong, f"{locale}: placeholders differ from the message's: {wrong}"
