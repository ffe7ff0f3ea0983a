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


def _guess(client, attempt, **kwargs):
    return client.get(BATCHES, headers={"Authorization": f"Bearer ctk_guess_{attempt}"}, **kwargs)


# Every route anyone may call without a credential, as a client would call it.
PUBLIC_REQUESTS = [
    ("POST", "/api/v1/verify", {"token": "NOT-A-LABEL"}),
    ("GET", "/v/NOTALABEL", None),
    ("GET", "/.well-known/jwks.json", None),
    ("GET", "/api/v1/ledger/checkpoint", None),
    ("GET", "/api/v1/ledger/proofs/consistency?first=0&second=0", None),
    ("GET", "/openapi.yaml", None),
    ("GET", "/healthz", None),
    ("GET", "/readyz", None),
]


def _public_routes_answer(client, headers=None, **kwargs) -> None:
    for method, path, body in PUBLIC_REQUESTS:
        answer = client.open(path, method=method, json=body, headers=headers or {}, **kwargs)
        assert answer.status_code == 200, (path, answer.status_code, answer.get_data()[:200])


def test_a_credential_that_keeps_failing_is_cut_off_and_a_good_one_is_not(limited, auth):
    client = limited()
    good = auth("regulator")
    for _ in range(3):
        assert_problem(_guess(client, "same"), 401, "unauthenticated")
    # The fourth try with the same bad credential is refused before it is looked up...
    refused = _guess(client, "same")
    assert "with this credential" in assert_problem(refused, 429, "rate_limited")["detail"]
    _retry_after(refused)
    # ... from any address,
    elsewhere = {"REMOTE_ADDR": "192.0.2.9"}
    assert_problem(_guess(client, "same", environ_base=elsewhere), 429, "rate_limited")
    # while a good credential from the same address is still served.
    assert client.get(BATCHES, headers=good).status_code == 200


def test_an_address_that_keeps_failing_gets_429_for_failures_only(limited, auth):
    """Behind one NAT address, a misconfigured client (or a guesser) fails again and again
    with ever new credentials. Its failures turn into 429; every other client behind that
    address is still served: good credentials, and the public routes, with or without a
    credential."""
    client = limited(RATE_LIMIT_PER_ADDRESS="1000/minute", RATE_LIMIT_PER_CREDENTIAL="50/minute")
    good = auth("regulator")
    for attempt in range(2):
        assert_problem(_guess(client, attempt), 401, "unauthenticated")
    # Successes do not count against this limit.
    for _ in range(3):
        assert client.get(BATCHES, headers=good).status_code == 200
    assert_problem(_guess(client, 2), 401, "unauthenticated")
    # Three failures are in: further failures from this address are 429, with Retry-After,
    refused = _guess(client, 3)
    assert "from this address" in assert_problem(refused, 429, "rate_limited")["detail"]
    _retry_after(refused)
    assert_problem(client.get(BATCHES), 429, "rate_limited")  # no credential at all
    # ... good credentials are not, whatever role,
    assert client.get(BATCHES, headers=good).status_code == 200
    assert client.get("/api/v1/substances", headers=auth("inspector")).status_code == 200
    # ... nor anyone on the public routes, even presenting the failing credentials.
    _public_routes_answer(client)
    _public_routes_answer(client, headers={"Authorization": "Bearer ctk_guess_3"})
    # Another address's failures are its own.
    elsewhere = {"REMOTE_ADDR": "192.0.2.8"}
    assert_problem(_guess(client, 4, environ_base=elsewhere), 401, "unauthenticated")


def test_public_routes_stay_open_after_many_failures(limited):
    """Ten failures in a minute, as the default allows, and more: verification, the page,
    the JWKS, the ledger and the probes still answer that address."""
    client = limited(RATE_LIMIT_FAILED_AUTH="10/minute", RATE_LIMIT_PER_ADDRESS="1000/minute")
    statuses = [_guess(client, attempt).status_code for attempt in range(15)]
    assert statuses == [401] * 10 + [429] * 5
    _public_routes_answer(client)


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


@pytest.fixture
def shared_redis() -> dict[str, str]:
    """Config for servers sharing the counters in the test Redis, under a fresh prefix."""
    url = os.environ.get("CHEMTRACE_TEST_REDIS_URL")
    if not url:
        pytest.skip("set CHEMTRACE_TEST_REDIS_URL (CI does) to test limits shared in Redis")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.fail(f"CHEMTRACE_TEST_REDIS_URL={url} is unreachable: {exc}")
    return {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4()}"}


def test_limits_hold_across_servers_sharing_redis(limited, auth, shared_redis):
    one, two = limited(**shared_redis), limited(**shared_redis)
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


def test_failures_are_counted_across_servers_sharing_redis(limited, auth, shared_redis):
    more = {"RATE_LIMIT_PER_ADDRESS": "1000/minute", "RATE_LIMIT_PER_CREDENTIAL": "50/minute"}
    one, two = limited(**shared_redis, **more), limited(**shared_redis, **more)
    for client, attempt in ((one, 0), (two, 1), (one, 2)):
        assert_problem(_guess(client, attempt), 401, "unauthenticated")
    assert "from this address" in assert_problem(_guess(two, 3), 429, "rate_limited")["detail"]
    assert two.get(BATCHES, headers=auth("regulator")).status_code == 200
    _public_routes_answer(two)
    elsewhere = {"REMOTE_ADDR": "192.0.2.10"}
    for client in (one, two, one):
        assert_problem(_guess(client, "same", environ_base=elsewhere), 401, "unauthenticated")
    refused = _guess(two, "same", environ_base={"REMOTE_ADDR": "192.0.2.11"})
    assert "with this credential" in assert_problem(refused, 429, "rate_limited")["detail"]


def test_failures_are_counted_in_memory_when_redis_is_down(limited, auth):
    client = limited(RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    for attempt in range(3):
        assert_problem(_guess(client, attempt), 401, "unauthenticated")
    assert_problem(_guess(client, 3), 429, "rate_limited")
    assert client.get(BATCHES, headers=auth("regulator")).status_code == 200
