"""The load generator: a separate process hammering one route with keep-alive connections.

``wrk`` (C, event loop, Debian package ``wrk``) is used when it is installed: on a two-core
machine the generator shares the CPU with the server, and wrk needs a fraction of what a
Python client spends per request, so it disturbs the measurement least. Its Lua hooks pick a
request body at random from a list and report the latency percentiles as JSON. Without wrk,
the same figures come from Python processes with ``http.client`` keep-alive connections
(``python -m bench.load``), which cost the server more CPU and so understate every rate
alike; the ratios are what the targets are about.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Load:
    rate: float  # requests per second
    p50_ms: float
    p99_ms: float
    requests: int
    failures: int  # non-2xx/3xx answers and socket errors
    tool: str


LUA = """
local requests = %(requests)s
local headers = %(headers)s
local method = "%(method)s"
request = function()
  local r = requests[math.random(#requests)]
  return wrk.format(method, r[1], headers, r[2])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %%d, "duration_us": %%d, "non2xx": %%d, "errors": %%d,' ..
    ' "p50_us": %%d, "p99_us": %%d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def run(
    base_url: str,
    method: str,
    requests: list[tuple[str, str]],
    headers: dict[str, str],
    seconds: float,
    connections: int = 16,
) -> Load:
    """Drive ``requests`` (path, body) at random for ``seconds`` with ``connections``."""
    if shutil.which("wrk"):
        return _wrk(base_url, method, requests, headers, seconds, connections)
    return _python(base_url, method, requests, headers, seconds, connections)


def _wrk(base_url, method, requests, headers, seconds, connections) -> Load:
    lua = LUA % {
        "requests": "{"
        + ",".join(f"{{{_lua_string(p)}, {_lua_string(b)}}}" for p, b in requests)
        + "}",
        "headers": "{"
        + ",".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
        + "}",
        "method": method,
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(
            [
                shutil.which("wrk") or "wrk",
                "-t",
                "1",
                "-c",
                str(connections),
                "-d",
                f"{seconds:.0f}s",
                "--timeout",
                "30s",
                "-s",
                script.name,
                base_url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    line = next(ln for ln in out.splitlines() if ln.startswith("BENCHJSON "))
    figures = json.loads(line.removeprefix("BENCHJSON "))
    return Load(
        figures["requests"] / (figures["duration_us"] / 1e6),
        figures["p50_us"] / 1000,
        figures["p99_us"] / 1000,
        figures["requests"],
        figures["non2xx"] + figures["errors"],
        "wrk",
    )


def _client(args) -> tuple[list[float], int]:
    base_url, method, requests, headers, seconds, seed = args
    import random

    rng = random.Random(seed)
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    timings, failures = [], 0
    deadline = time.perf_counter() + seconds
    while (now := time.perf_counter()) < deadline:
        path, body = rng.choice(requests)
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status >= 400:
                failures += 1
        except OSError:
            failures += 1
            connection.close()
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        timings.append(time.perf_counter() - now)
    return timings, failures


def _python(base_url, method, requests, headers, seconds, connections) -> Load:
    jobs = [(base_url, method, requests, headers, seconds, n) for n in range(connections)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(connections) as pool:
        results = pool.map(_client, jobs)
    elapsed = time.perf_counter() - started
    timings = sorted(t for ts, _ in results for t in ts)
    failures = sum(f for _, f in results)
    return Load(
        len(timings) / max(elapsed, seconds),
        statistics.median(timings) * 1000,
        timings[int(len(timings) * 0.99) - 1] * 1000,
        len(timings),
        failures,
        "python",
    )


def sequential(base_url: str, paths: list[str], headers: dict[str, str]) -> tuple[float, float]:
    """(p50 ms, p99 ms) of ``paths`` fetched one after another on one keep-alive connection.

    Checks every answer is 200: a figure for an error page would be meaningless.
    """
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    timings = []
    for path in paths:
        started = time.perf_counter()
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        body = response.read()
        timings.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"GET {path}: {response.status} {body[:300]!r}")
    connection.close()
    timings.sort()
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.99) - 1)]


if __name__ == "__main__":
    # python -m bench.load URL METHOD REQUESTS_JSON HEADERS_JSON SECONDS CONNECTIONS
    url, verb, reqs, hdrs, secs, conns = sys.argv[1:]
    print(
        json.dumps(
            run(url, verb, json.loads(reqs), json.loads(hdrs), float(secs), int(conns)).__dict__
        )
    )
