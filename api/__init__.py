"""The HTTP layer: the app factory, one blueprint per resource, errors, auth and pages."""

from __future__ import annotations

from typing import Any

from flask import Flask

from api import (
    config,
    database,
    errors,
    headers,
    i18n,
    limits,
    observability,
    oidc,
    transactions,
)
from registry import signing
from registry.db import db
from registry.ledger import tree as registry_ledger


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    app.config.update(config.from_environment())
    app.config.update(overrides or {})
    app.config.setdefault("KEYS_DIR", app.config["DATA_DIR"] / "keys")
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", config.engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    app.config["MAX_CONTENT_LENGTH"] = config.MAX_BODY_BYTES
    app.json.sort_keys = False

    observability.configure_logging(app.config["LOG_LEVEL"])
    db.init_app(app)
    signing.init_app(app, app.config["KEYS_DIR"])
    registry_ledger.init_app(app)
    oidc.init_app(app)
    database.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    observability.init_app(app)
    headers.init_app(app)
    limits.init_app(app)
    transactions.init_app(app)
    _register_blueprints(app)

    from api import cli

    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from api.routes import (
        access_log,
        batches,
        control_lists,
        credentials,
        docs,
        epcis,
        events,
        exports,
        health,
        labels,
        ledger,
        organizations,
        reports,
        substances,
        transfers,
        transformations,
        verification,
    )

    for module in (
        health,
        docs,
        organizations,
        substances,
        control_lists,
        credentials,
        batches,
        transfers,
        transformations,
        verification,
        labels,
        ledger,
        events,
        reports,
        exports,
        access_log,
        epcis,
        epcis.saved_queries,
    ):
        app.register_blueprint(module.bp)
