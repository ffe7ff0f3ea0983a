"""A label's words (and so its ETag) read in one Core statement are the words the ORM
objects gave, for the batch's label and a container's; what is not there is still 404."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from api.render.label_layout import label_content
from registry.access.credentials import Principal
from registry.db import db
from registry.labels import issuing, printed
from registry.models import Batch
from tests.api.batch_helpers import make_party, register


@pytest.fixture
def other(app, auth):
    return make_party(app, auth, "Other", 1)


def _orm_content(batch_id: str, container: str | None, locale: str):
    batch = db.session.get(Batch, batch_id)
    identifier = next(i for i in batch.identifiers if i.container_serial == container)
    return label_content(batch, identifier, issuing.holder_when_issued(identifier), locale)


@pytest.mark.parametrize("locale", ["en", "vi"])
def test_the_words_are_the_orm_words(app, client, producer, locale):
    batch = register(
        client,
        producer,
        "25",
        containers=2,
        manufactured_on="2026-01-02",
        expires_on="2027-01-02",
    )
    regulator = Principal("x", "regulator", None)
    with app.test_request_context(), force_locale(locale):
        for container in (None, batch["containers"][1]["serial"]):
            facts = printed.label_facts(batch["id"], container, regulator)
            core = label_content(facts.batch, facts.identifier, facts.holder, locale)
            assert core == _orm_content(batch["id"], container, locale)
            assert facts.identifier.container_serial == container


def test_what_is_not_there_or_not_theirs_is_not_found(client, producer, other):
    batch = register(client, producer, "25", containers=1)
    url = f"/api/v1/batches/{batch['id']}/label.png"
    assert client.get(url, headers=producer.headers).status_code == 200
    for headers, query in (
        (other.headers, ""),  # another enterprise's batch
        (producer.headers, "?container=NOPE"),
    ):
        response = client.get(url + query, headers=headers)
        assert response.status_code == 404 and response.json["code"] == "not_found"
    missing = client.get(
        "/api/v1/batches/01NOSUCHBATCH0000000000000/label.png", headers=producer.headers
    )
    assert missing.status_code == 404
