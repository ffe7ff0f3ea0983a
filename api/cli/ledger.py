"""``chemtrace ledger``: verify the whole ledger, sign a checkpoint now."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import OperationalError

from registry import unit_of_work
from registry.ledger import tree
from registry.ledger.audit import verify_ledger


@click.group("ledger")
def ledger_group() -> None:
    """The tamper-evident ledger of every event."""


@ledger_group.command("verify")
@with_appcontext
def ledger_verify() -> None:
    """Recompute the Merkle tree from the database and check every checkpoint.

    Exit 0 when everything holds; otherwise exit 1 and name the first entry that was
    edited, deleted, inserted or reordered.
    """
    try:
        size = tree.size()
    except OperationalError as error:
        raise click.ClickException(
            f"cannot read the database ({error.orig}); set CHEMTRACE_DATA_DIR or "
            "CHEMTRACE_DATABASE_URL, or run `chemtrace init` first"
        ) from None
    if sys.stderr.isatty() and size:
        with click.progressbar(
            length=size, label="checking entries", file=sys.stderr, show_pos=True
        ) as bar:
            report = verify_ledger(bar.update)
    else:
        report = verify_ledger()
    if report.finding is not None:
        click.echo(f"FAIL {report.finding}", err=True)
        sys.exit(1)
    click.echo(
        f"ok: {report.size} entries, {report.checkpoints} checkpoints, root {report.root.hex()}"
    )


@ledger_group.command("checkpoint")
@with_appcontext
def ledger_checkpoint() -> None:
    """Sign a checkpoint of the ledger as it is now and print its note."""
    checkpoint = unit_of_work.write_separately(tree.sign_checkpoint_now)
    click.echo(checkpoint.note, nl=False)
