"""Running the real service (``chemtrace serve`` under gunicorn) for end-to-end tests."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class LiveService:
    base_url: str
    data_dir: Path
    env: dict[str, str]

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        request = urllib.request.Request(self.base_url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def chemtrace(self, *args: str) -> str:
        """Run a chemtrace command against the same database; its stdout."""
        return subprocess.run(
            [chemtrace_command(), *args], env=self.env, check=True, capture_output=True, text=True
        ).stdout


def load_example(name: str) -> ModuleType:
    """A script from docs/examples, imported as a module (they are written to run as is)."""
    spec = importlib.util.spec_from_file_location(name, example_path(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_path(name: str) -> Path:
    return Path(__file__).resolve().parents[1] / "docs" / "examples" / f"{name}.py"


def chemtrace_command() -> str:
    return str(Path(sys.executable).with_name("chemtrace"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    database_url: str, data_dir: Path, workers: int = 2, port: int | None = None
) -> tuple[subprocess.Popen[str], LiveService]:
    """``chemtrace serve`` on a loopback port, ready; the server in its own process group,
    so that a test can kill it whole."""
    port = port or free_port()
    env = {
        **os.environ,
        "CHEMTRACE_DATA_DIR": str(data_dir),
        "CHEMTRACE_DATABASE_URL": database_url,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    # The server logs every request; a file, unlike a pipe nobody reads, never fills up.
    with log_path.open("a") as log_file:
        server = subprocess.Popen(
            [chemtrace_command(), "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    service = LiveService(f"http://127.0.0.1:{port}", data_dir, env)
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(OSError):
            if service.get("/readyz")[0] == 200:
                return server, service
        if server.poll() is not None:
            raise RuntimeError(f"chemtrace serve exited: {log_path.read_text()[-5000:]}")
        if time.monotonic() > deadline:
            server.kill()
            raise RuntimeError("chemtrace serve did not become ready in 60 s")
        time.sleep(0.2)


def stop_server(server: subprocess.Popen[str]) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


@contextlib.contextmanager
def running_service(database_url: str, data_dir: Path, workers: int = 2) -> Iterator[LiveService]:
    """``chemtrace serve`` on a free loopback port until the block ends."""
    server, service = start_server(database_url, data_dir, workers)
    try:
        yield service
    finally:
        stop_server(server)
