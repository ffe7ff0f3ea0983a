"""The catalogue's seed and search rules, against the real database."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import func, select

from registry.catalogue import substances
from registry.catalogue.substances import SubstanceFacts
from registry.db import db
from registry.errors import Conflict, InvalidInput
from registry.models import Substance, SubstanceControlList
from tests.reference import TEST_DATA


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def test_seed_loads_every_row_of_the_reference_list(ctx):
    with (TEST_DATA / "substances" / "controlled_substances.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    expected_substances = {r["cas_rn"] or r["name"].lower() for r in rows}
    expected_memberships = {(r["cas_rn"] or r["name"].lower(), r["list"]) for r in rows}
    assert db.session.scalar(select(func.count()).select_from(Substance)) == len(
        expected_substances
    )
    assert db.session.scalar(select(func.count()).select_from(SubstanceControlList)) == len(
        expected_memberships
    )
    acetic = substances.get_by_cas_rn("108-24-7")
    assert acetic.name == "Acetic anhydride"
    assert "UN-1988-Table-I" in {m.control_list_code for m in acetic.memberships}


def test_seed_runs_only_into_an_empty_catalogue(ctx):
    assert substances.seed_catalogue() == 0


def test_search_by_name_fragment_is_case_insensitive_and_literal(ctx):
    page = substances.search(None, "ANHYDRIDE", None, 500, None)
    assert "108-24-7" in {s.cas_rn for s in page.items}
    assert substances.search(None, "%", None, 500, None).items == []


def test_search_pages_through_everything_without_repeats(ctx):
    seen, cursor = [], None
    while True:
        page = substances.search(None, None, "UN-1988-Table-I", 7, cursor)
        seen += [s.id for s in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    total = db.session.scalar(
        select(func.count())
        .select_from(SubstanceControlList)
        .where(SubstanceControlList.control_list_code == "UN-1988-Table-I")
    )
    assert len(seen) == len(set(seen)) == total


def test_register_checks_every_identifier_and_stores_nothing_on_failure(ctx):
    facts = SubstanceFacts(
        name="Sodium cyanide",
        cas_rn="143-33-9",
        un_number="1689",
        ghs_pictograms=["GHS06", "GHS09"],
        hazard_statements=["H300+H310+H330", "H410"],
        control_lists=["CWC-Schedule-3"],
    )
    for broken, code in [
        (SubstanceFacts(**{**facts.__dict__, "cas_rn": "143-33-8"}), "cas_invalid"),
        (SubstanceFacts(**{**facts.__dict__, "un_number": "16899"}), "un_number_invalid"),
        (SubstanceFacts(**{**facts.__dict__, "ghs_pictograms": ["GHS10"]}), "ghs_invalid"),
        (SubstanceFacts(**{**facts.__dict__, "control_lists": ["XX"]}), "unknown_control_list"),
    ]:
        with pytest.raises(InvalidInput) as raised:
            substances.register(broken)
        assert raised.value.code == code
        db.session.rollback()
    assert db.session.scalar(select(Substance).where(Substance.cas_rn == "143-33-9")) is None
    created = substances.register(facts)
    db.session.commit()
    assert created.un_number == "1689"
    with pytest.raises(Conflict):
        substances.register(facts)
