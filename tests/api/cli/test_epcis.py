"""``chemtrace epcis index``: the eventIDs of the events recorded so far, computed at once."""

from __future__ import annotations

from sqlalchemy import func, select

from registry.db import db
from registry.models import EpcisEventId, Event
from tests.api.batch_helpers import register


def test_index_computes_every_event_s_id_once(app, runner, producer, client):
    register(client, producer, "10")
    register(client, producer, "2")
    for _ in range(2):  # again: nothing more to do
        result = runner.invoke(args=["epcis", "index"])
        assert result.exit_code == 0, result.output
    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(Event))
        ids = db.session.scalar(select(func.count()).select_from(EpcisEventId))
    assert ids == events > 0
    assert "0 events indexed for" in result.output
