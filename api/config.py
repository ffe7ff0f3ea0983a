"""Configuration from the environment (and a ``.env`` file, when present)."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from dotenv import load_dotenv

from registry.mass_balance import Thresholds

DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
MAX_BODY_BYTES = 4 * 1024 * 1024  # a bulk request of 1000 batches fits comfortably


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
        # Red flags in mass-balance reports.
        "FLAG_THRESHOLDS": Thresholds(
            transit_days=_positive("CHEMTRACE_TRANSIT_ALERT_DAYS", 7),
            large_order_factor=Decimal(_positive("CHEMTRACE_LARGE_ORDER_FACTOR", 3)),
            reporting_threshold_g=Decimal(_positive("CHEMTRACE_REPORTING_THRESHOLD_KG", 100))
            * 1000,
        ),
    }
    if os.environ.get("CHEMTRACE_KEYS_DIR"):
        # Several servers share one set of signing keys through a shared directory.
        settings["KEYS_DIR"] = Path(os.environ["CHEMTRACE_KEYS_DIR"]).resolve()
    return settings


def _positive(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {raw!r}")
    return int(raw)


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # One connection per thread; WAL and busy_timeout are set on connect (registry.db).
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True, "pool_size": 5, "max_overflow": 10}
