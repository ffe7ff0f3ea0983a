"""The substance catalogue: lookup, search, registration, localised names, GHS classification
and the seed (``registry/data``: the controlled-substance list, the classifications and the
Vietnamese names, each with its source)."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from registry.catalogue import control_lists
from registry.catalogue.codes import (
    parse_cas_rn,
    parse_ghs_pictogram,
    parse_hazard_statement,
    parse_precautionary_statement,
    parse_signal_word,
    parse_un_number,
)
from registry.db import db
from registry.errors import Conflict, InvalidInput, NotFound, message
from registry.models import Substance, SubstanceControlList
from registry.pagination import Page, paginate

# A language tag: a shipped language ("vi") or a BCP 47 tag ("zh-Hant", "pt-BR").
LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")
# Blank as the contract's `\\s` (ECMA-262) means it, not as str.strip() does.
_BLANK = re.compile("[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*")
NAME_LANGUAGE = "en"  # the language of ``Substance.name``
MAX_NAME_LENGTH = 300
MAX_SOURCE_LENGTH = 300


@dataclass(frozen=True)
class Classification:
    """A substance's GHS classification, and where it is from."""

    pictograms: list[str] = field(default_factory=list)
    signal_word: str | None = None
    hazard_statements: list[str] = field(default_factory=list)
    precautionary_statements: list[str] = field(default_factory=list)
    source: str | None = None


@dataclass(frozen=True)
class SubstanceFacts:
    name: str
    cas_rn: str | None = None
    synonyms: list[str] = field(default_factory=list)
    un_number: str | None = None
    ghs_pictograms: list[str] = field(default_factory=list)
    hazard_statements: list[str] = field(default_factory=list)
    control_lists: list[str] = field(default_factory=list)
    signal_word: str | None = None
    precautionary_statements: list[str] = field(default_factory=list)
    classification_source: str | None = None
    names: dict[str, str] = field(default_factory=dict)


def get_by_cas_rn(cas_rn: str) -> Substance:
    cas_rn = parse_cas_rn(cas_rn)
    substance = db.session.scalar(_with_lists().where(Substance.cas_rn == cas_rn))
    if substance is None:
        raise NotFound(
            message("No substance with CAS RN {cas_rn} in the catalogue.", cas_rn=cas_rn)
        )
    return substance


def search(
    cas_rn: str | None,
    name_fragment: str | None,
    control_list: str | None,
    limit: int | None,
    cursor: str | None,
) -> Page[Substance]:
    query = _with_lists()
    if cas_rn is not None:
        query = query.where(Substance.cas_rn == parse_cas_rn(cas_rn))
    if name_fragment:
        pattern = "%" + _escape_like(name_fragment.lower()) + "%"
        query = query.where(func.lower(Substance.name).like(pattern, escape="\\"))
    if control_list is not None:
        code = control_lists.get(control_list).code
        query = query.where(
            Substance.memberships.any(SubstanceControlList.control_list_code == code)
        )
    return paginate(query, Substance.id, limit, cursor)


def register(facts: SubstanceFacts) -> Substance:
    """Add a substance to the catalogue, every identifier checked first."""
    cas_rn = parse_cas_rn(facts.cas_rn) if facts.cas_rn is not None else None
    names = parse_names(facts.names, "names")
    classification = parse_classification(
        Classification(
            pictograms=facts.ghs_pictograms,
            signal_word=facts.signal_word,
            hazard_statements=facts.hazard_statements,
            precautionary_statements=facts.precautionary_statements,
            source=facts.classification_source,
        ),
        source_required=False,
    )
    substance = Substance(
        cas_rn=cas_rn,
        name=names.pop(NAME_LANGUAGE, facts.name),
        synonyms=list(facts.synonyms),
        un_number=parse_un_number(facts.un_number) if facts.un_number is not None else None,
        names=names,
    )
    _classify(substance, classification)
    for i, code in enumerate(dict.fromkeys(facts.control_lists)):
        control_list = control_lists.get(code, f"control_lists.{i}")
        substance.memberships.append(SubstanceControlList(control_list=control_list))
    if cas_rn is not None and db.session.scalar(
        select(Substance.id).where(Substance.cas_rn == cas_rn)
    ):
        raise Conflict(
            message("{cas_rn} is already in the catalogue.", cas_rn=cas_rn), "substance_exists"
        )
    db.session.add(substance)
    db.session.flush()
    return substance


