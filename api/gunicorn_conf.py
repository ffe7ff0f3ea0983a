"""gunicorn settings used by ``chemtrace serve`` and the Docker image."""

import multiprocessing
import os

bind = os.environ.get("CHEMTRACE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("CHEMTRACE_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "gthread"
threads = int(os.environ.get("CHEMTRACE_THREADS", 4))
timeout = 60
graceful_timeout = 20
keepalive = 5
# The app logs each request as JSON itself; gunicorn's own access log would repeat it.
accesslog = None
errorlog = "-"
loglevel = "info"
# Bounded request lines and headers: a first guard against abusive clients.
limit_request_line = 8190
limit_request_fields = 100


def child_exit(server, worker):
    # Tell the multi-process metrics collector that this worker's live gauges are gone.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
