"""The substance catalogue: lookup, search, registration and the first-start seed."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from registry.catalogue import control_lists
from registry.catalogue.codes import (
    parse_cas_rn,
    parse_ghs_pictogram,
    parse_hazard_statement,
    parse_un_number,
)
from registry.db import db
from registry.errors import Conflict, NotFound
from registry.models import Substance, SubstanceControlList
from registry.pagination import Page, paginate


@dataclass(frozen=True)
class SubstanceFacts:
    name: str
    cas_rn: str | None = None
    synonyms: list[str] = field(default_factory=list)
    un_number: str | None = None
    ghs_pictograms: list[str] = field(default_factory=list)
    hazard_statements: list[str] = field(default_factory=list)
    control_lists: list[str] = field(default_factory=list)


def get_by_cas_rn(cas_rn: str) -> Substance:
    cas_rn = parse_cas_rn(cas_rn)
    substance = db.session.scalar(_with_lists().where(Substance.cas_rn == cas_rn))
    if substance is None:
        raise NotFound(f"No substance with CAS RN {cas_rn} in the catalogue.")
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
    substance = Substance(
        cas_rn=cas_rn,
        name=facts.name,
        synonyms=list(facts.synonyms),
        un_number=parse_un_number(facts.un_number) if facts.un_number is not None else None,
        ghs_pictograms=[
            parse_ghs_pictogram(p, f"ghs.pictograms.{i}")
            for i, p in enumerate(facts.ghs_pictograms)
        ],
        hazard_statements=[
            parse_hazard_statement(h, f"ghs.hazard_statements.{i}")
            for i, h in enumerate(facts.hazard_statements)
        ],
    )
    for i, code in enumerate(dict.fromkeys(facts.control_lists)):
        control_list = control_lists.get(code, f"control_lists.{i}")
        substance.memberships.append(SubstanceControlList(control_list=control_list))
    if cas_rn is not None and db.session.scalar(
        select(Substance.id).where(Substance.cas_rn == cas_rn)
    ):
        raise Conflict(f"{cas_rn} is already in the catalogue.", "substance_exists")
    db.session.add(substance)
    db.session.flush()
    return substance


def seed_catalogue() -> int:
    """Load the bundled controlled-substance list into an empty catalogue.

    Returns the number of substances added (0 when the catalogue already has any).
    The list has one row per (substance, control list); a substance on several lists
    appears several times and becomes one substance with several memberships.
    """
    control_lists.ensure_known_lists()
    if db.session.scalar(select(func.count()).select_from(Substance)):
        return 0
    by_key: dict[str, Substance] = {}
    with resources.files("registry.data").joinpath("controlled_substances.csv").open() as f:
        for row in csv.DictReader(f):
            cas_rn = row["cas_rn"].strip() or None
            key = cas_rn or row["name"].strip().lower()
            substance = by_key.get(key)
            if substance is None:
                substance = Substance(
                    cas_rn=parse_cas_rn(cas_rn) if cas_rn else None,
                    name=row["name"].strip(),
                    synonyms=[],
                    ghs_pictograms=[],
                    hazard_statements=[],
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


def _with_lists():
    return select(Substance).options(selectinload(Substance.memberships))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
