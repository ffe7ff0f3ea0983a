"""The limiter's in-memory counters (api.rate_counters): fixed windows, expired lazily,
and no thread started, however many hits."""

from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from api import rate_counters
from api.rate_counters import LocalCounters


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(rate_counters.time, "time", lambda: now[0])
    return now


def test_the_scheme_makes_this_storage():
    assert isinstance(storage_from_string(f"{rate_counters.SCHEME}://"), LocalCounters)


def test_a_fixed_window_counts_then_refuses_then_starts_again(clock):
    limiter = FixedWindowRateLimiter(LocalCounters())
    item = parse("3/minute")
    assert [limiter.hit(item, "a") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(item, "b")  # another key has its own window
    stats = limiter.get_window_stats(item, "a")
    assert stats.remaining == 0 and stats.reset_time == 1_000_060.0
    assert not limiter.test(item, "a")
    clock[0] += 60
    assert limiter.test(item, "a") and limiter.hit(item, "a")
    assert limiter.get_window_stats(item, "a").remaining == 2


def test_expired_windows_are_swept_without_a_thread(clock):
    storage = LocalCounters()
    threads = threading.active_count()
    for n in range(1000):
        storage.incr(f"key-{n}", 10)
    assert threading.active_count() == threads
    clock[0] += 11
    storage.incr("late", 10)  # the first hit after the sweep is due drops every expired window
    assert list(storage._windows) == ["late"]


def test_decr_clear_reset_and_expiry(clock):
    storage = LocalCounters()
    assert storage.get("k") == 0 and storage.get_expiry("k") == clock[0]
    storage.incr("k", 5, amount=3)
    assert storage.decr("k") == 2 and storage.decr("k", 5) == 0 and storage.decr("none") == 0
    storage.clear("k")
    assert storage.get("k") == 0
    storage.incr("x", 5)
    assert storage.reset() == 1 and storage.get("x") == 0 and storage.check()


def test_only_the_fixed_window_is_offered():
    with pytest.raises(NotImplementedError):
        MovingWindowRateLimiter(LocalCounters())
