"""The access line written from its fields serialised once is the line python-json-logger
writes for the same record: same keys, order, spelling and escapes."""

from __future__ import annotations

import copy
import json
import logging

from api import observability
from api.observability import ACCESS_JSON, ServiceJsonFormatter


def _formatter() -> ServiceJsonFormatter:
    return logging.getLogger().handlers[0].formatter  # what configure_logging installed


def _access_record(fields: dict) -> logging.LogRecord:
    captured: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = captured.append  # type: ignore[method-assign]
    logger = observability.log
    level, logger.level = logger.level, logging.INFO
    logger.addHandler(handler)
    try:
        observability._log_access(fields)
    finally:
        logger.removeHandler(handler)
        logger.level = level
    (record,) = captured
    return record


def test_the_access_line_is_the_generic_line(app):
    fields = {
        "request_id": "abc-123",
        "method": "GET",
        "route": '/v/<token> "quoted" é ✓',
        "status": 200,
        "duration_ms": 0.57,
        "credential_id": None,
    }
    record = _access_record(fields)
    generic = copy.copy(record)
    del generic.__dict__[ACCESS_JSON]
    formatter = _formatter()
    assert isinstance(formatter, ServiceJsonFormatter)
    fast, slow = formatter.format(record), formatter.format(generic)
    assert fast == slow
    assert list(json.loads(fast)) == ["time", "level", "logger", "message", *fields]
    assert json.loads(fast)["logger"] == "chemtrace.access"


def test_every_request_is_logged_with_its_fields(app, client, logs):
    client.get("/healthz", headers={"X-Request-ID": "probe-1"})
    (line,) = [line for line in logs().splitlines() if "probe-1" in line]
    assert json.loads(line) == {
        **json.loads(line),
        "logger": "chemtrace.access",
        "message": "request",
        "request_id": "probe-1",
        "method": "GET",
        "route": "/healthz",
        "status": 200,
        "credential_id": None,
    }