def set_names(cas_rn: str, names: dict[str, str]) -> Substance:
    """Replace a substance's names in other languages; an ``en`` entry renames it."""
    substance = get_by_cas_rn(cas_rn)
    names = parse_names(names, "names")
    substance.name = names.pop(NAME_LANGUAGE, substance.name)
    substance.names = names
    db.session.flush()
    return substance


def set_classification(cas_rn: str, classification: Classification) -> Substance:
    """Set or correct a substance's GHS classification; its source is required, so that a
    classification set here is never taken for an unclassified substance by the seed."""
    substance = get_by_cas_rn(cas_rn)
    _classify(substance, parse_classification(classification, source_required=True))
    db.session.flush()
    return substance


def parse_names(names: dict[str, str], field: str) -> dict[str, str]:
    """Names by language tag, each 1 to 300 characters with something to read."""
    parsed: dict[str, str] = {}
    for tag, name in names.items():
        if not isinstance(tag, str) or not LANGUAGE_TAG.fullmatch(tag):
            raise InvalidInput(
                f"{field}.{tag}",
                message(
                    "{tag} is not a language tag (a shipped language such as vi, or a BCP 47"
                    " tag such as zh-Hant).",
                    tag=repr(tag),
                ),
                "language_tag_invalid",
            )
        if not isinstance(name, str) or _BLANK.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise InvalidInput(
                f"{field}.{tag}",
                message("A name is 1 to {limit} characters, not all blank.", limit=MAX_NAME_LENGTH),
                "name_invalid",
            )
        parsed[tag] = name
    return parsed


def parse_classification(classification: Classification, source_required: bool) -> Classification:
    """Every code checked against the GHS tables, each listed once."""
    pictograms = _unique(
        parse_ghs_pictogram(p, f"ghs.pictograms.{i}")
        for i, p in enumerate(classification.pictograms)
    )
    hazards = _unique(
        parse_hazard_statement(h, f"ghs.hazard_statements.{i}")
        for i, h in enumerate(classification.hazard_statements)
    )
    precautions = _unique(
        parse_precautionary_statement(p, f"ghs.precautionary_statements.{i}")
        for i, p in enumerate(classification.precautionary_statements)
    )
    signal_word = classification.signal_word
    if signal_word is not None:
        signal_word = parse_signal_word(signal_word, "ghs.signal_word")
    source = (classification.source or "").strip() or None
    if source is not None and len(source) > MAX_SOURCE_LENGTH:
        raise InvalidInput(
            "ghs.source",
            message("A source is at most {limit} characters.", limit=MAX_SOURCE_LENGTH),
            "ghs_source_invalid",
        )
    if source is None and source_required:
        raise InvalidInput(
            "ghs.source",
            message(
                "Say where a classification is from (a regulation and its entry, an"
                " assessment or a safety data sheet)."
            ),
            "ghs_source_required",
        )
    return Classification(pictograms, signal_word, hazards, precautions, source)


def seed_catalogue() -> int:
    """Load the bundled controlled-substance list into an empty catalogue, then the bundled
    classifications and names into every seeded substance still without them.

    Returns the number of substances added (0 when the catalogue already has any).
    The list has one row per (substance, control list); a substance on several lists
    appears several times and becomes one substance with several memberships.
    """
    control_lists.ensure_known_lists()
    added = 0
    if not db.session.scalar(select(func.count()).select_from(Substance)):
        added = _seed_substances()
    seed_reference_data()
    return added


