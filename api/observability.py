"""Request ids, JSON logs and Prometheus metrics for every request."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

log = logging.getLogger("chemtrace.access")

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's request id is kept only when it is short and plain, so it cannot inject into logs.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

REQUESTS = Counter(
    "chemtrace_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "chemtrace_http_request_duration_seconds", "Time to answer a request", ["method", "route"]
)


# The access line's own fields, already JSON, on its record: written as they are (below).
ACCESS_JSON = "access_json"


class ServiceJsonFormatter(JsonFormatter):
    """python-json-logger's lines. The access line, one per request, is written from its
    fields serialised once (``ACCESS_JSON``): the same keys, order and spelling as the
    generic path, without merging every attribute of the record into a dict first."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record.__dict__.get(ACCESS_JSON)
        if fields is None or record.exc_info or record.stack_info:
            return super().format(record)
        head = json.dumps(
            {
                "time": self.formatTime(record, self.datefmt),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
            }
        )
        return f"{head[:-1]}, {fields}}}"


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        ServiceJsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            reserved_attrs=[*RESERVED_ATTRS, ACCESS_JSON],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def metrics_response() -> Response:
    """The metrics of every gunicorn worker when running multi-process, else of this one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return Response(
        body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST
    )


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else os.urandom(12).hex()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or os.urandom(12).hex()
        response.headers[REQUEST_ID_HEADER] = request_id
        route = request.url_rule.rule if request.url_rule else "unmatched"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        method, status = request.method, response.status_code
        _requests(method, route, status).inc()
        _latency(method, route).observe(elapsed)
        if log.isEnabledFor(logging.INFO):
            principal = g.get("principal")
            _log_access(
                {
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                    "credential_id": principal.credential_id if principal else None,
                }
            )
        return response


# The metric children by labels: ``labels()`` builds and validates its key on every call.
# The routes, methods and statuses are few, so these stay small.
_REQUEST_CHILDREN: dict[tuple[str, str, int], Any] = {}
_LATENCY_CHILDREN: dict[tuple[str, str], Any] = {}


def _requests(method: str, route: str, status: int) -> Any:
    child = _REQUEST_CHILDREN.get((method, route, status))
    if child is None:
        child = _REQUEST_CHILDREN[(method, route, status)] = REQUESTS.labels(
            method, route, str(status)
        )
    return child


def _latency(method: str, route: str) -> Any:
    child = _LATENCY_CHILDREN.get((method, route))
    if child is None:
        child = _LATENCY_CHILDREN[(method, route)] = LATENCY.labels(method, route)
    return child


def _log_access(fields: dict[str, Any]) -> None:
    # The record made directly: ``log.info`` would first walk the stack for the caller's
    # file and line, which no line of ours prints. The fields stay on the record as
    # attributes (for any other handler), and once serialised for ours.
    record = log.makeRecord(log.name, logging.INFO, __file__, 0, "request", (), None)
    record.__dict__.update(fields)
    record.__dict__[ACCESS_JSON] = json.dumps(fields)[1:-1]
    log.handle(record)
