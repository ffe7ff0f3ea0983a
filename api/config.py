"""Configuration from the environment (and a ``.env`` file, when present)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from dotenv import load_dotenv
from limits import parse_many

from registry.reports.red_flags import Thresholds
from registry.subscriptions.destinations import DEFAULT_ALLOWED as DEFAULT_WEBHOOK_ALLOWED
from registry.subscriptions.destinations import parse_rules

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
MAX_BODY_BYTES = 4 * 1024 * 1024  # a bulk request of 1000 batches fits comfortably
# The longest request target (path and query, as sent, percent-encoded) the app serves; longer
# is 414 uri_too_long (api/limits.py). Every request the contract allows fits, each character
# counted at its worst encoding (tests/api/test_uri_length.py), and gunicorn's own limit on
# the request line (api/gunicorn_conf.py) is above it, so the app, not gunicorn, refuses.
MAX_REQUEST_TARGET_BYTES = 8000


def from_environment() -> dict[str, Any]:
    """Flask config keys built from CHEMTRACE_* variables."""
    load_dotenv(override=False)
    data_dir = Path(os.environ.get("CHEMTRACE_DATA_DIR", "instance")).resolve()
    database_url = (
        os.environ.get("CHEMTRACE_DATABASE_URL") or f"sqlite:///{data_dir / 'chemtrace.db'}"
    )
    settings = {
        "DATA_DIR": data_dir,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PUBLIC_URL": os.environ.get("CHEMTRACE_PUBLIC_URL", DEFAULT_PUBLIC_URL).rstrip("/"),
        "ISSUER": os.environ.get("CHEMTRACE_ISSUER", "chemtrace"),
        "OIDC_ISSUERS": os.environ.get("CHEMTRACE_OIDC_ISSUERS", "[]"),
        "REDIS_URL": os.environ.get("CHEMTRACE_REDIS_URL"),
        "LOG_LEVEL": os.environ.get("CHEMTRACE_LOG_LEVEL", "INFO"),
        # The ledger's name in its checkpoints (default: the public URL's host/ledger).
        "LEDGER_ORIGIN": os.environ.get("CHEMTRACE_LEDGER_ORIGIN"),
        # A checkpoint is signed once this many events have been appended since the last...
        "CHECKPOINT_EVERY": _positive("CHEMTRACE_CHECKPOINT_EVERY", 1000),
        # ... or when the log has grown and the last one is this many seconds old.
        "CHECKPOINT_SECONDS": _positive("CHEMTRACE_CHECKPOINT_SECONDS", 5),
        # Red flags, the same in mass-balance reports and pushed to subscribers as they arise
        # (registry/reports/red_flags.py): a shipment not received after so many days; a
        # shipment or receipt over the factor times the organisation's usual one; shipments
        # of 90% to 100% of the reporting threshold (pure substance), three or more in the
        # report's period, or, as they are written, in the trailing window of so many days.
        "FLAG_THRESHOLDS": Thresholds(
            transit_days=_positive("CHEMTRACE_TRANSIT_ALERT_DAYS", 7),
            large_order_factor=Decimal(_positive("CHEMTRACE_LARGE_ORDER_FACTOR", 3)),
            reporting_threshold_g=Decimal(_positive("CHEMTRACE_REPORTING_THRESHOLD_KG", 100))
            * 1000,
            structuring_window_days=_positive("CHEMTRACE_STRUCTURING_WINDOW_DAYS", 30),
        ),
        # How often the delivery worker looks for shipments not received in time.
        "OVERDUE_SCAN_SECONDS": _seconds("CHEMTRACE_OVERDUE_SCAN_SECONDS", 60.0),
        # Rate limits, in the `limits` notation ("100/second;2000/minute"); see api/limits.py.
        "RATELIMIT_ENABLED": os.environ.get("CHEMTRACE_RATE_LIMITS", "on") != "off",
        "RATE_LIMIT_PER_CREDENTIAL": _rate("CHEMTRACE_RATE_LIMIT_PER_CREDENTIAL", "100/second"),
        "RATE_LIMIT_PER_ADDRESS": _rate("CHEMTRACE_RATE_LIMIT_PER_ADDRESS", "200/second"),
        "RATE_LIMIT_FAILED_AUTH": _rate("CHEMTRACE_RATE_LIMIT_FAILED_AUTH", "10/minute"),
        # Web origins allowed to call the public routes from a browser (comma-separated).
        "CORS_ORIGINS": [
            o.strip() for o in os.environ.get("CHEMTRACE_CORS_ORIGINS", "").split(",") if o.strip()
        ],
        # Reverse proxies in front of the service whose X-Forwarded-* headers are believed.
        "PROXY_HOPS": _whole("CHEMTRACE_PROXY_HOPS", 0),
        # The language of an answer when neither ?lang= nor Accept-Language names a shipped one.
        "DEFAULT_LOCALE": os.environ.get("CHEMTRACE_DEFAULT_LOCALE", "en"),
        # Where webhooks may be posted (api/webhooks.py, registry/subscriptions/destinations.py):
        # comma-separated scheme://host-pattern or scheme://network rules, e.g.
        # "https://*, http://127.0.0.1/8". A host pattern allows public addresses only:
        # loopback, link-local and private networks are refused unless a network names them.
        "WEBHOOK_ALLOWED": _webhook_rules(),
        # Retrying a receiver that did not answer 2xx: the first wait, doubled on each failure
        # up to the longest (each jittered); and how long a receiver has to answer.
        "WEBHOOK_BACKOFF_SECONDS": _seconds("CHEMTRACE_WEBHOOK_BACKOFF_SECONDS", 1.0),
        "WEBHOOK_BACKOFF_MAX_SECONDS": _seconds("CHEMTRACE_WEBHOOK_BACKOFF_MAX_SECONDS", 3600.0),
        "WEBHOOK_TIMEOUT_SECONDS": _seconds("CHEMTRACE_WEBHOOK_TIMEOUT_SECONDS", 10.0),
        "WEBHOOK_POLL_SECONDS": _seconds("CHEMTRACE_WEBHOOK_POLL_SECONDS", 0.5),
        # Delivered webhook messages are deleted by the delivery worker this many days after
        # their delivery (undelivered ones are kept until delivered).
        "OUTBOX_RETENTION_DAYS": _positive("CHEMTRACE_OUTBOX_RETENTION_DAYS", 30),
    }
    if os.environ.get("CHEMTRACE_KEYS_DIR"):
        # Several servers share one set of signing keys through a shared directory.
        settings["KEYS_DIR"] = Path(os.environ["CHEMTRACE_KEYS_DIR"]).resolve()
    return settings


def _webhook_rules() -> str:
    value = os.environ.get("CHEMTRACE_WEBHOOK_ALLOWED", DEFAULT_WEBHOOK_ALLOWED)
    try:
        parse_rules(value)
    except ValueError as exc:
        raise ValueError(f"CHEMTRACE_WEBHOOK_ALLOWED: {exc}") from None
    return value


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value < 1e7:
        raise ValueError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


def _positive(name: str, default: int) -> int:
    return _whole(name, default, minimum=1)


def _whole(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {raw!r}")
    return int(raw)


def _rate(name: str, default: str) -> str:
    value = os.environ.get(name, default)
    try:
        parse_many(value)
    except ValueError:
        raise ValueError(
            f"{name} must be limits like '100/second;2000/minute', got {value!r}"
        ) from None
    return value


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # One connection per thread; a writer waits up to `timeout` seconds for another (WAL
        # is set on connect, registry.db).
        return {"connect_args": {"timeout": 30}}
    # Fail fast when the server is down or unreachable: a request waits at most a few seconds
    # for a connection, then gets 503 instead of hanging; pre-ping drops connections that
    # died while the server was away, so the pool recovers by itself when it is back.
    return {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 10,
        "pool_timeout": _positive("CHEMTRACE_DB_POOL_TIMEOUT", 5),
        "connect_args": {
            "connect_timeout": _positive("CHEMTRACE_DB_CONNECT_TIMEOUT", 3),
            # Unacknowledged data on a dead network path is given up after this long.
            "tcp_user_timeout": 10_000,
            "keepalives_idle": 30,
            # psycopg prepares a statement on the server after it ran this many times on a
            # connection; behind a transaction-mode pooler (PgBouncer before 1.21) the next
            # transaction may land on another server connection, so "none" turns it off.
            "prepare_threshold": _prepare_threshold(),
        },
    }


def _prepare_threshold() -> int | None:
    raw = os.environ.get("CHEMTRACE_DB_PREPARE_THRESHOLD", "5")
    if raw.lower() in ("none", "off"):
        return None
    if not raw.isdigit():
        raise ValueError(
            f"CHEMTRACE_DB_PREPARE_THRESHOLD must be a whole number or 'none', got {raw!r}"
        )
    return int(raw)
