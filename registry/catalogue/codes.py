"""Validation of the identifiers the registry accepts: CAS RN, enterprise codes, UN numbers, GHS.

Each ``parse_*`` function returns the canonical form or raises ``InvalidInput``; nothing
that fails here is ever stored.
"""

from __future__ import annotations

import re

from stdnum import casrn
from stdnum.exceptions import ValidationError
from stdnum.vn import mst

from registry.errors import InvalidInput, message

# python-stdnum strips spaces and accepts leading zeros before checking; the registry
# takes only the canonical form, so the shape is checked strictly first.
CAS_RN_PATTERN = re.compile(r"^[1-9]\d{1,6}-\d{2}-\d$")
ENTERPRISE_CODE_PATTERN = re.compile(r"^\d{10}(-?\d{3})?$")
UN_NUMBER_PATTERN = re.compile(r"^\d{4}$")
GHS_PICTOGRAMS = frozenset(f"GHS0{n}" for n in range(1, 10))

# GHS Rev. 10 hazard statement codes (physical, health, environmental).
H_STATEMENTS = frozenset(
    [f"H{n}" for n in (200, 201, 202, 203, 204, 205, 206, 207, 208)]
    + [f"H{n}" for n in range(220, 233)]
    + [f"H{n}" for n in (240, 241, 242, 250, 251, 252, 260, 261, 270, 271, 272)]
    + [f"H{n}" for n in (280, 281, 282, 283, 284, 290)]
    + [f"H{n}" for n in (300, 301, 302, 303, 304, 305, 310, 311, 312, 313, 314, 315, 316)]
    + [f"H{n}" for n in (317, 318, 319, 320, 330, 331, 332, 333, 334, 335, 336, 340, 341)]
    + [f"H{n}" for n in (350, 351, 360, 361, 362, 370, 371, 372, 373)]
    + [f"H{n}" for n in (400, 401, 402, 410, 411, 412, 413, 420)]
)
# EU CLP refines some codes with a route or effect suffix (H350i, H360FD, ...).
H_SUFFIXES = frozenset(["", "i", "F", "D", "FD", "Fd", "Df", "f", "d", "fd"])
H_CODE_PATTERN = re.compile(r"^(H\d{3})([A-Za-z]{0,2})$")


def parse_cas_rn(value: object, field: str = "cas_rn") -> str:
    if not isinstance(value, str) or not CAS_RN_PATTERN.fullmatch(value):
        raise InvalidInput(
            field,
            message(
                "A CAS RN has the canonical form NNNNNNN-NN-N (2 to 7 digits, no leading zero)."
            ),
            "cas_invalid",
        )
    if not casrn.is_valid(value):
        raise InvalidInput(
            field, message("{value} fails the CAS RN check digit.", value=value), "cas_invalid"
        )
    return value


def parse_enterprise_code(value: object, field: str = "enterprise_code") -> str:
    """A Vietnamese enterprise (tax) code: 10 digits with a check digit, or 13 with a branch.

    Returned compact: ``0100109106-001`` becomes ``0100109106001``.
    """
    if not isinstance(value, str) or not ENTERPRISE_CODE_PATTERN.fullmatch(value):
        raise InvalidInput(
            field,
            message("An enterprise code is 10 digits, or 13 digits with a 3-digit branch suffix."),
            "enterprise_code_invalid",
        )
    try:
        return mst.validate(value)
    except ValidationError as exc:
        raise InvalidInput(
            field,
            message(
                "{value} is not a valid enterprise code: {reason}", value=value, reason=exc.message
            ),
            "enterprise_code_invalid",
        ) from None


def parse_un_number(value: object, field: str = "un_number") -> str:
    if not isinstance(value, str) or not UN_NUMBER_PATTERN.fullmatch(value) or value == "0000":
        raise InvalidInput(
            field, message("A UN number is 4 digits, for example 1715."), "un_number_invalid"
        )
    return value


def parse_ghs_pictogram(value: object, field: str) -> str:
    if value not in GHS_PICTOGRAMS:
        raise InvalidInput(field, message("GHS pictograms are GHS01 to GHS09."), "ghs_invalid")
    return str(value)


def parse_hazard_statement(value: object, field: str) -> str:
    """One H statement, or several joined by '+' (H300+H310+H330)."""
    parts = value.split("+") if isinstance(value, str) else [None]
    for part in parts:
        match = H_CODE_PATTERN.fullmatch(part) if isinstance(part, str) else None
        if not match or match[1] not in H_STATEMENTS or match[2] not in H_SUFFIXES:
            raise InvalidInput(
                field,
                message("{code} is not a GHS hazard statement code.", code=repr(value)),
                "ghs_invalid",
            )
    return str(value)
