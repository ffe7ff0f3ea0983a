"""Events by their EPCIS eventID: the hashes kept per public URL, filled in ledger order a
batch at a time, found only while they are still the event's."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry import unit_of_work
from registry.db import db
from registry.epcis import event_ids, query
from registry.models import EpcisEventId, Event
from tests.api.batch_helpers import make_party, register

BASE = "https://registry.example.org/api/v1"
OTHER_BASE = "https://elsewhere.example.org/api/v1"


@pytest.fixture
def recorded(app, client, auth) -> int:
    party = make_party(app, auth, "Hashes Chemicals JSC", 0)
    for value in ("10", "20", "30"):
        register(client, party, value)
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Event))


def emitted(base_url: str) -> list[dict]:
    found = list(db.session.scalars(select(Event).order_by(Event.ledger_index)))
    return query.epcis_events(found, base_url)


def index_all(base_url: str) -> list[int]:
    counts = []
    while count := unit_of_work.write_separately(lambda: event_ids.index_next(base_url)):
        counts.append(count)
    return counts


def test_every_event_is_found_by_its_id_once_indexed(app, recorded, monkeypatch):
    monkeypatch.setattr(event_ids, "BATCH", 2)
    with app.app_context():
        assert event_ids.behind(BASE)
        counts = index_all(BASE)
        assert sum(counts) == recorded and max(counts) == 2
        assert not event_ids.behind(BASE)
        for event in emitted(BASE):
            assert event_ids.find(event["eventID"], BASE) == event


def test_each_public_url_has_its_own_ids(app, recorded):
    with app.app_context():
        index_all(BASE)
        event_id = emitted(BASE)[0]["eventID"]
        assert event_ids.behind(OTHER_BASE)
        index_all(OTHER_BASE)
        assert event_ids.find(event_id, OTHER_BASE) is None
        other = emitted(OTHER_BASE)[0]
        assert other["eventID"] != event_id
        assert event_ids.find(other["eventID"], OTHER_BASE) == other


def test_indexing_the_same_events_twice_keeps_one_row_each(app, recorded, monkeypatch):
    with app.app_context():
        index_all(BASE)
        # Two lookups that read the same last index both index the same events.
        monkeypatch.setattr(event_ids, "_indexed_up_to", lambda base: -1)
        assert unit_of_work.write_separately(lambda: event_ids.index_next(BASE)) == recorded
        rows = db.session.scalar(select(func.count()).select_from(EpcisEventId))
        assert rows == recorded


def test_an_id_no_longer_the_event_s_is_not_found(app, recorded):
    with app.app_context():
        index_all(BASE)
        first, second = emitted(BASE)[:2]
        row = db.session.get(EpcisEventId, (event_ids.base_key(BASE), first["eventID"][14:78]))
        # As if the first event's EPCIS form had changed: its kept hash is another event's.
        row.event_id = db.session.scalar(
            select(Event.id).where(Event.ledger_index == second["ct:ledgerIndex"])
        )
        unit_of_work.commit()
        assert event_ids.find(first["eventID"], BASE) is None
        assert event_ids.find(second["eventID"], BASE) == second


@pytest.mark.parametrize(
    "text",
    [
        "ni:///sha-256;" + "0" * 63 + "?ver=CBV2.0",
        "ni:///sha-256;" + "0" * 64,
        "NI:///sha-256;" + "0" * 64 + "?ver=CBV2.0",
        "urn:uuid:831c0292-4de1-430a-8255-2aca821abaab",
        "",
    ],
)
def test_only_the_registry_s_form_of_id_is_read(text):
    assert event_ids.digest_of(text) is None
    assert event_ids.digest_of("ni:///sha-256;" + "ab" * 32 + "?ver=CBV2.0") == "ab" * 32
