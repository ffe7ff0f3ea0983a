"""The chemtrace command line, in-process and as a real gunicorn service."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from registry.models import ApiKey


def test_apikey_create_prints_the_key_alone_on_its_last_line(app, runner, client):
    result = runner.invoke(args=["apikey", "create", "--role", "regulator", "--name", "ops"])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"ctk_[0-9a-z]{26}_[A-Za-z0-9_-]{43}", key)
    response = client.get("/api/v1/substances?limit=1", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    with app.app_context():
        stored = ApiKey.query.one()
        assert key not in (stored.key_hash, stored.id)


def test_enterprise_key_needs_an_existing_organization(runner, org_factory):
    assert runner.invoke(args=["apikey", "create", "--role", "enterprise"]).exit_code != 0
    unknown = runner.invoke(args=["apikey", "create", "--role", "enterprise", "--org", "nope"])
    assert unknown.exit_code != 0
    org_id = org_factory()
    result = runner.invoke(args=["apikey", "create", "--role", "enterprise", "--org", org_id])
    assert result.exit_code == 0


def test_apikey_revoke(runner, client):
    key = runner.invoke(args=["apikey", "create", "--role", "admin"]).stdout.strip().split()[-1]
    key_id = key.split("_")[1].upper()
    assert runner.invoke(args=["apikey", "revoke", key_id]).exit_code == 0
    response = client.get("/api/v1/substances", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_serve_runs_gunicorn_with_several_workers_and_shared_metrics(
    app, database_url, tmp_path: Path
):
    """`chemtrace serve` migrates, makes a key and answers; /metrics sums every worker."""
    port = _free_port()
    env = {
        **os.environ,
        "CHEMTRACE_DATA_DIR": str(tmp_path / "data"),
        "CHEMTRACE_DATABASE_URL": database_url,
    }
    chemtrace = str(Path(sys.executable).with_name("chemtrace"))
    server = subprocess.Popen(
        [chemtrace, "serve", "--port", str(port), "--workers", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(f"{base}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.2)
        assert list((tmp_path / "data" / "keys").glob("*.pem")), "no signing key was created"
        key_file = next((tmp_path / "data" / "keys").glob("*.pem"))
        assert key_file.stat().st_mode & 0o077 == 0

        requests = 60
        for _ in range(requests):
            assert _get(f"{base}/healthz")[0] == 200
        status, text = _get(f"{base}/metrics")
        assert status == 200
        served = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("chemtrace_http_requests_total{") and 'route="/healthz"' in line
        )
        assert served == requests
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
