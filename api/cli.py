"""The ``chemtrace`` command line. Commands are registered on the app in ``init_app``."""

from __future__ import annotations

import os
import shutil
import sys
from importlib import resources

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from api import database
from registry import credentials, events, substances
from registry.db import db
from registry.errors import DomainError
from registry.models import ROLES
from registry.signing import signer

GUNICORN_CONFIG = str(resources.files("api").joinpath("gunicorn_conf.py"))


def main() -> None:
    from api import create_app

    cli = FlaskGroup(
        name="chemtrace",
        create_app=lambda: create_app(),
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        help="ChemTrace Registry: run the service and administer it.",
    )
    cli.main(prog_name="chemtrace")


def prepare() -> None:
    """Everything ``serve`` needs before the first request: schema, signing key, catalogue."""
    data_dir = current_app.config["DATA_DIR"]
    data_dir.mkdir(parents=True, exist_ok=True)
    database.upgrade_to_head()
    kid = signer().keys.ensure().kid
    events.ensure_ledger_head()
    seeded = substances.seed_catalogue()
    db.session.commit()
    click.echo(f"schema at {database.head_revision()}; signing key {kid.hex()}", err=True)
    if seeded:
        click.echo(f"substance catalogue seeded with {seeded} substances", err=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn workers (default: config)")
@with_appcontext
def serve_command(host: str, port: int, workers: int | None) -> None:
    """Migrate, create a signing key and seed if needed, then run under gunicorn."""
    prepare()
    metrics_dir = current_app.config["DATA_DIR"] / "prometheus"
    # Multi-process metrics live in files; stale ones from a previous run would be counted.
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    os.environ["CHEMTRACE_DATA_DIR"] = str(current_app.config["DATA_DIR"])
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        GUNICORN_CONFIG,
        "--bind",
        f"{host}:{port}",
    ]
    if workers:
        argv += ["--workers", str(workers)]
    argv.append("api.wsgi:app")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn


@click.group("apikey")
def apikey_group() -> None:
    """Issue and revoke API keys."""


@apikey_group.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--org", "organization_id", help="the organisation id (enterprise keys)")
@click.option("--name", help="a label to recognise the key by")
@with_appcontext
def apikey_create(role: str, organization_id: str | None, name: str | None) -> None:
    """Print a new API key once, alone on the last line."""
    try:
        issued = credentials.issue_api_key(role, organization_id, name)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    db.session.commit()
    click.echo(f"# API key {issued.api_key.id} ({role}); it is shown only this once:", err=True)
    click.echo(issued.secret)


@apikey_group.command("revoke")
@click.argument("key_id")
@with_appcontext
def apikey_revoke(key_id: str) -> None:
    """Revoke a key by its id; requests with it are refused from now on."""
    try:
        credentials.revoke_api_key(key_id)
    except DomainError as exc:
        raise click.ClickException(exc.detail) from None
    db.session.commit()
    click.echo(f"revoked {key_id}")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Migrate, create a signing key and seed the catalogue, without serving."""
    prepare()


def init_app(app: Flask) -> None:
    from api.cli_labels import keys_group, label_group
    from api.cli_ledger import ledger_group

    app.cli.add_command(keys_group)
    app.cli.add_command(label_group)
    app.cli.add_command(ledger_group)
    app.cli.add_command(serve_command)
    app.cli.add_command(apikey_group)
    app.cli.add_command(init_command)
