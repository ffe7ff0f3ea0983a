"""Schema migrations (Alembic via Flask-Migrate) and the readiness check that uses them."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from flask_migrate import upgrade as alembic_upgrade
from sqlalchemy import text

from registry.db import db

# The migrations ship inside the package, so an installed service can migrate itself.
MIGRATIONS_DIR = str(Path(str(resources.files("migrations"))))

migrate = Migrate(directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)


def init_app(app: Flask) -> None:
    migrate.init_app(app, db)


def upgrade_to_head() -> None:
    alembic_upgrade(directory=MIGRATIONS_DIR)


@cache
def head_revision() -> str | None:
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def schema_problems() -> list[str]:
    """Why the database cannot serve right now; empty when it can."""
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        current = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if current != head:
        return [f"database schema is at {current or 'nothing'}, the code expects {head}"]
    return []
