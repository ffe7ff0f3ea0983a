"""The bare Flask endpoints the service is compared with, under the same gunicorn setup.

``/echo`` and ``/hello`` do what any JSON API must (parse a JSON body, answer JSON) and
nothing else: no database, no authentication, no signing, no logging. ``bench.run`` serves
this app with ``api/gunicorn_conf.py`` exactly as ``chemtrace serve`` serves the registry.

The ``/ceiling/...`` endpoints are the measured ceilings of issue #15: the least a route
must do, with nothing else around it. They exist when ``bench.run`` names the database
(``CHEMTRACE_BENCH_CEILING_DATABASE_URL``), the service's keys
(``CHEMTRACE_BENCH_CEILING_KEYS_DIR``) and a label drawing (``CHEMTRACE_BENCH_CEILING_PNG``):

- ``POST /ceiling/verify``: the same Ed25519 check of a real label token as the registry's
  (``crypto.tokens.verify`` with the public key of ``crypto.keys.KeyStore``), then one
  primary-key read of the batch, answered as JSON;
- ``GET /ceiling/label/<batch_id>``: one primary-key read of the batch, then the PNG bytes
  of a label the service drew (held in memory, as the service's render cache holds them),
  or 304 when ``If-None-Match`` names their ETag.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, Response, abort, request

from crypto import tokens
from crypto.keys import KeyStore

app = Flask(__name__)


@app.post("/echo")
def echo():
    body = request.get_json()
    return {"ok": True, "length": len(body.get("token", ""))}


@app.get("/hello")
def hello():
    return {"ok": True}


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


# --- the measured ceilings -------------------------------------------------------------

DATABASE_URL = os.environ.get("CHEMTRACE_BENCH_CEILING_DATABASE_URL")
ISSUER = os.environ.get("CHEMTRACE_ISSUER", "chemtrace")
BATCH = sa.text(
    "SELECT id, status, quantity_micro, unit, holder_organization_id FROM batches WHERE id = :id"
)
_engine: sa.Engine | None = None
_engine_lock = threading.Lock()


def engine() -> sa.Engine:
    # Made in the worker on its first request: a pool must not cross gunicorn's fork.
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = sa.create_engine(DATABASE_URL or "sqlite://")
        return _engine


def batch_row(batch_id: str) -> sa.Row | None:
    with engine().connect() as connection:
        return connection.execute(BATCH, {"id": batch_id}).first()


if DATABASE_URL:
    KEYS = KeyStore(Path(os.environ["CHEMTRACE_BENCH_CEILING_KEYS_DIR"]))
    PNG = Path(os.environ["CHEMTRACE_BENCH_CEILING_PNG"]).read_bytes()
    ETAG = '"' + hashlib.sha256(PNG).hexdigest()[:32] + '"'

    def public_key(kid: bytes):
        key = KEYS.by_kid().get(kid)
        return key.public_key if key else None

    @app.post("/ceiling/verify")
    def ceiling_verify():
        token = request.get_json()["token"]
        claims, _kid = tokens.verify(token, public_key, ISSUER, int(time.time()))
        batch = batch_row(claims.subject)
        if batch is None:
            abort(404)
        return {
            "genuine": True,
            "batch": {"id": batch.id, "status": batch.status, "unit": batch.unit},
        }

    @app.get("/ceiling/label/<batch_id>")
    def ceiling_label(batch_id: str):
        if batch_row(batch_id) is None:
            abort(404)
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": ETAG})
        return Response(PNG, mimetype="image/png", headers={"ETag": ETAG})
