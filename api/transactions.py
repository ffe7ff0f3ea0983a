"""One transaction per write request, with the Idempotency-Key record kept inside it.

When a request's transaction begins and ends is decided here; how a write is closed (the
ledger's step, then the commit) is ``registry.unit_of_work``'s. Views never commit.

A POST with ``Idempotency-Key`` answered once is answered the same way again (status,
body and Location), with nothing changed; the same key with another body is refused (422);
a retry that arrives while the first is still running is told so (409).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, Response, make_response, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.auth import current_principal
from api.errors import ApiProblem
from registry import unit_of_work
from registry.db import db
from registry.errors import message
from registry.models import IdempotencyRecord

HEADER = "Idempotency-Key"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def write_route(view: Callable[..., Any]) -> Callable[..., Response]:
    """Run ``view`` in one write transaction and commit it, honouring Idempotency-Key."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return _run(view, *args, **kwargs)
        except BaseException:
            unit_of_work.rollback()  # a refusal or a failure changes nothing
            raise

    wrapper.writes = True  # type: ignore[attr-defined]
    return wrapper


def _run(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Response:
    key = request.headers.get(HEADER)
    if key is None:
        response = make_response(view(*args, **kwargs))
        unit_of_work.commit()
        return response
    if not _KEY.fullmatch(key):
        raise ApiProblem(
            400,
            "idempotency_key_invalid",
            message("An Idempotency-Key is 1 to 255 visible ASCII characters."),
        )
    principal = current_principal()
    digest = _request_hash()
    if not _try_claim(principal.credential_id, key):
        raise ApiProblem(
            409,
            "idempotency_in_progress",
            message("A request with this Idempotency-Key is still running."),
        )
    replay = _replay(principal.credential_id, key, digest)
    if replay is not None:
        return replay
    response = make_response(view(*args, **kwargs))
    db.session.add(
        IdempotencyRecord(
            credential_id=principal.credential_id,
            key=key,
            method=request.method,
            path=request.path,
            request_hash=digest,
            status_code=response.status_code,
            response_body=response.get_data(as_text=True),
            location=response.headers.get("Location"),
        )
    )
    try:
        unit_of_work.commit()
    except IntegrityError:
        # Another request with this key committed first; ours is undone.
        unit_of_work.rollback()
        replay = _replay(principal.credential_id, key, digest)
        if replay is None:  # pragma: no cover - the row we collided with must exist
            raise
        return replay
    return response


def init_app(app: Flask) -> None:
    @app.before_request
    def _begin_write_transaction() -> None:
        # Before authentication reads anything, so the whole request is one transaction.
        view = app.view_functions.get(request.endpoint or "")
        if request.method in WRITE_METHODS and getattr(view, "writes", False):
            unit_of_work.begin_write()


def _request_hash() -> str:
    body = request.get_data(cache=True)
    return hashlib.sha256(
        request.method.encode() + b" " + request.full_path.encode() + b"\n" + body
    ).hexdigest()


def _try_claim(credential_id: str, key: str) -> bool:
    """On PostgreSQL, a transaction-scoped advisory lock per (credential, key): a second
    request with the same key finds it taken instead of waiting. SQLite write
    transactions are already one at a time."""
    if db.engine.dialect.name != "postgresql":
        return True
    lock_id = int.from_bytes(
        hashlib.sha256(f"{credential_id}\x00{key}".encode()).digest()[:8], "big", signed=True
    )
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))))


def _replay(credential_id: str, key: str, digest: str) -> Response | None:
    record = db.session.get(IdempotencyRecord, (credential_id, key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise ApiProblem(
            422,
            "idempotency_key_reused",
            message("This Idempotency-Key was used with another request; use a new key."),
        )
    unit_of_work.rollback()
    response = Response(
        record.response_body, status=record.status_code, mimetype="application/json"
    )
    if record.location is not None:
        response.headers["Location"] = record.location
    response.headers["Idempotent-Replayed"] = "true"
    return response
