"""GS1 CBV 2.0 code list values, read back to their short names from any form they come in.

A value of a CBV code list (a business step, a disposition, a business transaction type, a
source or destination type) may be written in EPCIS 2.0 as:

- the bare word, ``shipping``, which the EPCIS JSON-LD context expands in the fields it types
  as vocabulary terms;
- a compact IRI with the ``cbv:`` prefix the context binds, ``cbv:BizStep-shipping``;
- the full URI, ``https://ref.gs1.org/cbv/BizStep-shipping``.

EPCIS 1.x wrote them as URNs (``urn:epcglobal:cbv:bizstep:shipping``); the EPCIS 2.0 JSON
schema refuses those in a captured document, but queries and event hashes still read them.
Capture and the query filters both read values with :meth:`CodeList.short`, so that a form
one of them accepts the other accepts too.
"""

from __future__ import annotations

from dataclasses import dataclass

NAMESPACE = "https://ref.gs1.org/cbv/"
PREFIX = "cbv"


def short_name(value: str, forms: tuple[str, ...]) -> str | None:
    """``value`` without the first of ``forms`` it starts with; a value with none of them is a
    short name if it has no colon, and otherwise another vocabulary's URI (None)."""
    for form in forms:
        if value.startswith(form):
            return value[len(form) :]
    return None if ":" in value else value


@dataclass(frozen=True)
class CodeList:
    """One CBV code list: ``name`` as in its values' URIs, ``urn`` its EPCIS 1.x prefix."""

    name: str
    urn: str

    @property
    def uri(self) -> str:
        """What the full URI of each value begins with."""
        return f"{NAMESPACE}{self.name}-"

    @property
    def forms(self) -> tuple[str, ...]:
        return (self.uri, f"{PREFIX}:{self.name}-", self.urn)

    def short(self, value: str) -> str | None:
        """The short name of ``value`` given in any of the forms; None if it is not ours."""
        return short_name(value, self.forms)


BIZ_STEP = CodeList("BizStep", "urn:epcglobal:cbv:bizstep:")
DISPOSITION = CodeList("Disp", "urn:epcglobal:cbv:disp:")
BIZ_TRANSACTION_TYPE = CodeList("BTT", "urn:epcglobal:cbv:btt:")
SOURCE_DESTINATION_TYPE = CodeList("SDT", "urn:epcglobal:cbv:sdt:")
ERROR_REASON = CodeList("ER", "urn:epcglobal:cbv:er:")
