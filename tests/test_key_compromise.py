"""A stolen signing key: `chemtrace keys compromise`, and what verifiers then show.

The registry's own labels signed before the compromise stay genuine online (the registry
recorded issuing them); anything else signed with the stolen key, whatever issue time it
claims, is refused as key_compromised; offline verifiers refuse the key outright and send
the inspector online; new labels are signed with the key that took over.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from crypto import tokens
from crypto.keys import b64url
from crypto.tokens import Claims
from registry.signing import signer
from tests.api.batch_helpers import make_party, register


def _verify(client, token: str) -> dict:
    answer = client.post("/api/v1/verify", json={"token": token})
    assert answer.status_code == 200
    return answer.json


def test_a_compromised_key_signs_nothing_more_and_its_forgeries_are_refused(
    app, auth, client, runner, tmp_path
):
    producer = make_party(app, auth, "Producer", 0)
    before = register(client, producer, "10", lot_number="BEFORE")
    with app.app_context():
        stolen = signer().keys.current()
    assert _verify(client, before["identifier"]["token"])["verified"] is True

    time.sleep(1)  # the compromise moment is at whole seconds
    since = datetime.now(UTC).replace(microsecond=0)
    marked = runner.invoke(
        args=[
            "keys",
            "compromise",
            "--since",
            since.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--",  # a base64url kid may begin with "-" (1 key in 64): never read as an option
            b64url(stolen.kid),
        ]
    )
    assert marked.exit_code == 0, marked.output
    assert f"key {b64url(stolen.kid)} is compromised since" in marked.output

    jwks = {k["kid"]: k for k in client.get("/.well-known/jwks.json").json["keys"]}
    assert jwks[b64url(stolen.kid)]["status"] == "compromised"
    assert jwks[b64url(stolen.kid)]["compromised_since"] == since.isoformat().replace("+00:00", "Z")
    assert sorted(k["status"] for k in jwks.values()) == ["compromised", "current", "next"]

    # The registry's own label from before the compromise: still genuine, online.
    assert _verify(client, before["identifier"]["token"])["verified"] is True

    # Whoever stole the key signs the same batch, now, and backdated: both refused.
    for issued_at in (int(time.time()), int(since.timestamp()) - 86400):
        forged = tokens.sign(
            Claims("chemtrace", before["id"], issued_at, None), stolen.private_key, stolen.kid
        )
        answer = _verify(client, forged)
        assert answer["verified"] is False
        assert answer["failure_reason"] == "key_compromised"
        assert answer["batch"] is None
        page = client.get(f"/v/{forged}").get_data(as_text=True)
        assert "compromised on " + since.isoformat().replace("+00:00", "Z") in page

    # New labels come from the key that took over, and verify.
    after = register(client, producer, "10", lot_number="AFTER")
    answer = _verify(client, after["identifier"]["token"])
    assert answer["verified"] is True and answer["kid"] != b64url(stolen.kid)
    assert answer["kid"] == next(k for k, v in jwks.items() if v["status"] == "current")

    # Offline, with the published JWKS: the stolen key's labels go online; others pass.
    saved = tmp_path / "jwks.json"
    saved.write_text(json.dumps(client.get("/.well-known/jwks.json").json))
    offline = runner.invoke(
        args=["label", "verify", before["identifier"]["token"], "--jwks", str(saved)]
    )
    assert offline.exit_code == 1
    assert json.loads(offline.output)["failure_reason"] == "key_compromised"
    fine = runner.invoke(
        args=["label", "verify", after["identifier"]["token"], "--jwks", str(saved)]
    )
    assert fine.exit_code == 0, fine.output

    # The list says so.
    listed = runner.invoke(args=["keys", "list"]).output
    assert f"compromised since {since.isoformat()}" in listed


def test_compromising_an_unknown_key_is_refused(runner):
    result = runner.invoke(
        args=["keys", "compromise", "AAAAAAAAAAA", "--since", "2026-01-01T00:00:00Z"]
    )
    assert result.exit_code != 0
    assert "no key" in result.output
