"""The rate limiter's counters in this worker's memory, without a thread per hit.

Why our own storage: the only in-process storage of ``limits`` (``memory://``,
``MemoryStorage``) sweeps expired counters from a ``threading.Timer`` that it starts again
on every hit once the previous one has run (10 ms later), so under load it starts a thread
every few requests: a quarter of a verification's limiter time in the profile, and more
under the GIL contention of a busy worker. The library has no thread-free alternative in
memory (its others are Redis, Memcached and MongoDB).

Here a counter is a fixed window ``[count, expires_at]`` that is reset when it is next
touched after it expired, and the table is swept of expired windows at most once a
second, on the request that finds it due: memory stays bounded by the keys counted in the
last window, with no thread at all. Only the fixed-window strategy (the limiter's, and
Flask-Limiter's default) is supported: ``limits`` refuses the others for this storage.
The semantics are MemoryStorage's: the window starts at a key's first hit, and its expiry
is told as a Unix time.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from limits.storage import Storage

SCHEME = "chemtrace-memory"
SWEEP_EVERY_SECONDS = 1.0


class LocalCounters(Storage):
    # Registered with ``limits`` (storage_from_string) by its storage metaclass.
    STORAGE_SCHEME: ClassVar[list[str]] = [SCHEME]

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: float | str | bool
    ) -> None:
        self._windows: dict[str, list[float]] = {}  # key -> [count, expires_at]
        self._lock = threading.Lock()  # gthread workers count from several threads
        self._next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _live(self, key: str, now: float) -> list[float] | None:
        window = self._windows.get(key)
        if window is not None and window[1] <= now:
            del self._windows[key]
            return None
        return window

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + SWEEP_EVERY_SECONDS
        for key in [key for key, window in self._windows.items() if window[1] <= now]:
            del self._windows[key]

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            window = self._live(key, now)
            if window is None:
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return int(window[0])

    def decr(self, key: str, amount: int = 1) -> int:
        with self._lock:
            window = self._live(key, time.time())
            if window is None:
                return 0
            window[0] = max(window[0] - amount, 0)
            return int(window[0])

    def get(self, key: str) -> int:
        with self._lock:
            window = self._live(key, time.time())
            return int(window[0]) if window is not None else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._lock:
            window = self._live(key, now)
            return window[1] if window is not None else now

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self._lock:
            count = len(self._windows)
            self._windows.clear()
            return count

    def clear(self, key: str) -> None:
        with self._lock:
            self._windows.pop(key, None)
