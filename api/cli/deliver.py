"""``chemtrace deliver``: post saved-query subscriptions' messages to their webhooks."""

from __future__ import annotations

import os
import signal

import click
from flask.cli import with_appcontext

from api import webhooks
from registry.subscriptions import delivery


@click.command("deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--parent",
    type=int,
    hidden=True,
    help="Exit when this process (chemtrace serve's gunicorn) is no longer our parent.",
)
@with_appcontext
def deliver_command(once: bool, parent: int | None) -> None:
    """Deliver webhook messages in ledger order, retrying until each receiver answers 2xx,
    and raise shipment_not_received for shipments overdue (every CHEMTRACE_OVERDUE_SCAN_SECONDS).

    Safe to run several on PostgreSQL (they share the work); on SQLite run one. Killed at any
    moment, it loses nothing: what was not marked delivered is posted again.
    """
    settings = webhooks.delivery_settings()
    if once:
        delivery.scan_if_due(settings, None)
        while delivery.deliver_next(settings):
            pass
        return
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    click.echo("delivering webhooks", err=True)
    delivery.run(
        settings, lambda: bool(stopping) or (parent is not None and os.getppid() != parent)
    )
