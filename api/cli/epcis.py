"""``chemtrace epcis index``: compute the EPCIS eventIDs of the events recorded so far."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from registry import unit_of_work
from registry.epcis import event_ids


@click.group("epcis")
def epcis_group() -> None:
    """The GS1 EPCIS 2.0 interface."""


@epcis_group.command("index")
@with_appcontext
def epcis_index() -> None:
    """Compute the eventIDs that GET /api/v1/epcis/events/{eventID} looks events up by.

    A lookup computes those of events recorded since the previous one; run this once after
    upgrading (or after changing CHEMTRACE_PUBLIC_URL, which the ids depend on) so that no
    lookup has a large backlog to compute. Safe to run while the service runs, and again.
    """
    base_url = current_app.config["PUBLIC_URL"]
    total = 0
    while count := unit_of_work.write_separately(lambda: event_ids.index_next(base_url)):
        total += count
    click.echo(f"{total} events indexed for {base_url}", err=True)
