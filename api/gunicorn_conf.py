"""gunicorn settings used by ``chemtrace serve`` and the Docker image."""

import gc
import json
import multiprocessing
import os

from gunicorn import util

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
# Bounded request lines and headers: a first guard against abusive clients. The request line
# is gunicorn's maximum, above the app's own limit on the target (MAX_REQUEST_TARGET_BYTES,
# 8000, plus the method and the HTTP version): every request the contract allows reaches the
# app, and the app refuses a longer target itself, as problem+json. Only a line longer still
# is refused by gunicorn, and then as problem+json too (post_worker_init below).
limit_request_line = 8190
limit_request_fields = 100
# One header field (name and value) at most this long; longer is 431 headers_too_large.
limit_request_field_size = 8190

# Stable codes for what gunicorn itself refuses, before the app sees the request.
_GUNICORN_CODES = {
    400: "bad_request",
    403: "forbidden",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}


def _write_problem(sock, status_int, reason, mesg):
    """gunicorn's error page for a request it refuses itself (a request line or header too
    long, a malformed request), written as RFC 9457 problem+json like every other answer.

    In English, always: gunicorn refuses the request before Flask (and its locale
    negotiation) sees it, and a request too malformed to parse has no trustworthy
    Accept-Language anyway. The ``code`` is what a program reads."""
    code = _GUNICORN_CODES.get(status_int, "http_error")
    body = json.dumps(
        {
            "type": f"urn:chemtrace:problem:{code}",
            "title": reason,
            "status": status_int,
            "detail": mesg or reason,
            "code": code,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/problem+json\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    util.write_nonblock(sock, head + body)


def post_worker_init(worker):
    # gunicorn answers what it refuses with util.write_error, an HTML page; the worker calls
    # it through the module, so replacing it here changes only the format, not gunicorn's
    # choice of status (414, 431, 400...) or when it refuses.
    util.write_error = _write_problem
    # The app is loaded: its ~150k long-lived objects (modules, mappers, schemas) go to the
    # permanent generation, so the full collections that a bulk request's thousands of ORM
    # objects trigger no longer rescan them (a third of batches:bulk's time otherwise,
    # docs/performance.md). Nothing is leaked: a worker keeps its app until it exits.
    gc.freeze()


def child_exit(server, worker):
    # Tell the multi-process metrics collector that this worker's live gauges are gone.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
