"""Liveness, readiness and metrics."""

from __future__ import annotations

import logging

from flask import Blueprint
from sqlalchemy.exc import SQLAlchemyError

from api.database import schema_problems
from api.observability import metrics_response

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    try:
        problems = schema_problems()
    except SQLAlchemyError as exc:
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        problems = ["database unreachable"]
    if problems:
        return {"status": "unavailable", "checks": {"database": problems}}, 503
    return {"status": "ready", "checks": {"database": ["ok"]}}


@bp.get("/metrics")
def metrics():
    return metrics_response()
