"""Identifier rules: every CAS RN case in the reference file (tests/data) behaves as listed."""

from __future__ import annotations

import csv

import pytest

from registry.catalogue.codes import (
    parse_cas_rn,
    parse_enterprise_code,
    parse_ghs_pictogram,
    parse_hazard_statement,
    parse_un_number,
)
from registry.errors import InvalidInput
from tests.reference import TEST_DATA

with (TEST_DATA / "substances" / "cas_check_cases.csv").open(newline="") as f:
    CAS_CASES = list(csv.DictReader(f))


def test_reference_file_has_cases():
    assert len(CAS_CASES) >= 15


@pytest.mark.parametrize("case", CAS_CASES, ids=lambda c: f"{c['category']}:{c['cas_string']!r}")
def test_cas_rn_case(case):
    expected = case["expected_valid"] == "true"
    if expected:
        assert parse_cas_rn(case["cas_string"]) == case["cas_string"]
    else:
        with pytest.raises(InvalidInput) as raised:
            parse_cas_rn(case["cas_string"])
        assert raised.value.code == "cas_invalid"


@pytest.mark.parametrize("value", [None, 108247, "", "108-24-7\n"])
def test_cas_rn_refuses_non_canonical_values(value):
    with pytest.raises(InvalidInput):
        parse_cas_rn(value)


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        ("0300588569", "0300588569"),
        ("0101248141", "0101248141"),
        ("0100109106-001", "0100109106001"),
        ("0100109106001", "0100109106001"),
    ],
)
def test_valid_enterprise_codes(value, canonical):
    assert parse_enterprise_code(value) == canonical


@pytest.mark.parametrize(
    "value",
    [
        "0300588568",  # check digit off by one
        "0100109106-000",  # branch 000
        "0100109106-01",  # short branch
        "030058856",  # 9 digits
        " 0300588569",  # whitespace
        "0300588569 ",
        "03005885690000",
        "0000000000",
        3005885690,
    ],
)
def test_invalid_enterprise_codes(value):
    with pytest.raises(InvalidInput) as raised:
        parse_enterprise_code(value)
    assert raised.value.code == "enterprise_code_invalid"


def test_un_numbers():
    assert parse_un_number("1715") == "1715"
    for bad in ["UN1715", "171", "17155", "0000", 1715]:
        with pytest.raises(InvalidInput):
            parse_un_number(bad)


def test_ghs_pictograms_and_hazard_statements():
    assert parse_ghs_pictogram("GHS05", "f") == "GHS05"
    for bad in ["GHS10", "GHS00", "ghs05", "GHS5"]:
        with pytest.raises(InvalidInput):
            parse_ghs_pictogram(bad, "f")
    for good in ["H226", "H314", "H300+H310+H330", "H350i", "H360FD"]:
        assert parse_hazard_statement(good, "f") == good
    for bad in ["H999", "H31", "h314", "H314x", "H300+", "EUH014", ""]:
        with pytest.raises(InvalidInput):
            parse_hazard_statement(bad, "f")
