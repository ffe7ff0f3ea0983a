"""API keys over HTTP: the last active admin key is never revoked there."""

from __future__ import annotations

from tests.api.test_errors import assert_problem

KEYS = "/api/v1/api-keys"


def _key_id(headers: dict[str, str]) -> str:
    return headers["Authorization"].split("_")[1].upper()


def test_the_last_admin_key_cannot_revoke_itself(client, auth):
    admin = auth("admin")
    refused = client.post(f"{KEYS}/{_key_id(admin)}/revoke", headers=admin)
    body = assert_problem(refused, 409, "last_admin_key")
    assert _key_id(admin) in body["detail"]
    # Nothing changed: the key still works.
    assert client.get(KEYS, headers=admin).status_code == 200


def test_an_admin_key_may_go_while_another_remains(client, auth):
    first = auth("admin")
    created = client.post(KEYS, json={"role": "admin"}, headers=first).json
    second = {"Authorization": f"Bearer {created['key']}"}
    # Two active admin keys: one may revoke itself...
    revoked = client.post(f"{KEYS}/{_key_id(first)}/revoke", headers=first)
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    assert_problem(client.get(KEYS, headers=first), 401, "unauthenticated")
    # ... but then the other is the last, whoever asks.
    assert_problem(
        client.post(f"{KEYS}/{created['id']}/revoke", headers=second), 409, "last_admin_key"
    )
    # Revoking an already revoked admin key stays harmless.
    assert client.post(f"{KEYS}/{_key_id(first)}/revoke", headers=second).status_code == 200
    assert client.get(KEYS, headers=second).status_code == 200


def test_other_roles_keys_are_revoked_as_before(client, auth):
    admin = auth("admin")
    for role in ("regulator", "inspector"):
        created = client.post(KEYS, json={"role": role}, headers=admin).json
        assert client.post(f"{KEYS}/{created['id']}/revoke", headers=admin).status_code == 200
