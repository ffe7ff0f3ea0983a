"""The JWK set's JSON is built once per change of the keys, and is always the JSON of jwks()."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from crypto.keys import KeyStore


def test_the_cached_jwks_follows_every_change_of_the_keys(tmp_path):
    store = KeyStore(tmp_path)
    assert store.jwks_json() == json.dumps({"keys": []}, sort_keys=True)
    store.ensure()
    first = store.jwks_json()
    assert first == json.dumps(store.jwks(), sort_keys=True)
    assert store.jwks_json() is first  # built once while keys.json is unchanged
    store.rotate()
    assert store.jwks_json() == json.dumps(store.jwks(), sort_keys=True) != first
    current = store.current()
    store.mark_compromised(current.kid, datetime(2026, 1, 1, tzinfo=UTC))
    assert "compromised_since" in store.jwks_json()
    assert store.jwks_json() == json.dumps(store.jwks(), sort_keys=True)
    # Another process (another KeyStore on the same directory) changing the keys is seen too.
    KeyStore(tmp_path).rotate()
    assert store.jwks_json() == json.dumps(store.jwks(), sort_keys=True)