def seed_reference_data() -> int:
    """Fill in the bundled classifications and localised names where a substance has none.

    Safe to run on every start: a classification already recorded (bundled earlier, given
    at registration, or set by a regulator, who always gives its source, even to clear one)
    is never overwritten, nor is a name already given in a language.
    Returns the number of substances changed.
    """
    classifications = bundled_classifications()
    names = bundled_names()
    wanted = set(classifications) | set(names)
    changed = 0
    for substance in db.session.scalars(select(Substance).where(Substance.cas_rn.in_(wanted))):
        touched = False
        classification = classifications.get(substance.cas_rn)
        if classification is not None and _unclassified(substance):
            _classify(substance, classification)
            touched = True
        missing = {
            tag: name
            for tag, name in names.get(substance.cas_rn, {}).items()
            if tag not in (substance.names or {})
        }
        if missing:
            substance.names = {**(substance.names or {}), **missing}  # a new dict: JSON column
            touched = True
        changed += touched
    db.session.flush()
    return changed


@cache
def bundled_classifications() -> dict[str, Classification]:
    """``registry/data/ghs/classification.csv``, by CAS RN, every code checked."""
    classifications = {}
    for row in _data_rows("ghs/classification.csv"):
        classification = Classification(
            pictograms=row["pictograms"].split(),
            signal_word=row["signal_word"] or None,
            hazard_statements=row["hazard_statements"].split(),
            precautionary_statements=row["precautionary_statements"].split(),
            source=row["source"],
        )
        cas_rn = parse_cas_rn(row["cas_rn"])
        classifications[cas_rn] = parse_classification(classification, source_required=True)
    return classifications


@cache
def bundled_names() -> dict[str, dict[str, str]]:
    """``registry/data/substance_names.csv``: names by CAS RN and language (one column per
    language besides ``cas_rn`` and ``source``)."""
    names: dict[str, dict[str, str]] = {}
    for row in _data_rows("substance_names.csv"):
        cas_rn = parse_cas_rn(row.pop("cas_rn"))
        row.pop("source")
        names[cas_rn] = parse_names({tag: name for tag, name in row.items() if name}, "names")
    return names


def _seed_substances() -> int:
    by_key: dict[str, Substance] = {}
    for row in _data_rows("controlled_substances.csv"):
        cas_rn = row["cas_rn"].strip() or None
        key = cas_rn or row["name"].strip().lower()
        substance = by_key.get(key)
        if substance is None:
            substance = Substance(
                cas_rn=parse_cas_rn(cas_rn) if cas_rn else None,
                name=row["name"].strip(),
                synonyms=[],
                names={},
                ghs_pictograms=[],
                hazard_statements=[],
                precautionary_statements=[],
            )
            by_key[key] = substance
        code = row["list"].strip()
        if all(m.control_list_code != code for m in substance.memberships):
            substance.memberships.append(
                SubstanceControlList(
                    control_list=control_lists.get(code), notes=row["notes"].strip() or None
                )
            )
    db.session.add_all(by_key.values())
    db.session.flush()
    return len(by_key)


def _data_rows(path: str) -> list[dict[str, str]]:
    with resources.files("registry.data").joinpath(path).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _classify(substance: Substance, classification: Classification) -> None:
    substance.ghs_pictograms = list(classification.pictograms)
    substance.signal_word = classification.signal_word
    substance.hazard_statements = list(classification.hazard_statements)
    substance.precautionary_statements = list(classification.precautionary_statements)
    substance.classification_source = classification.source


def _unclassified(substance: Substance) -> bool:
    return substance.classification_source is None and not (
        substance.ghs_pictograms
        or substance.signal_word
        or substance.hazard_statements
        or substance.precautionary_statements
    )


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def _with_lists():
    return select(Substance).options(selectinload(Substance.memberships))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
