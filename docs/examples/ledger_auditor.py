#!/usr/bin/env python3
"""An outside auditor for a ChemTrace Registry ledger: HTTP access and a public key only.

Deliberately standalone: it imports nothing from the registry, only the standard library and
`cryptography` (for Ed25519), so that an auditor can read every line that decides whether
to trust the log, and so that it checks the registry's server with an independent
implementation of RFC 9162 and C2SP signed notes. See docs/auditing.md.

    pip install cryptography
    ledger_auditor.py --url URL --verifier-key 'ORIGIN+KEYID+KEY' [--verifier-key ...] checkpoint
    ledger_auditor.py --url URL --verifier-key ... include INDEX --api-key ctk_...

`checkpoint` fetches the latest signed checkpoint, checks its signature against the pinned
verifier key and, if a checkpoint was kept from an earlier run, checks the consistency proof
between the two, then keeps the new one in the state file. `include` checks that ledger
entry INDEX (an event's `ledger_index`) is in the kept checkpoint: it fetches the entry's
leaf bytes (a regulator's API key is needed for those), hashes them and checks the
inclusion proof against the kept, signed root. Exit status 0 means every check held.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class AuditFailure(Exception):
    """Something the log served does not hold up."""


# --- HTTP ---------------------------------------------------------------------------------


def fetch(base: str, path: str, params: dict | None = None, api_key: str | None = None):
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    headers = {"Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise AuditFailure(f"not an http(s) URL: {url}")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise AuditFailure(f"GET {path} answered {error.code}: {error.read()[:300]!r}") from None


# --- C2SP signed notes and checkpoints ----------------------------------------------------


def parse_verifier_key(text: str) -> tuple[str, bytes, Ed25519PublicKey]:
    name, key_id_hex, encoded = text.strip().split("+", 2)
    raw = base64.b64decode(encoded, validate=True)
    if len(raw) != 33 or raw[0] != 0x01:
        raise AuditFailure("the verifier key is not an Ed25519 note key")
    key_id = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    if key_id.hex() != key_id_hex:
        raise AuditFailure("the verifier key's ID does not match its key")
    return name, key_id, Ed25519PublicKey.from_public_bytes(raw[1:])


def open_checkpoint(note: str, verifier_keys: list[str]) -> tuple[str, int, bytes]:
    """(origin, tree size, root hash) of a checkpoint signed by one of the pinned keys.
    Signatures by other keys are ignored, as C2SP signed notes require."""
    pinned = {}
    for text in verifier_keys:
        name, key_id, public_key = parse_verifier_key(text)
        pinned[(name, key_id)] = public_key
    split = note.rfind("\n\n")
    text, signatures = note[: split + 1], note[split + 2 :].splitlines()
    signed_as = None
    for line in signatures:
        if not line.startswith("\u2014 "):
            raise AuditFailure("malformed signature line")
        signer, _, blob = line[2:].partition(" ")
        raw = base64.b64decode(blob, validate=True)
        public_key = pinned.get((signer, raw[:4]))
        if public_key is None:
            continue
        try:
            public_key.verify(raw[4:], text.encode())
        except InvalidSignature:
            raise AuditFailure("the checkpoint's signature does not verify") from None
        signed_as = signer
    if signed_as is None:
        raise AuditFailure("the checkpoint is not signed by a pinned key")
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2], validate=True)
    if origin != signed_as or len(root) != 32:
        raise AuditFailure(f"checkpoint for {origin!r}, signed as {signed_as!r}")
    return origin, size, root


# --- RFC 9162 proof verification (§2.1.3.2 and §2.1.4.2) -----------------------------------


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes):
    if index >= size:
        raise AuditFailure("leaf index beyond the tree")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise AuditFailure("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise AuditFailure(f"entry {index} is not in the tree of {size} with the signed root")


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes):
    if size1 > size2:
        raise AuditFailure("the log shrank")
    if size1 == size2:
        if proof or root1 != root2:
            raise AuditFailure("two different roots for the same size: the log forked")
        return
    if size1 == 0:
        return  # the empty tree is a prefix of every tree
    path = ([root1] if size1 & (size1 - 1) == 0 else []) + proof
    if not path:
        raise AuditFailure("empty consistency proof")
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise AuditFailure("consistency proof too long")
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != root1 or sr != root2:
        raise AuditFailure(f"the tree of {size2} does not extend the kept tree of {size1}")


# --- The two checks -----------------------------------------------------------------------


def b64list(values: list[str]) -> list[bytes]:
    return [base64.b64decode(v, validate=True) for v in values]


def load_state(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {"checkpoints": []}


def check_checkpoint(args) -> str:
    state = load_state(args.state)
    latest = fetch(args.url, "/api/v1/ledger/checkpoint")
    origin, size, root = open_checkpoint(latest["note"], args.verifier_key)
    if state["checkpoints"]:
        kept = state["checkpoints"][-1]
        _, old_size, old_root = open_checkpoint(kept["note"], args.verifier_key)
        proof = fetch(
            args.url, "/api/v1/ledger/proofs/consistency", {"first": old_size, "second": size}
        )
        verify_consistency(old_size, size, b64list(proof["proof"]), old_root, root)
        message = f"consistent: {old_size} -> {size} entries"
    else:
        message = f"first checkpoint kept: {size} entries"
    state["checkpoints"].append({"note": latest["note"], "fetched_at": latest["timestamp"]})
    args.state.write_text(json.dumps(state, indent=2))
    return f"{message}, root {root.hex()} ({origin})"


def check_inclusion(args) -> str:
    state = load_state(args.state)
    if not state["checkpoints"]:
        raise AuditFailure("no checkpoint kept yet: run the checkpoint command first")
    _, size, root = open_checkpoint(state["checkpoints"][-1]["note"], args.verifier_key)
    if args.index >= size:
        raise AuditFailure(
            f"entry {args.index} is beyond the kept checkpoint of {size} entries; "
            "run the checkpoint command again later"
        )
    found = fetch(
        args.url,
        "/api/v1/ledger/entries",
        {"start": args.index, "end": args.index + 1},
        api_key=args.api_key,
    )["entries"]
    if not found:
        raise AuditFailure(f"entry {args.index} is not served")
    leaf = base64.b64decode(found[0]["leaf"], validate=True)
    event = json.loads(leaf)
    if event.get("ledger_index") != args.index or event.get("id") != found[0]["event_id"]:
        raise AuditFailure("the entry's leaf is not the event it claims to be")
    leaf_hash = hashlib.sha256(b"\x00" + leaf).digest()
    proof = fetch(
        args.url, "/api/v1/ledger/proofs/inclusion", {"index": args.index, "tree_size": size}
    )
    verify_inclusion(leaf_hash, args.index, size, b64list(proof["proof"]), root)
    return (
        f"included: entry {args.index} (event {event['id']}, {event['type']} of batch "
        f"{event['batch_id']}) is in the signed tree of {size} entries"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the registry's base URL")
    parser.add_argument(
        "--verifier-key",
        required=True,
        action="append",
        help="a pinned note verifier key; repeat it to pin the next key before a rotation",
    )
    parser.add_argument("--state", type=Path, default=Path("auditor-state.json"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("checkpoint", help="fetch, check and keep the latest checkpoint")
    include = commands.add_parser("include", help="check that an entry is in the kept tree")
    include.add_argument("index", type=int, help="the event's ledger_index")
    include.add_argument("--api-key", help="a regulator's API key, to read the entry")
    args = parser.parse_args(argv)
    try:
        print(check_checkpoint(args) if args.command == "checkpoint" else check_inclusion(args))
    except (AuditFailure, ValueError, KeyError) as failure:
        print(f"AUDIT FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
