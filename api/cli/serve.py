"""``chemtrace serve`` and ``chemtrace init``: schema, key and catalogue up, then serve."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib import resources

import click
from flask import current_app
from flask.cli import with_appcontext

from api import database
from api.render.label import LabelTooLarge, qr_code
from registry import unit_of_work
from registry.catalogue import substances
from registry.db import new_id
from registry.ledger import events
from registry.signing import signer

GUNICORN_CONFIG = str(resources.files("api").joinpath("gunicorn_conf.py"))


def prepare() -> None:
    """Everything ``serve`` needs before the first request: schema, signing key, catalogue."""
    data_dir = current_app.config["DATA_DIR"]
    data_dir.mkdir(parents=True, exist_ok=True)
    database.upgrade_to_head()
    kid = signer().keys.ensure().kid
    _check_labels_print()
    events.ensure_ledger_head()
    seeded = substances.seed_catalogue()
    unit_of_work.commit()
    click.echo(f"schema at {database.head_revision()}; signing key {kid.hex()}", err=True)
    if seeded:
        click.echo(f"substance catalogue seeded with {seeded} substances", err=True)


def _check_labels_print() -> None:
    """Refuse to start if the configured public URL and issuer make labels unprintable."""
    token, _ = signer().sign(new_id())  # a batch's token, as long as any real one
    try:
        qr_code(signer().url(""), token)
    except LabelTooLarge as exc:
        raise click.ClickException(str(exc)) from None


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn workers (default: config)")
@click.option(
    "--deliver/--no-deliver",
    default=True,
    show_default=True,
    help="Also run the webhook delivery worker (chemtrace deliver) beside gunicorn.",
)
@with_appcontext
def serve_command(host: str, port: int, workers: int | None, deliver: bool) -> None:
    """Migrate, create a signing key and seed if needed, then run under gunicorn."""
    prepare()
    metrics_dir = current_app.config["DATA_DIR"] / "prometheus"
    # Multi-process metrics live in files; stale ones from a previous run would be counted.
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ["CHEMTRACE_DATA_DIR"] = str(current_app.config["DATA_DIR"])
    argv = gunicorn_argv(
        "api.wsgi:app", f"{host}:{port}", *(["--workers", str(workers)] if workers else [])
    )
    sys.stdout.flush()
    sys.stderr.flush()
    if deliver:
        # The delivery worker, kept running by a process of its own (api.cli.supervise), child
        # of this one (which becomes gunicorn's master below, with the same pid): both stop
        # when the master is gone.
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "api.cli.supervise", "--parent", str(os.getpid())]
        )
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn


def gunicorn_argv(app: str, bind: str, *options: str) -> list[str]:
    """gunicorn with the service's configuration file serving ``app`` (the benchmark's bare
    baseline is started by the same argv, so both run under exactly the same settings)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        GUNICORN_CONFIG,
        "--bind",
        bind,
        *options,
        app,
    ]


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Migrate, create a signing key and seed the catalogue, without serving."""
    prepare()
