"""Revoking admin keys: the last active one stays, even when two revocations race."""

from __future__ import annotations

import threading

import pytest

from registry.access import credentials
from registry.db import begin_write, db
from registry.errors import Conflict


def test_two_admins_revoking_each_other_at_once_leave_one(app):
    """Two active admin keys, each revoked in its own transaction at the same time: the
    second waits for the first (PostgreSQL: the rows locked; SQLite: the write lock), then
    sees that its key is now the last one."""
    with app.app_context():
        keys = [credentials.issue_api_key("admin", None, f"admin {i}").api_key.id for i in (0, 1)]
        db.session.commit()
    first_revoked, release_first = threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def revoke(key_id: str) -> None:
        with app.app_context():
            try:
                begin_write()
                credentials.revoke_api_key(key_id)
                if key_id == keys[0]:
                    first_revoked.set()
                    release_first.wait(timeout=30)
                db.session.commit()
                outcomes[key_id] = "revoked"
            except Conflict as exc:
                db.session.rollback()
                outcomes[key_id] = exc.code
            finally:
                db.session.remove()

    first = threading.Thread(target=revoke, args=(keys[0],))
    first.start()
    assert first_revoked.wait(timeout=30)
    second = threading.Thread(target=revoke, args=(keys[1],))
    second.start()
    second.join(timeout=1.0)
    waited = second.is_alive()  # it is held until the first transaction ends
    release_first.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert waited
    assert outcomes == {keys[0]: "revoked", keys[1]: "last_admin_key"}
    with app.app_context():
        assert credentials.active_admin_key_ids() == {keys[1]}


def test_only_the_command_line_may_revoke_the_last_admin_key(app):
    with app.app_context():
        key_id = credentials.issue_api_key("admin").api_key.id
        with pytest.raises(Conflict) as refused:
            credentials.revoke_api_key(key_id)
        assert refused.value.code == "last_admin_key"
        assert credentials.revoke_api_key(key_id, allow_last_admin=True).revoked_at is not None
        db.session.rollback()
