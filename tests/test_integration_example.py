"""docs/examples/integration.py, run as written against a live service that trusts a local
identity provider (its JWKS in a file, as CHEMTRACE_OIDC_ISSUERS allows)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.live import example_path, load_example, running_service

ISSUER = "https://id.example.vn"


@pytest.mark.slow
def test_integration_example_runs_as_written(app, database_url, tmp_path, monkeypatch):
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "idp-1"}
    jwks_file = tmp_path / "idp-jwks.json"
    jwks_file.write_text(json.dumps({"keys": [jwk]}))
    monkeypatch.setenv(
        "CHEMTRACE_OIDC_ISSUERS",
        json.dumps(
            [
                {
                    "issuer": ISSUER,
                    "audience": "chemtrace",
                    "jwks_file": str(jwks_file),
                    "role_claim": "chemtrace_role",
                    "organization_claim": "enterprise_code",
                    "subject_id_claim": "personal_id",
                }
            ]
        ),
    )

    def token(**claims) -> str:
        now = int(time.time())
        payload = {"iss": ISSUER, "aud": "chemtrace", "sub": "inspector-7", "exp": now + 300}
        return jwt.encode({**payload, **claims}, key, algorithm="ES256", headers={"kid": "idp-1"})

    scenario = load_example("scenario")
    with running_service(database_url, tmp_path / "data") as service:
        admin_key = service.chemtrace("apikey", "create", "--role", "admin").split()[-1]
        admin = scenario.Api(service.base_url, admin_key)
        regulator = admin.as_(
            admin.call("POST", "/api/v1/api-keys", {"role": "regulator"}, 201)["key"]
        )
        producer, _, site = scenario.party(
            admin, regulator, "Label Chemicals JSC", random.Random(3)
        )
        batch = producer.call(
            "POST",
            "/api/v1/batches",
            {
                "cas_rn": "108-24-7",
                "lot_number": "INT-1",
                "quantity": scenario.q("25"),
                "facility_id": site,
                "origin": {"kind": "produced"},
            },
            201,
        )
        label = batch["identifier"]["url"]

        def run(*extra: str):
            return subprocess.run(
                [
                    sys.executable,
                    str(example_path("integration")),
                    "--url",
                    service.base_url,
                    "--label",
                    label,
                    *extra,
                ],
                capture_output=True,
                text=True,
                check=False,
            )

        good = run("--token", token(chemtrace_role="regulator", personal_id="079203001234"))
        assert good.returncode == 0, good.stderr
        lines = good.stdout.splitlines()
        assert lines[0].startswith("1. JWKS: 2 keys")
        assert lines[1].startswith(f"2. offline: genuine label of batch {batch['id']}")
        assert "3. online: verified=True status=active" in lines[2]
        assert "Label Chemicals JSC" in lines[2]
        assert lines[3].startswith("4. on behalf of the person: ")

        expired = run("--token", token(chemtrace_role="regulator", exp=int(time.time()) - 600))
        assert expired.returncode == 1
        assert "4. on behalf of the person: refused 401 token_expired" in expired.stdout
