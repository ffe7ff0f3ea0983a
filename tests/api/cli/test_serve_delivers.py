"""``chemtrace serve`` runs the webhook delivery worker beside gunicorn, and stops it with
gunicorn."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

import standardwebhooks

from tests.api.batch_helpers import make_party
from tests.live import start_server, stop_server
from tests.registry.subscriptions.receiver import Receiver


def _post(base_url: str, path: str, body: dict, headers: dict[str, str]) -> dict:
    request = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def _deliverers() -> list[str]:
    found = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "api.console deliver" in line]


def test_serve_delivers_webhooks(app, auth, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CHEMTRACE_WEBHOOK_ALLOWED", "http://127.0.0.1/8")
    monkeypatch.setenv("CHEMTRACE_WEBHOOK_POLL_SECONDS", "0.05")
    producer = make_party(app, auth, "Producer", 0)
    regulator = auth("regulator")
    receiver = Receiver().start()
    server, service = start_server(database_url, tmp_path / "server", workers=1)
    try:
        url = service.base_url
        _post(url, "/api/v1/epcis/queries", {"name": "all", "query": {}}, regulator)
        body = {"dest": receiver.url, "stream": True}
        sub = _post(url, "/api/v1/epcis/queries/all/subscriptions", body, regulator)
        batch = {
            "cas_rn": "108-24-7",
            "lot_number": "SERVE-1",
            "quantity": {"value": "5", "unit": "kg"},
            "facility_id": producer.facility_id,
            "origin": {"kind": "produced"},
        }
        _post(url, "/api/v1/batches", batch, producer.headers)
        receiver.wait_for(1, timeout=30)
        request = receiver.received[0]
        document = standardwebhooks.Webhook(sub["secret"]).verify(request.body, request.headers)
        assert "SERVE-1" in json.dumps(document)
    finally:
        stop_server(server)
        receiver.stop()
    deadline = time.monotonic() + 10
    while any(str(server.pid) in line for line in _deliverers()):
        assert time.monotonic() < deadline, "the delivery worker outlived the server"
        time.sleep(0.1)
