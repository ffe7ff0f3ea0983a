"""Starting the registry and the bare baseline app under gunicorn, and watching their memory."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from api.cli.serve import gunicorn_argv
from tests.live import chemtrace_command, free_port

UNLIMITED = "100000000/second"


@dataclass(frozen=True)
class Server:
    base_url: str
    pid: int  # the gunicorn master

    def workers(self) -> list[int]:
        return [
            int(pid)
            for pid in Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        ]


def _wait_ready(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
            if response.status == 200:
                return
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready in 120 s: {log.read_text()[-3000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def _serving(argv: list[str], env: dict[str, str], log: Path, ready: str, port: int):
    with log.open("w") as log_file:
        process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base + ready, process, log)
        server = Server(base, process.pid)
        # Every worker up, so no measurement pays for a worker's start.
        deadline = time.monotonic() + 60
        expected = int(env.get("CHEMTRACE_WORKERS", 0)) or None
        while expected and len(server.workers()) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn_env(workers: int | None, threads: int | None, worker_class: str | None) -> dict:
    """Environment overriding ``api/gunicorn_conf.py``: its own variables for workers and
    threads, ``GUNICORN_CMD_ARGS`` (which gunicorn applies over the file) for the class."""
    env = {}
    if workers:
        env["CHEMTRACE_WORKERS"] = str(workers)
    if threads:
        env["CHEMTRACE_THREADS"] = str(threads)
    if worker_class:
        env["GUNICORN_CMD_ARGS"] = f"--worker-class {worker_class}"
    return env


@contextlib.contextmanager
def registry(
    database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[Server]:
    """``chemtrace serve`` on a free loopback port, exactly as an operator starts it."""
    port = free_port()
    env = {
        **os.environ,
        "CHEMTRACE_DATA_DIR": str(data_dir),
        "CHEMTRACE_DATABASE_URL": database_url,
        **(extra_env or {}),
    }
    env.pop("CHEMTRACE_LOG_LEVEL", None)  # the default, as an operator runs it
    # The rate limiter stays in the path (its counting is part of every request's cost), but
    # one load generator on one address must not be refused: raise its limits out of reach.
    env.setdefault("CHEMTRACE_RATE_LIMIT_PER_ADDRESS", UNLIMITED)
    env.setdefault("CHEMTRACE_RATE_LIMIT_PER_CREDENTIAL", UNLIMITED)
    argv = [chemtrace_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with _serving(argv, env, data_dir / "server.log", "/readyz", port) as server:
        yield server


@contextlib.contextmanager
def baseline(log: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """The bare Flask app (``bench.baseline``) under the same gunicorn configuration file."""
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = gunicorn_argv(
        "bench.baseline:app",
        f"127.0.0.1:{port}",
        "--chdir",
        str(Path(__file__).resolve().parents[1]),
    )
    with _serving(argv, env, log, "/healthz", port) as server:
        yield server


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    """Samples every worker's resident memory every 20 ms; the highest seen per worker."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peaks: dict[int, float] = {}
        self.at_rest = {pid: rss_mb(pid) for pid in server.workers()}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set():
            for pid in self.server.workers():
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), rss_mb(pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()

    def worst(self) -> tuple[float, float]:
        """(peak RSS of the worker that grew most, that worker's RSS at rest), in MB."""
        pid = max(self.peaks, key=lambda p: self.peaks[p] - self.at_rest.get(p, 0.0))
        return self.peaks[pid], self.at_rest.get(pid, 0.0)
