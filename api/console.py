"""The ``chemtrace`` console script: the app's commands (``api.cli``) under one group."""

from __future__ import annotations

from flask.cli import FlaskGroup

from api import create_app


def main() -> None:
    cli = FlaskGroup(
        name="chemtrace",
        create_app=lambda: create_app(),
        add_default_commands=False,
        add_version_option=False,
        load_dotenv=False,
        help="ChemTrace Registry: run the service and administer it.",
    )
    cli.main(prog_name="chemtrace")


if __name__ == "__main__":  # `python -m api.console`, as `chemtrace serve` starts `deliver`
    main()
