"""Matching events to a saved query, and the red flags an event raises as it is written."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from registry.models import Event, SavedQuery
from registry.subscriptions.matching import flags_of, matcher

BASE = "http://127.0.0.1:8000"


def event(type_: str = "shipped", organization: str = "ORG-A", delta: int | None = None, **kw):
    return Event(
        id="E1",
        type=type_,
        batch_id=kw.pop("batch_id", "B1"),
        organization_id=organization,
        cas_rn=kw.pop("cas_rn", "108-24-7"),
        quantity_delta_micro=delta,
        details={},
        recorded_at=kw.pop("recorded_at", datetime(2026, 6, 1, tzinfo=UTC)),
        **kw,
    )


def query(parameters, owner_organization_id=None):
    return SavedQuery(
        name="q",
        parameters=parameters,
        owner_credential_id="K",
        owner_role="regulator" if owner_organization_id is None else "enterprise",
        owner_organization_id=owner_organization_id,
    )


@pytest.mark.parametrize(
    ("parameters", "matching", "other"),
    [
        ({}, event(), None),
        ({"EQ_bizStep": ["shipping"]}, event("shipped"), event("consumed")),
        ({"EQ_organizationID": ["ORG-A"]}, event(), event(organization="ORG-B")),
        ({"EQ_casRN": ["108-24-7"]}, event(), event(cas_rn="67-64-1")),
        ({"MATCH_epc": [f"{BASE}/batches/B1"]}, event(), event(batch_id="B2")),
        (
            {
                "GE_eventTime": "2026-05-01T00:00:00+00:00",
                "LT_eventTime": "2026-07-01T00:00:00+00:00",
            },
            event(),
            event(recorded_at=datetime(2026, 8, 1, tzinfo=UTC)),
        ),
        (
            {"EQ_redFlag": ["receipt_discrepancy"]},
            event("received", delta=-5),
            event("received", delta=0),
        ),
    ],
)
def test_each_parameter(app, parameters, matching, other):
    with app.app_context():
        m = matcher(query(parameters), BASE)
        assert m.matches(matching)
        if other is not None:
            assert not m.matches(other)


def test_an_enterprise_owner_sees_its_own_organisation_only(app):
    with app.app_context():
        m = matcher(query({"EQ_organizationID": ["ORG-A", "ORG-B"]}, "ORG-B"), BASE)
        assert m.matches(event(organization="ORG-B"))
        assert not m.matches(event(organization="ORG-A"))
        assert not matcher(query({}, "ORG-B"), BASE).matches(event(organization="ORG-A"))


def test_a_control_list_is_its_substances(app):
    with app.app_context():
        m = matcher(query({"EQ_controlList": ["UN-1988-Table-I"]}), BASE)
        assert m.matches(event(cas_rn="108-24-7"))  # acetic anhydride: Table I
        assert not m.matches(event(cas_rn="7732-18-5"))  # water


@pytest.mark.parametrize(
    ("type_", "delta", "flags"),
    [
        ("received", -500, ["receipt_discrepancy"]),
        ("received", 500, ["receipt_discrepancy", "stock_without_inflow"]),
        ("received", None, []),
        ("adjusted", -1, ["adjustment"]),
        ("adjusted", 1, ["adjustment", "stock_without_inflow"]),
        ("incident", -1, ["loss_or_theft"]),
        ("shipped", -1, []),
    ],
)
def test_flags_of(type_, delta, flags):
    assert flags_of(event(type_, delta=delta)) == flags


def test_red_flags_worked_out_elsewhere_are_asked_only_when_the_rest_matches(app):
    with app.app_context():
        m = matcher(query({"EQ_redFlag": ["licence_missing"], "eventType": ["ObjectEvent"]}), BASE)
        asked = []

        def flags():
            asked.append(True)
            return ["licence_missing"]

        assert m.matches(event("shipped"), flags)
        assert not m.matches(event("shipped"))  # by itself a shipment raises none
        assert not m.matches(event("transformed"), flags)  # not an ObjectEvent: not asked
        assert asked == [True]
