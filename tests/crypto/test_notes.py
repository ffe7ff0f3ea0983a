"""C2SP signed notes and checkpoints, against the Go reference implementation's example."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from crypto import notes
from crypto.notes import NoteError

# golang.org/x/mod/sumdb/note's documented example key and note. Ed25519 is deterministic,
# so signing the same text with the same key must give the same note byte for byte.
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_PRIVATE_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(GO_PRIVATE_SEED)


def test_signing_reproduces_the_reference_note():
    assert notes.sign(GO_TEXT, "PeterNeumann", go_key()) == GO_NOTE


def test_verifier_key_round_trips_and_matches_the_reference():
    verifier = notes.verifier("PeterNeumann", go_key().public_key())
    assert verifier.text() == GO_VERIFIER_KEY
    assert notes.parse_verifier_key(GO_VERIFIER_KEY).key_id == bytes.fromhex("c74f20a3")


def test_reference_note_opens():
    text, signed_by = notes.open_note(GO_NOTE, [notes.parse_verifier_key(GO_VERIFIER_KEY)])
    assert text == GO_TEXT
    assert [v.name for v in signed_by] == ["PeterNeumann"]


@pytest.mark.parametrize(
    "mangled",
    [
        GO_VERIFIER_KEY.replace("c74f20a3", "c74f20a4"),  # key ID of another key
        GO_VERIFIER_KEY.replace("+AR", "+Ah"),  # not Ed25519
        GO_VERIFIER_KEY[:-2],
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
    ],
)
def test_mangled_verifier_keys_are_refused(mangled):
    with pytest.raises(NoteError) as error:
        notes.parse_verifier_key(mangled)
    assert error.value.reason == "malformed_key"


def test_an_edited_text_is_refused():
    verifier = notes.parse_verifier_key(GO_VERIFIER_KEY)
    with pytest.raises(NoteError) as error:
        notes.open_note(GO_NOTE.replace("answer", "Answer"), [verifier])
    assert error.value.reason == "bad_signature"


def test_unknown_signatures_are_ignored_but_one_known_is_needed():
    other = Ed25519PrivateKey.generate()
    foreign = notes.sign(GO_TEXT, "someone.example/else", other)
    both = GO_NOTE + foreign.split("\n\n")[1]
    verifier = notes.parse_verifier_key(GO_VERIFIER_KEY)
    assert notes.open_note(both, [verifier])[0] == GO_TEXT
    with pytest.raises(NoteError) as error:
        notes.open_note(foreign, [verifier])
    assert error.value.reason == "no_known_signature"


@pytest.mark.parametrize(
    "note",
    [
        GO_NOTE.rstrip("\n"),  # no final newline
        GO_TEXT,  # no signatures
        GO_NOTE.replace("\u2014 ", "- "),
        GO_NOTE.replace("x08go", "x08g!"),
        GO_NOTE.replace("If you", "If\tyou"),
    ],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(NoteError) as error:
        notes.open_note(note, [notes.parse_verifier_key(GO_VERIFIER_KEY)])
    assert error.value.reason in {"malformed_note", "no_known_signature"}


def test_checkpoint_round_trip_and_origin_check():
    key = Ed25519PrivateKey.generate()
    checkpoint = notes.Checkpoint("registry.example/ledger", 20852163, bytes(range(32)))
    note = notes.sign(checkpoint.text(), "registry.example/ledger", key)
    verifier = notes.verifier("registry.example/ledger", key.public_key())
    assert notes.open_checkpoint(note, [verifier], "registry.example/ledger") == checkpoint
    with pytest.raises(NoteError) as error:
        notes.open_checkpoint(note, [verifier], "other.example/ledger")
    assert error.value.reason == "malformed_checkpoint"


@pytest.mark.parametrize(
    "text",
    [
        "origin\n012\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",  # leading zero
        "origin\n-1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "origin\n1\nAAAA\n",  # root too short
        "origin\n1\n",
        "origin\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\nextra\n",
    ],
)
def test_malformed_checkpoints_are_refused(text):
    with pytest.raises(NoteError) as error:
        notes.parse_checkpoint(text)
    assert error.value.reason == "malformed_checkpoint"
