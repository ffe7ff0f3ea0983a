"""The delivery worker's keeper under ``chemtrace serve``.

``serve`` becomes gunicorn's master (``os.execv``), so it cannot watch the worker itself: it
starts this small process beside it, with gunicorn's pid. This process runs ``chemtrace
deliver`` as its child and, while gunicorn runs, starts it again whenever it exits (a crash,
a kill -9), after a wait that doubles while it keeps failing (``FIRST_WAIT`` up to
``LONGEST_WAIT``; a worker that ran ``HEALTHY_AFTER`` seconds starts the count again), and
logs each restart. When gunicorn is gone, or on SIGTERM or SIGINT, it stops the worker and
exits. The worker also exits by itself if this process dies (``deliver --parent``).

Run as ``python -m api.cli.supervise --parent PID``; it needs no app, only processes.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from api.observability import configure_logging

FIRST_WAIT = 1.0
LONGEST_WAIT = 60.0
HEALTHY_AFTER = 60.0
POLL = 0.2  # seconds between looks at the worker and at gunicorn
STOP_GRACE = 10.0  # for the worker to finish the post in hand after SIGTERM

log = logging.getLogger("chemtrace.supervise")


def deliver_command(supervisor_pid: int) -> list[str]:
    return [sys.executable, "-m", "api.console", "deliver", "--parent", str(supervisor_pid)]


def wait_before_restart(failures: int) -> float:
    """Seconds to wait before the restart that follows ``failures`` quick exits in a row."""
    return min(LONGEST_WAIT, FIRST_WAIT * 2 ** min(max(failures - 1, 0), 30))


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def supervise(command: list[str], keep_going: Callable[[], bool]) -> None:
    """Run ``command`` while ``keep_going()``, started again after each exit (see above)."""
    failures = 0
    while keep_going():
        child = subprocess.Popen(command)  # noqa: S603 - our own interpreter and command
        started = time.monotonic()
        log.info("delivery worker started", extra={"pid": child.pid})
        while child.poll() is None and keep_going():
            time.sleep(POLL)
        if child.poll() is None:  # we are stopping
            _stop(child)
            return
        ran = time.monotonic() - started
        failures = 1 if ran >= HEALTHY_AFTER else failures + 1
        wait = wait_before_restart(failures)
        log.warning(
            "delivery worker exited; restarting it",
            extra={"pid": child.pid, "returncode": child.returncode, "restart_in_s": wait},
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and keep_going():
            time.sleep(POLL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.cli.supervise")
    parser.add_argument("--parent", type=int, required=True, help="gunicorn master's pid")
    args = parser.parse_args(argv)
    configure_logging(os.environ.get("CHEMTRACE_LOG_LEVEL", "INFO"))
    stopping: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, _: stopping.append(signum))
    supervise(
        deliver_command(os.getpid()),
        lambda: not stopping and os.getppid() == args.parent,
    )


if __name__ == "__main__":
    main()
