"""The app's webhook settings, as the domain's delivery worker and subscriptions take them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import current_app

from crypto import secretbox
from registry.subscriptions import delivery, destinations

# Beside the signing keys, so that servers sharing those share this too; never in the database.
SECRETS_KEY_FILE = "webhook-secrets.key"


def rules() -> list[destinations.Rule]:
    return destinations.parse_rules(current_app.config["WEBHOOK_ALLOWED"])


def secrets_key() -> bytes:
    return secretbox.key_in(str(Path(current_app.config["KEYS_DIR"]) / SECRETS_KEY_FILE))


def delivery_settings() -> delivery.Settings:
    config = current_app.config
    return delivery.Settings(
        rules=rules(),
        secret_key=secrets_key(),
        base_url=config["PUBLIC_URL"],
        backoff_base=config["WEBHOOK_BACKOFF_SECONDS"],
        backoff_max=config["WEBHOOK_BACKOFF_MAX_SECONDS"],
        timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
        idle=config["WEBHOOK_POLL_SECONDS"],
        thresholds=config["FLAG_THRESHOLDS"],
        overdue_scan_every=config["OVERDUE_SCAN_SECONDS"],
        retention=timedelta(days=config["OUTBOX_RETENTION_DAYS"]),
    )
