"""`chemtrace ledger verify` against a database tampered with directly, behind the API's back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from registry.db import db
from tests.api.batch_helpers import make_party, register


@pytest.fixture
def recorded(app, auth, client, runner):
    """Six batches (twelve events) and a checkpoint over them."""
    producer = make_party(app, auth, "Audited Chemicals JSC", 0)
    batches = [register(client, producer, lot_number=f"T-{i}") for i in range(6)]
    assert runner.invoke(args=["ledger", "checkpoint"]).exit_code == 0
    return batches


def verify(runner):
    result = runner.invoke(args=["ledger", "verify"])
    return result.exit_code, result.output


def tamper(app, statement: str, **params) -> None:
    with app.app_context():
        db.session.execute(sa.text(statement), params)
        db.session.commit()


def forge_copy(app, source_index: int, forged_id: str, at_index: int) -> None:
    """Insert, behind the API's back, a copy of the event at ``source_index`` with another
    id, claiming ledger index ``at_index``."""
    with app.app_context():
        columns = [c.name for c in db.metadata.tables["events"].columns]
    values = {"id": f"'{forged_id}'", "ledger_index": str(at_index)}
    tamper(
        app,
        f"INSERT INTO events ({', '.join(columns)}) "
        f"SELECT {', '.join(values.get(c, c) for c in columns)} "
        "FROM events WHERE ledger_index = :source",
        source=source_index,
    )


def event_id_at(app, index: int) -> str:
    with app.app_context():
        return db.session.scalar(
            sa.text("SELECT id FROM events WHERE ledger_index = :i"), {"i": index}
        )


def test_an_untouched_ledger_verifies(runner, recorded):
    code, output = verify(runner)
    assert code == 0, output
    assert output.startswith("ok: 12 entries, ")


def test_an_edited_event_is_named(app, runner, recorded):
    victim = event_id_at(app, 4)
    tamper(app, "UPDATE events SET flagged = NOT flagged WHERE ledger_index = 4")
    code, output = verify(runner)
    assert code == 1
    assert f"entry 4 (event {victim}): edited" in output


def test_an_edited_quantity_is_named(app, runner, recorded):
    tamper(
        app,
        "UPDATE events SET quantity_micro = quantity_micro - 1000000 WHERE ledger_index = 6",
    )
    code, output = verify(runner)
    assert code == 1
    assert "entry 6 " in output and ": edited" in output


def test_a_deleted_event_is_named(app, runner, recorded):
    victim = event_id_at(app, 7)
    tamper(app, "DELETE FROM events WHERE ledger_index = 7")
    code, output = verify(runner)
    assert code == 1
    assert f"entry 7 (event {victim}): deleted" in output


def test_the_last_event_deleted_is_named(app, runner, recorded):
    victim = event_id_at(app, 11)
    tamper(app, "DELETE FROM events WHERE ledger_index = 11")
    code, output = verify(runner)
    assert code == 1
    assert f"entry 11 (event {victim}): deleted" in output


def test_swapped_events_are_named_as_reordered(app, runner, recorded):
    third, ninth = event_id_at(app, 3), event_id_at(app, 9)
    tamper(app, "UPDATE events SET ledger_index = -1 WHERE id = :id", id=third)
    tamper(app, "UPDATE events SET ledger_index = 3 WHERE id = :id", id=ninth)
    tamper(app, "UPDATE events SET ledger_index = 9 WHERE id = :id", id=third)
    code, output = verify(runner)
    assert code == 1
    assert f"entry 3 (event {ninth}): reordered" in output


def test_an_inserted_event_is_named(app, runner, recorded):
    """A forged event pushed into the middle: every later row shifted by one."""
    # Shift entries 5.. up by one (in two steps: ledger_index is unique), then fill the gap.
    tamper(app, "UPDATE events SET ledger_index = ledger_index + 100 WHERE ledger_index >= 5")
    tamper(app, "UPDATE events SET ledger_index = ledger_index - 99 WHERE ledger_index >= 105")
    forge_copy(app, 4, "FORGED00000000000000000000", 5)
    code, output = verify(runner)
    assert code == 1
    assert "entry 5 (event FORGED00000000000000000000): inserted" in output


def test_an_event_appended_behind_the_ledger_is_named(app, runner, recorded):
    forge_copy(app, 0, "FORGED00000000000000000001", 12)
    code, output = verify(runner)
    assert code == 1
    assert "entry 12 (event FORGED00000000000000000001): inserted" in output


def test_a_rewritten_leaf_and_event_are_caught_by_the_tree(app, runner, recorded):
    """An operator who edits an event and recomputes its leaf hash still breaks the stored
    nodes above it, and the signed checkpoint."""
    import hashlib

    tamper(app, "UPDATE events SET flagged = NOT flagged WHERE ledger_index = 2")
    with app.app_context():
        from registry.ledger.records import leaf_bytes
        from registry.models import Event

        event = db.session.scalars(sa.select(Event).where(Event.ledger_index == 2)).one()
        forged = hashlib.sha256(b"\x00" + leaf_bytes(event)).digest()
        db.session.execute(
            sa.text("UPDATE ledger_leaves SET hash = :h WHERE leaf_index = 2"), {"h": forged}
        )
        db.session.commit()
    code, output = verify(runner)
    assert code == 1
    assert "node_mismatch" in output or "checkpoint" in output


def test_a_forged_checkpoint_is_caught(app, runner, recorded):
    tamper(app, "UPDATE ledger_checkpoints SET note = replace(note, '\n12\n', '\n13\n')")
    code, output = verify(runner)
    assert code == 1
    assert "checkpoint" in output and "does not verify" in output


def test_progress_is_shown_on_a_terminal(app, recorded, database_url, tmp_path):
    """On a terminal, a progress bar counts the entries checked; piped, output stays clean."""
    import os
    import pty
    import subprocess

    from tests.live import chemtrace_command

    env = {
        **os.environ,
        "CHEMTRACE_DATABASE_URL": database_url,
        "CHEMTRACE_DATA_DIR": str(tmp_path),
    }
    controller, terminal = pty.openpty()
    with subprocess.Popen(
        [chemtrace_command(), "ledger", "verify"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    ) as process:
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            shown += chunk
        stdout = process.stdout.read()
    os.close(controller)
    assert process.returncode == 0
    assert b"checking entries" in shown and b"12/12" in shown
    assert stdout.startswith("ok: 12 entries")


def test_no_database_is_one_clear_line(tmp_path):
    import os
    import subprocess

    from tests.live import chemtrace_command

    missing = tmp_path / "absent" / "nowhere"
    env = {
        **os.environ,
        "CHEMTRACE_DATA_DIR": str(missing),
        "CHEMTRACE_DATABASE_URL": f"sqlite:///{missing}/chemtrace.db",
    }
    result = subprocess.run(
        [chemtrace_command(), "ledger", "verify"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "cannot read the database" in result.stderr
    assert "Traceback" not in result.stderr
