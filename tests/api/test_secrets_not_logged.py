"""Secrets never reach the logs or the answers: API keys, bearer tokens that fail, the
signing key, and the database password; not even on a 500."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import serialization

from api import create_app
from registry.signing import signer
from tests.api.batch_helpers import register
from tests.conftest import ContractClient


def test_credentials_and_keys_stay_out_of_the_logs(app, client, auth, producer, logs):
    regulator = auth("regulator")

    @app.get("/boom")
    def boom():
        raise RuntimeError("failed while holding " + regulator["Authorization"][:12])

    secret = regulator["Authorization"].removeprefix("Bearer ")
    guessed = "ctk_01aaaaaaaaaaaaaaaaaaaaaaaa_" + "g" * 43

    assert client.get("/api/v1/batches", headers=regulator).status_code == 200
    assert client.get("/api/v1/batches", headers={"Authorization": secret}).status_code == 401
    assert (
        client.get("/api/v1/batches", headers={"Authorization": f"Bearer {guessed}"}).status_code
        == 401
    )
    batch = register(client, producer)
    client.get(f"/api/v1/batches/{batch['id']}/history", headers=regulator)

    app.test_client_class = None
    crashed = app.test_client().get("/boom", headers=regulator)
    assert crashed.status_code == 500

    with app.app_context():
        key = signer().keys.current().private_key
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    logged = logs()
    assert "chemtrace.access" in logged and "Traceback" in logged, "the logs were not captured"
    for leaked in (
        secret,
        secret[-20:],
        guessed,
        producer.headers["Authorization"].removeprefix("Bearer "),
        raw.hex(),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ):
        assert leaked not in logged
        assert leaked not in crashed.get_data(as_text=True)


def test_the_database_password_stays_out_of_logs_and_answers(tmp_path, capfd):
    password = "Sup3r-Secret-Pw"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://chemtrace:{password}@127.0.0.1:1/x",
            "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}},
            "DATA_DIR": tmp_path,
            "RATELIMIT_ENABLED": False,
        }
    )
    app.test_client_class = ContractClient
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    guess = "ctk_01aaaaaaaaaaaaaaaaaaaaaaaa_" + "g" * 43
    listed = client.get("/api/v1/batches", headers={"Authorization": f"Bearer {guess}"})
    assert listed.status_code == 503
    out, err = capfd.readouterr()
    assert "database unavailable" in err and "database unreachable" in err, "logs not captured"
    for text in (out, err, ready.get_data(as_text=True), listed.get_data(as_text=True)):
        assert password not in text
        assert "127.0.0.1:1" not in text
        assert guess not in text
