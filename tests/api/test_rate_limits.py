"""Rate limits per credential, per client address, and on failed authentications."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from tests.api.test_errors import assert_problem

BATCHES = "/api/v1/batches"


@pytest.fixture
def limited(another_app):
    """``limited(**limits)`` → a client of the service on the same database, limits on."""

    def make(**config):
        limits = {
            "RATELIMIT_ENABLED": True,
            "RATE_LIMIT_PER_CREDENTIAL": "5/minute",
            "RATE_LIMIT_PER_ADDRESS": "20/minute",
            "RATE_LIMIT_FAILED_AUTH": "3/minute",
        }
        return another_app(**{**limits, **config}).test_client()

    return make


def _retry_after(response) -> int:
    value = int(response.headers["Retry-After"])
    assert 0 < value <= 60
    return value


def test_a_credential_is_limited_and_another_is_not(limited, auth):
    client = limited()
    first, second = auth("regulator"), auth("regulator")
    for remaining in range(4, -1, -1):
        served = client.get(BATCHES, headers=first)
        assert served.status_code == 200
        assert int(served.headers["X-RateLimit-Remaining"]) <= remaining
        assert "Retry-After" not in served.headers
    refused = client.get(BATCHES, headers=first)
    body = assert_problem(refused, 429, "rate_limited")
    assert "credential" in body["detail"]
    _retry_after(refused)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert client.get(BATCHES, headers=second).status_code == 200


def test_an_address_is_limited_whatever_credentials_it_presents(limited, auth):
    client = limited(RATE_LIMIT_PER_ADDRESS="6/minute")
    keys = [auth("regulator") for _ in range(7)]
    for headers in keys[:6]:
        assert client.get(BATCHES, headers=headers).status_code == 200
    refused = client.get(BATCHES, headers=keys[6])
    assert "address" in assert_problem(refused, 429, "rate_limited")["detail"]
    _retry_after(refused)
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get(BATCHES, headers=keys[6], environ_base=elsewhere).status_code == 200


def test_guessing_credentials_is_cut_off_and_the_address_then_waits(limited, auth):
    client = limited()
    good = auth("regulator")

    def guess(attempt: int):
        return client.get(BATCHES, headers={"Authorization": f"Bearer ctk_guess_{attempt}"})

    for attempt in range(2):
        assert_problem(guess(attempt), 401, "unauthenticated")
    # Successes do not count against this limit...
    for _ in range(3):
        assert client.get(BATCHES, headers=good).status_code == 200
    # ... but once three failures are in, the address is refused, even with a good key.
    assert_problem(guess(2), 401, "unauthenticated")
    assert_problem(guess(3), 429, "rate_limited")
    refused = client.get(BATCHES, headers=good)
    assert "failed authentications" in assert_problem(refused, 429, "rate_limited")["detail"]
    _retry_after(refused)
    elsewhere = {"REMOTE_ADDR": "192.0.2.8"}
    assert client.get(BATCHES, headers=good, environ_base=elsewhere).status_code == 200


def test_probes_are_never_limited(limited):
    client = limited(RATE_LIMIT_PER_ADDRESS="2/minute")
    for _ in range(10):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_forwarded_addresses_are_believed_only_behind_a_configured_proxy(limited, auth):
    headers = auth("regulator")

    def forwarded(client, address):
        return client.get(BATCHES, headers={**headers, "X-Forwarded-For": address})

    direct = limited(RATE_LIMIT_PER_ADDRESS="2/minute", RATE_LIMIT_PER_CREDENTIAL="50/minute")
    assert forwarded(direct, "198.51.100.1").status_code == 200
    assert forwarded(direct, "198.51.100.2").status_code == 200
    # Without a trusted proxy, a forged X-Forwarded-For does not make a new client.
    assert_problem(forwarded(direct, "198.51.100.3"), 429, "rate_limited")

    behind_proxy = limited(
        RATE_LIMIT_PER_ADDRESS="2/minute", RATE_LIMIT_PER_CREDENTIAL="50/minute", PROXY_HOPS=1
    )
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):
        assert forwarded(behind_proxy, address).status_code == 200
        assert forwarded(behind_proxy, address).status_code == 200
    assert_problem(forwarded(behind_proxy, "203.0.113.1"), 429, "rate_limited")


def test_limits_hold_across_servers_sharing_redis(limited, auth):
    url = os.environ.get("CHEMTRACE_TEST_REDIS_URL")
    if not url:
        pytest.skip("set CHEMTRACE_TEST_REDIS_URL (CI does) to test limits shared in Redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"CHEMTRACE_TEST_REDIS_URL={url} is unreachable: {exc}")
    shared = {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4()}"}
    one, two = limited(**shared), limited(**shared)
    headers = auth("regulator")
    for client in (one, two, one, two, one):
        assert client.get(BATCHES, headers=headers).status_code == 200
    assert_problem(two.get(BATCHES, headers=headers), 429, "rate_limited")
    assert_problem(one.get(BATCHES, headers=headers), 429, "rate_limited")


def test_redis_failure_does_not_take_the_service_down(limited, auth):
    client = limited(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    headers = auth("regulator")
    # Counted in memory instead: still served, and still limited.
    for _ in range(5):
        assert client.get(BATCHES, headers=headers).status_code == 200
    assert_problem(client.get(BATCHES, headers=headers), 429, "rate_limited")
