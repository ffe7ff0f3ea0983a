"""``chemtrace serve`` keeps its delivery worker running: a worker killed with -9 is started
again (and the restart logged), and both the worker and its keeper stop with the server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from api.cli import supervise
from tests.live import start_server, stop_server


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every process, read from /proc: ps cuts a piped line
    at its width, and a clone in a long temporary path put "api.console deliver" past it."""
    rows = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        # stat: "pid (comm) state ppid ...", comm may hold spaces and parentheses
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        rows.append((int(entry.name), ppid, args))
    return rows


def _keeper(server_pid: int) -> int | None:
    found = [
        pid
        for pid, ppid, args in _processes()
        if ppid == server_pid and "api.cli.supervise" in args
    ]
    return found[0] if found else None


def _worker(keeper_pid: int) -> int | None:
    found = [
        pid
        for pid, ppid, args in _processes()
        if ppid == keeper_pid and "api.console deliver" in args
    ]
    return found[0] if found else None


def _wait_for(find, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while (found := find()) is None:
        assert time.monotonic() < deadline, (
            f"no {what} after {timeout} s; delivery processes: "
            f"{[row for row in _processes() if 'deliver' in row[2] or 'supervise' in row[2]]}"
        )
        time.sleep(0.1)
    return found


def test_a_killed_delivery_worker_is_started_again(app, database_url, tmp_path):
    server, service = start_server(database_url, tmp_path / "server", workers=1)
    try:
        keeper = _wait_for(lambda: _keeper(server.pid), "keeper")
        first = _wait_for(lambda: _worker(keeper), "delivery worker")
        os.kill(first, signal.SIGKILL)
        second = _wait_for(
            lambda: w if (w := _worker(keeper)) not in (None, first) else None,
            "new delivery worker",
        )
        assert second != first
        assert service.get("/healthz")[0] == 200  # gunicorn never noticed
        log = (tmp_path / "server" / "server.log").read_text()
        assert "delivery worker exited; restarting it" in log
        assert f'"pid": {first}' in log and f'"returncode": -{signal.SIGKILL.value}' in log
    finally:
        stop_server(server)
    deadline = time.monotonic() + 20
    while any(pid in (keeper, second) for pid, _, _ in _processes()):
        assert time.monotonic() < deadline, "the delivery worker outlived the server"
        time.sleep(0.1)


def test_the_wait_before_a_restart_doubles_up_to_a_minute():
    waits = [supervise.wait_before_restart(n) for n in range(1, 10)]
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0]
    assert waits[-1] == supervise.LONGEST_WAIT == 60.0


def test_supervise_restarts_a_command_until_told_to_stop(tmp_path, monkeypatch):
    """In process: a command that exits at once is run again, after the waits."""
    monkeypatch.setattr(supervise, "FIRST_WAIT", 0.05)
    monkeypatch.setattr(supervise, "POLL", 0.01)
    runs = tmp_path / "runs"
    command = ["sh", "-c", f"echo run >> {runs}"]
    deadline = time.monotonic() + 10

    def keep_going() -> bool:
        done = runs.exists() and len(runs.read_text().splitlines()) >= 3
        return not done and time.monotonic() < deadline

    supervise.supervise(command, keep_going)
    assert len(runs.read_text().splitlines()) == 3
