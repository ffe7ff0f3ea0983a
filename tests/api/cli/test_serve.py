"""The chemtrace command line, in-process and as a real gunicorn service."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.models import ApiKey
from tests.live import running_service


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
    # Not an admin key: the last one is kept unless forced (tests/api/cli/test_apikeys.py).
    key = runner.invoke(args=["apikey", "create", "--role", "regulator"]).stdout.strip().split()[-1]
    key_id = key.split("_")[1].upper()
    assert runner.invoke(args=["apikey", "revoke", key_id]).exit_code == 0
    response = client.get("/api/v1/substances", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 401


def test_db_upgrade_is_idempotent(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_serve_runs_gunicorn_with_several_workers_and_shared_metrics(
    app, database_url, tmp_path: Path
):
    """`chemtrace serve` migrates, makes a key and answers; /metrics sums every worker."""
    with running_service(database_url, tmp_path / "data", workers=3) as service:
        keys = list((tmp_path / "data" / "keys").glob("*.pem"))
        assert keys, "no signing key was created"
        assert all(key.stat().st_mode & 0o077 == 0 for key in keys)

        requests = 60
        for _ in range(requests):
            assert service.get("/healthz")[0] == 200
        status, text = service.get("/metrics")
        assert status == 200
        served = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("chemtrace_http_requests_total{") and 'route="/healthz"' in line
        )
        assert served == requests
