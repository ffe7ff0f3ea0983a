"""`chemtrace apikey`: the command line is the recovery path for admin keys."""

from __future__ import annotations

from registry.access import credentials
from registry.db import db


def _create(runner, role: str) -> str:
    result = runner.invoke(args=["apikey", "create", "--role", role])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()[-1].split("_")[1].upper()


def test_the_last_admin_key_is_kept_unless_forced(app, runner):
    key_id = _create(runner, "admin")
    refused = runner.invoke(args=["apikey", "revoke", key_id])
    assert refused.exit_code == 1
    assert "last active admin key" in refused.output and "--force" in refused.output
    with app.app_context():
        assert credentials.active_admin_key_ids() == {key_id}

    forced = runner.invoke(args=["apikey", "revoke", key_id, "--force"])
    assert forced.exit_code == 0, forced.output
    assert f"revoked {key_id}" in forced.stdout
    assert "no active admin key is left" in forced.stderr
    with app.app_context():
        assert credentials.active_admin_key_ids() == set()

    # ... and a new admin key is one command away.
    new_id = _create(runner, "admin")
    with app.app_context():
        assert credentials.active_admin_key_ids() == {new_id}
        db.session.remove()


def test_an_admin_key_with_another_beside_it_is_revoked_without_force(app, runner):
    first, second = _create(runner, "admin"), _create(runner, "admin")
    result = runner.invoke(args=["apikey", "revoke", first])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert credentials.active_admin_key_ids() == {second}
