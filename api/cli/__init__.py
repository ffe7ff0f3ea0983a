"""The ``chemtrace`` command line: one module per command group, registered on the app."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


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


def init_app(app: Flask) -> None:
    from api.cli.apikeys import apikey_group
    from api.cli.keys import keys_group
    from api.cli.labels import label_group
    from api.cli.ledger import ledger_group
    from api.cli.serve import init_command, serve_command

    for command in (
        serve_command,
        init_command,
        apikey_group,
        keys_group,
        label_group,
        ledger_group,
    ):
        app.cli.add_command(command)
