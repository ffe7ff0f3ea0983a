"""The ``chemtrace`` commands: one module per command group, registered on the app by
``init_app`` (the console script itself is ``api.console``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from api.cli.apikeys import apikey_group
    from api.cli.deliver import deliver_command
    from api.cli.epcis import epcis_group
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
        deliver_command,
        epcis_group,
    ):
        app.cli.add_command(command)
