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


def test_the_seed_classifies_and_names_what_it_has_sources_for(ctx):
    acetic = substances.get_by_cas_rn("108-24-7")
    assert acetic.ghs_pictograms == ["GHS02", "GHS05", "GHS06"]
    assert acetic.signal_word == "danger"
    assert acetic.hazard_statements == ["H226", "H302", "H314", "H330"]
    assert acetic.precautionary_statements == []
    assert "607-008-00-9" in acetic.classification_source
    assert acetic.names == {"vi": "Acetic anhydride (AA)"}
    apaan = substances.get_by_cas_rn("4468-48-8")
    assert apaan.ghs_pictograms == [] and apaan.signal_word is None
    assert apaan.classification_source is None
    classified = db.session.scalar(
        select(func.count()).select_from(Substance).where(Substance.signal_word.is_not(None))
    )
    assert classified == len(substances.bundled_classifications())


def test_the_seed_fills_a_catalogue_seeded_before_and_never_overwrites(ctx):
    # A catalogue seeded before classifications and names were bundled.
    for substance in db.session.scalars(select(Substance)):
        substance.ghs_pictograms, substance.signal_word = [], None
        substance.hazard_statements, substance.precautionary_statements = [], []
        substance.classification_source, substance.names = None, {}
    db.session.flush()
    substances.set_classification(
        "67-64-1",
        substances.Classification(["GHS07"], "warning", ["H319"], ["P280"], "Regulator, 2026"),
    )
    substances.set_classification("64-19-7", substances.Classification(source="withdrawn"))
    substances.set_names("108-88-3", {"vi": "Toluen"})

    assert substances.seed_catalogue() == 0
    assert substances.get_by_cas_rn("108-24-7").signal_word == "danger"
    assert substances.get_by_cas_rn("108-24-7").names == {"vi": "Acetic anhydride (AA)"}
    acetone = substances.get_by_cas_rn("67-64-1")
    assert (acetone.ghs_pictograms, acetone.hazard_statements) == (["GHS07"], ["H319"])
    assert acetone.classification_source == "Regulator, 2026"
    assert acetone.names == {"vi": "Acetone"}  # no name before: the bundled one
    cleared = substances.get_by_cas_rn("64-19-7")
    assert cleared.hazard_statements == [] and cleared.classification_source == "withdrawn"
    assert substances.get_by_cas_rn("108-88-3").names == {"vi": "Toluen"}

    snapshot = [
        (s.cas_rn, s.ghs_pictograms, s.signal_word, s.hazard_statements, s.names)
        for s in db.session.scalars(select(Substance).order_by(Substance.id))
    ]
    assert substances.seed_reference_data() == 0  # idempotent
    assert snapshot == [
        (s.cas_rn, s.ghs_pictograms, s.signal_word, s.hazard_statements, s.names)
        for s in db.session.scalars(select(Substance).order_by(Substance.id))
    ]


def test_set_classification_checks_everything_and_changes_nothing_on_failure(ctx):
    before = substances.get_by_cas_rn("108-24-7").hazard_statements
    for broken, code in [
        (substances.Classification(["GHS10"], source="x"), "ghs_invalid"),
        (substances.Classification(signal_word="caution", source="x"), "ghs_invalid"),
        (substances.Classification(hazard_statements=["H999"], source="x"), "ghs_invalid"),
        (substances.Classification(precautionary_statements=["P999"], source="x"), "ghs_invalid"),
        (substances.Classification(["GHS02"], "danger", ["H225"]), "ghs_source_required"),
        (substances.Classification(source="x" * 301), "ghs_source_invalid"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            substances.set_classification("108-24-7", broken)
        assert refused.value.code == code
    assert substances.get_by_cas_rn("108-24-7").hazard_statements == before
    with pytest.raises(InvalidInput) as refused:
        substances.set_names("108-24-7", {"Vietnamese": "x"})
    assert refused.value.code == "language_tag_invalid"
    with pytest.raises(InvalidInput) as refused:
        substances.set_names("108-24-7", {"vi": "\u3000 "})
    assert refused.value.code == "name_invalid"
