"""The bare Flask JSON endpoint the service is compared with, under the same gunicorn setup.

It does what any JSON API must (parse a JSON body, answer JSON) and nothing else: no
database, no authentication, no signing, no logging. ``bench.run`` serves it with
``api/gunicorn_conf.py`` exactly as ``chemtrace serve`` serves the registry.
"""

from __future__ import annotations

from flask import Flask, request

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
