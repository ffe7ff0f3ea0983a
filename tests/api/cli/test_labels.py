"""chemtrace keys and chemtrace label verify: offline, from a token, a URL or an image."""

from __future__ import annotations

import json

import pytest

from tests.api.batch_helpers import make_party, register


@pytest.fixture
def labelled(app, auth, client, tmp_path):
    producer = make_party(app, auth, "Producer", 0)
    batch = register(client, producer, "25", containers=1)
    for fmt in ("png", "svg"):
        image = client.get(
            f"/api/v1/batches/{batch['id']}/label.{fmt}?container=0001", headers=producer.headers
        )
        (tmp_path / f"label.{fmt}").write_bytes(image.data)
    (tmp_path / "jwks.json").write_text(json.dumps(client.get("/.well-known/jwks.json").json))
    return batch


@pytest.mark.parametrize("form", ["token", "url", "label.png", "label.svg"])
def test_label_verify_offline(runner, labelled, tmp_path, form):
    subject = {
        "token": labelled["containers"][0]["token"].lower(),
        "url": labelled["containers"][0]["url"],
        "label.png": str(tmp_path / "label.png"),
        "label.svg": str(tmp_path / "label.svg"),
    }[form]
    result = runner.invoke(args=["label", "verify", subject, "--jwks", str(tmp_path / "jwks.json")])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["verified"] is True
    assert answer["claims"] == {**answer["claims"], "sub": labelled["id"], "container": "0001"}


def test_label_verify_refuses_a_forgery(runner, labelled, tmp_path):
    token = labelled["identifier"]["token"]
    forged = token[:100] + ("B" if token[100] == "A" else "A") + token[101:]
    result = runner.invoke(args=["label", "verify", forged, "--jwks", str(tmp_path / "jwks.json")])
    assert result.exit_code == 1
    assert json.loads(result.output)["verified"] is False


def test_label_verify_with_an_empty_jwks_names_the_unknown_kid(runner, labelled, tmp_path):
    (tmp_path / "empty.json").write_text('{"keys": []}')
    result = runner.invoke(
        args=[
            "label",
            "verify",
            labelled["identifier"]["token"],
            "--jwks",
            str(tmp_path / "empty.json"),
        ]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["failure_reason"] == "unknown_kid"


def test_keys_list_and_rotate(runner):
    before = runner.invoke(args=["keys", "list"]).output.splitlines()
    assert sorted(line.split()[2] for line in before) == ["current", "next"]
    next_kid = next(line.split()[0] for line in before if line.split()[2] == "next")
    rotated = runner.invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0
    assert f"current key is now {next_kid}" in rotated.output
    after = runner.invoke(args=["keys", "list"]).output.splitlines()
    assert sorted(line.split()[2] for line in after) == ["current", "next", "retired"]
