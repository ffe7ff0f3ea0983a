"""The parties of a supply chain, each an organisation with a facility, licences and a key."""

from __future__ import annotations

import pytest

from tests.api.batch_helpers import make_party


@pytest.fixture
def producer(app, auth):
    return make_party(app, auth, "Producer", 0)


@pytest.fixture
def distributor(app, auth):
    return make_party(app, auth, "Distributor", 1)


@pytest.fixture
def end_user(app, auth):
    return make_party(app, auth, "End user", 2)
