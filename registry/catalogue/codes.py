"""Validation of the identifiers the registry accepts: CAS RN, enterprise codes, UN numbers, GHS.

Each ``parse_*`` function returns the canonical form or raises ``InvalidInput``; nothing
that fails here is ever stored.
"""

from __future__ import annotations

import re

from stdnum import casrn
from stdnum.exceptions import ValidationError
from stdnum.vn import mst

from registry.catalogue import ghs
from registry.errors import InvalidInput, message

# python-stdnum strips spaces and accepts leading zeros before checking; the registry
# takes only the canonical form, so the shape is checked strictly first.
CAS_RN_PATTERN = re.compile(r"^[1-9]\d{1,6}-\d{2}-\d$")
ENTERPRISE_CODE_PATTERN = re.compile(r"^\d{10}(-?\d{3})?$")
UN_NUMBER_PATTERN = re.compile(r"^\d{4}$")
GHS_PICTOGRAMS = frozenset(f"GHS0{n}" for n in range(1, 10))
# The single hazard statement codes of the GHS tables (H200 ... H420) and the EU CLP
# suffixes that refine some of them (H350i, H360FD, ...).
H_STATEMENTS = ghs.single_hazard_codes()
H_SUFFIXES = ghs.CLP_SUFFIXES


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


def parse_signal_word(value: object, field: str) -> str:
    if not isinstance(value, str) or not ghs.is_signal_word(value):
        raise InvalidInput(
            field, message("The signal word is 'danger' or 'warning'."), "ghs_invalid"
        )
    return value


def parse_hazard_statement(value: object, field: str) -> str:
    """One H statement (H226, H350i), a combination the GHS lists (H300+H310+H330), or
    several joined by '+'."""
    if not isinstance(value, str) or not ghs.is_hazard_statement(value):
        raise InvalidInput(
            field,
            message("{value} is not a GHS hazard statement code.", value=repr(value)),
            "ghs_invalid",
        )
    return value


def parse_precautionary_statement(value: object, field: str) -> str:
    """One P statement (P210) or a combination the GHS lists (P305+P351+P338)."""
    if not isinstance(value, str) or not ghs.is_precautionary_statement(value):
        raise InvalidInput(
            field,
            message("{value} is not a GHS precautionary statement code.", value=repr(value)),
            "ghs_invalid",
        )
    return value
