"""Control lists: which jurisdiction keeps them, and lookup by code."""

from __future__ import annotations

from registry.db import db
from registry.errors import Conflict, InvalidInput, message
from registry.models import ControlList

# Names and jurisdictions of the lists the seed catalogue refers to. Lists not named here
# can be added by regulators at run time.
KNOWN_LISTS: dict[str, tuple[str, str]] = {
    "UN-1988-Table-I": ("UN", "1988 UN Convention, Table I"),
    "UN-1988-Table-II": ("UN", "1988 UN Convention, Table II"),
    "EU-cat-1": ("EU", "EU drug precursors, category 1"),
    "EU-cat-2": ("EU", "EU drug precursors, category 2"),
    "EU-cat-2A": ("EU", "EU drug precursors, category 2A"),
    "EU-cat-2B": ("EU", "EU drug precursors, category 2B"),
    "EU-cat-3": ("EU", "EU drug precursors, category 3"),
    "EU-cat-4": ("EU", "EU drug precursors, category 4"),
    "DEA-List-I": ("US", "US DEA List I chemicals (21 CFR 1310.02)"),
    "DEA-List-II": ("US", "US DEA List II chemicals (21 CFR 1310.02)"),
    "CWC-Schedule-1": ("CWC", "Chemical Weapons Convention, Schedule 1"),
    "CWC-Schedule-2": ("CWC", "Chemical Weapons Convention, Schedule 2"),
    "CWC-Schedule-3": ("CWC", "Chemical Weapons Convention, Schedule 3"),
    "VN-ND24-AnnexIII-Group1-A": ("VN", "Vietnam Decree 24/2026, Annex III, Group 1-A"),
    "VN-ND24-AnnexIII-Group2-A": ("VN", "Vietnam Decree 24/2026, Annex III, Group 2-A"),
}


def get(code: object, field: str = "control_list") -> ControlList:
    control_list = db.session.get(ControlList, code) if isinstance(code, str) else None
    if control_list is None:
        raise InvalidInput(
            field,
            message("{code} is not a known control list.", code=repr(code)),
            "unknown_control_list",
        )
    return control_list


def all_lists() -> list[ControlList]:
    return list(db.session.scalars(db.select(ControlList).order_by(ControlList.code)))


def create(code: str, jurisdiction: str, name: str) -> ControlList:
    if db.session.get(ControlList, code) is not None:
        raise Conflict(
            message("Control list {code} already exists.", code=code), "control_list_exists"
        )
    control_list = ControlList(code=code, jurisdiction=jurisdiction, name=name)
    db.session.add(control_list)
    db.session.flush()
    return control_list


def ensure_known_lists() -> int:
    """Insert the lists above that are missing; returns how many were added."""
    present = set(db.session.scalars(db.select(ControlList.code)))
    missing = [code for code in KNOWN_LISTS if code not in present]
    for code in missing:
        jurisdiction, name = KNOWN_LISTS[code]
        db.session.add(ControlList(code=code, jurisdiction=jurisdiction, name=name))
    db.session.flush()
    return len(missing)
