"""Building a registry database of N events quickly, with the shape the service gives it.

Going through the HTTP API runs at a few thousand events a second, too slow to set up a
million. This writes the rows directly, in bulk, exactly as the domain layer would have:
organisations with facilities and licences, then supply chains of 13 events each:

    producer registers a root batch (1000 kg) and its label is issued      2 events
    splits off two children of 100 kg, each labelled                        5 events
    ships 50 kg of the first child to a distributor (a labelled batch)      3 events
    the distributor receives it and consumes 10 kg                          2 events
    the producer consumes 100 kg of the root                                1 event

so every history has a genealogy (split and transfer links), every organisation's mass
balance has produced, shipped, received and consumed flows, and each organisation holds
about the same number of events at any scale (the number of organisations grows with N).
Labels are real Ed25519 tokens from the service's signing key, and every event's ledger
leaf and the subtree nodes it completes are written from ``leaf_bytes`` of the same row, so
proofs, verification and ``chemtrace ledger verify`` work on the result.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from api import create_app
from api.database import upgrade_to_head
from crypto import merkle
from registry.access import credentials
from registry.catalogue import organizations, substances
from registry.custody.quantities import Amount
from registry.db import db, new_id
from registry.ledger import events, tree
from registry.ledger.records import leaf_bytes
from registry.models import (
    Batch,
    BatchLink,
    Event,
    Identifier,
    LedgerHead,
    LedgerLeaf,
    LedgerNode,
    Substance,
    Transfer,
)
from registry.signing import signer

EVENTS_PER_CHAIN = 13
CHAINS_PER_ORG = 40
SUBSTANCES = ("108-24-7", "67-64-1", "7664-93-9", "7722-64-7")
COVERS = ["UN-1988-Table-I", "UN-1988-Table-II"]
START = datetime(2026, 1, 1, tzinfo=UTC)
STEP = timedelta(seconds=20)  # between consecutive events, whatever N
KG = 10**9  # micrograms
CHUNK = 20_000
WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def enterprise_code(rng: random.Random) -> str:
    """A random valid 10-digit enterprise code (the check digit of docs/examples)."""
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 10 - sum(w * d for w, d in zip(WEIGHTS, digits, strict=True)) % 11
        if check < 10 and digits[2:9] != [0] * 7:
            return "".join(map(str, digits)) + str(check)


@dataclass
class Party:
    id: str
    facility_id: str


@dataclass
class Seeded:
    """What the benchmarks need to know about a seeded database."""

    events: int
    parties: list[Party]
    tokens: list[str] = field(default_factory=list)  # a sample of genuine batch tokens
    roots: list[str] = field(default_factory=list)  # a sample of root batch ids
    seconds: float = 0.0


def app_for(database_url: str, data_dir: Path):
    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DATA_DIR": data_dir})


def prepare(database_url: str, data_dir: Path) -> None:
    """Schema, signing key, ledger head and catalogue: what ``chemtrace init`` does."""
    app = app_for(database_url, data_dir)
    with app.app_context():
        upgrade_to_head()
        signer().keys.ensure()
        events.ensure_ledger_head()
        substances.seed_catalogue()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def make_parties(count: int, rng: random.Random) -> list[Party]:
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(enterprise_code(rng))
    parties = []
    for n, code in enumerate(sorted(codes)):
        org = organizations.create_organization(f"Bench Chemicals {n}", code, f"Zone {n}")
        facility = organizations.add_facility(org.id, f"Site {n}", f"Lot {n}, Zone {n}")
        organizations.grant_licence(
            org.id,
            organizations.LicenceTerms(
                "distribution", f"GP-{n}", date(2025, 1, 1), date(2030, 12, 31), COVERS
            ),
        )
        parties.append(Party(org.id, facility.id))
    db.session.commit()
    return parties


class Writer:
    """Buffers rows per table and the ledger's frontier; flushes them in bulk inserts."""

    def __init__(self, first_index: int, known: dict[tuple[int, int], bytes]) -> None:
        self.next_index = first_index
        self.known = known
        self.rows: dict[Any, list[dict[str, Any]]] = {
            Batch: [],
            BatchLink: [],
            Transfer: [],
            Event: [],
            Identifier: [],
            LedgerLeaf: [],
            LedgerNode: [],
        }

    def at(self) -> datetime:
        return START + STEP * self.next_index

    def event(self, **values: Any) -> dict[str, Any]:
        n = self.next_index
        self.next_index += 1
        row = {
            "id": new_id(),
            "ledger_index": n,
            "credential_id": "BENCHSEED",
            "actor_role": "enterprise",
            "dimension": "mass",
            "quantity_micro": None,
            "quantity_delta_micro": None,
            "related_batch_id": None,
            "transfer_id": None,
            "documents": [],
            "details": {},
            "flagged": False,
            "recorded_at": START + STEP * n,
            **values,
        }
        if row["quantity_micro"] is None and row["quantity_delta_micro"]:
            row["quantity_micro"] = abs(row["quantity_delta_micro"])
        row.setdefault("actor_organization_id", row["organization_id"])
        digest = merkle.leaf_hash(leaf_bytes(Event(**row)))
        for level, index, h in merkle.append_leaf(n, digest, lambda lv, i: self.known[(lv, i)]):
            self.known[(level, index)] = h
            if level:
                self.rows[LedgerNode].append({"level": level, "index": index, "hash": h})
                self.known.pop((level - 1, 2 * index), None)
                self.known.pop((level - 1, 2 * index + 1), None)
            else:
                self.rows[LedgerLeaf].append({"index": index, "event_id": row["id"], "hash": h})
        self.rows[Event].append(row)
        return row

    def flush(self, session) -> None:
        for model, rows in self.rows.items():
            if rows:
                session.execute(sa.insert(model), rows)
                rows.clear()
        session.execute(
            sa.update(LedgerHead).where(LedgerHead.id == 1).values(size=self.next_index)
        )
        session.commit()


def _batch(
    substance: Substance,
    holder: Party,
    producer: Party,
    quantity: int,
    origin: str,
    lot: str,
    status: str,
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "substance_id": substance.id,
        "cas_rn": substance.cas_rn,
        "lot_number": lot,
        "status": status,
        "status_before_suspension": None,
        "dimension": "mass",
        "unit": "kg",
        "quantity_micro": quantity,
        "initial_quantity_micro": quantity,
        "concentration_pct": "99.5",
        "density_kg_per_l": None,
        "holder_organization_id": holder.id,
        "producer_organization_id": producer.id,
        "facility_id": holder.facility_id,
        "origin_kind": origin,
        "origin_document": None,
        "manufactured_on": None,
        "expires_on": None,
        "created_at": at,
    }


def label(w: Writer, batch: dict[str, Any], holder: Party) -> str:
    """The batch's signed label and its ``identifiers_issued`` event, as the service writes
    them; the token."""
    token, key = signer().sign(batch["id"])
    w.rows[Identifier].append(
        {
            "id": new_id(),
            "batch_id": batch["id"],
            "container_serial": None,
            "holder_organization_id": holder.id,
            "token": token,
            "kid": key.kid.hex(),
            "issued_at": w.at(),
        }
    )
    w.event(
        type="identifiers_issued",
        batch_id=batch["id"],
        cas_rn=batch["cas_rn"],
        organization_id=holder.id,
        facility_id=holder.facility_id,
        details={"kid": key.kid.hex(), "containers": [], "tokens": [token]},
    )
    return token


def chain(w: Writer, n: int, substance: Substance, producer: Party, receiver: Party, tokens):
    """The 13 events of one supply chain (see the module docstring); the root batch id."""
    lot = f"LOT-{n:07d}"
    root = _batch(substance, producer, producer, 1000 * KG, "produced", lot, "active", w.at())
    w.rows[Batch].append(root)
    common = {"cas_rn": substance.cas_rn, "organization_id": producer.id}
    common["facility_id"] = producer.facility_id
    w.event(
        type="registered",
        batch_id=root["id"],
        quantity_delta_micro=1000 * KG,
        documents=[{"type": "invoice", "number": f"PR-{n}"}],
        details={
            "origin": "produced",
            "origin_document": None,
            "lot_number": lot,
            "unit": "kg",
            "containers": 0,
        },
        **common,
    )
    tokens.append(label(w, root, producer))
    children = [
        _batch(substance, producer, producer, 100 * KG, "split", lot, "active", w.at())
        for _ in range(2)
    ]
    w.rows[Batch].extend(children)
    w.event(
        type="split",
        batch_id=root["id"],
        quantity_delta_micro=-200 * KG,
        details={"children": [c["id"] for c in children]},
        **common,
    )
    for child in children:
        w.rows[BatchLink].append(
            {
                "child_id": child["id"],
                "parent_id": root["id"],
                "kind": "split",
                "quantity_micro": 100 * KG,
            }
        )
        w.event(
            type="created",
            batch_id=child["id"],
            quantity_delta_micro=100 * KG,
            related_batch_id=root["id"],
            details={"origin": "split"},
            **common,
        )
        tokens.append(label(w, child, producer))
    # Ship 50 kg of the first child.
    source = children[0]
    source["quantity_micro"] -= 50 * KG
    shipped = _batch(substance, receiver, producer, 50 * KG, "transfer", lot, "active", w.at())
    shipped["quantity_micro"] = 40 * KG  # after the receiver consumes 10 kg below
    w.rows[Batch].append(shipped)
    w.rows[BatchLink].append(
        {
            "child_id": shipped["id"],
            "parent_id": source["id"],
            "kind": "transfer",
            "quantity_micro": 50 * KG,
        }
    )
    documents = [{"type": "invoice", "number": f"INV-{n}"}]
    transfer = {
        "id": new_id(),
        "source_batch_id": source["id"],
        "shipped_batch_id": shipped["id"],
        "from_organization_id": producer.id,
        "to_organization_id": receiver.id,
        "to_facility_id": receiver.facility_id,
        "status": "received",
        "quantity_micro": 50 * KG,
        "received_quantity_micro": 50 * KG,
        "documents": documents,
        "shipped_at": w.at(),
        "closed_at": None,
        "reject_reason": None,
    }
    w.rows[Transfer].append(transfer)
    w.event(
        type="shipped",
        batch_id=source["id"],
        quantity_delta_micro=-50 * KG,
        related_batch_id=shipped["id"],
        transfer_id=transfer["id"],
        documents=documents,
        details={"to_organization_id": receiver.id},
        **common,
    )
    w.event(
        type="dispatched",
        batch_id=shipped["id"],
        quantity_delta_micro=50 * KG,
        related_batch_id=source["id"],
        transfer_id=transfer["id"],
        documents=documents,
        details={"to_organization_id": receiver.id, "origin": "transfer"},
        **common,
    )
    tokens.append(label(w, shipped, producer))
    transfer["closed_at"] = w.at()
    fifty = Amount("mass", 50 * KG).as_json("kg")
    w.event(
        type="received",
        batch_id=shipped["id"],
        cas_rn=substance.cas_rn,
        organization_id=receiver.id,
        facility_id=receiver.facility_id,
        quantity_delta_micro=0,
        quantity_micro=50 * KG,
        transfer_id=transfer["id"],
        documents=documents,
        details={"shipped_quantity": fifty, "discrepancy": Amount("mass", 0).as_json("kg")},
    )
    w.event(
        type="consumed",
        batch_id=shipped["id"],
        cas_rn=substance.cas_rn,
        organization_id=receiver.id,
        facility_id=receiver.facility_id,
        quantity_delta_micro=-10 * KG,
        details={"purpose": "synthesis"},
    )
    root["quantity_micro"] -= 300 * KG
    w.event(
        type="consumed",
        batch_id=root["id"],
        quantity_delta_micro=-100 * KG,
        details={"purpose": "formulation"},
        **common,
    )
    return root["id"]


def seed(database_url: str, data_dir: Path, target: int, seed_value: int = 8) -> Seeded:
    """A fresh database at ``database_url`` with about ``target`` events (whole chains)."""
    started = time.perf_counter()
    prepare(database_url, data_dir)
    rng = random.Random(seed_value)
    chains = max(1, target // EVENTS_PER_CHAIN)
    app = app_for(database_url, data_dir)
    with app.app_context():
        parties = make_parties(max(4, chains // CHAINS_PER_ORG), rng)
        catalogue = {
            s.cas_rn: s
            for s in db.session.scalars(
                sa.select(Substance).where(Substance.cas_rn.in_(SUBSTANCES))
            )
        }
        size = db.session.get(LedgerHead, 1).size
        writer = Writer(size, {})
        if size:
            raise RuntimeError("seed expects an empty ledger")
        result = Seeded(0, parties)
        all_tokens: list[str] = []
        for n in range(chains):
            producer = parties[n % len(parties)]
            receiver = parties[(n + 1 + n // len(parties)) % len(parties)]
            if receiver is producer:
                receiver = parties[(n + 1) % len(parties)]
            tokens: list[str] = []
            root = chain(
                writer, n, catalogue[SUBSTANCES[n % len(SUBSTANCES)]], producer, receiver, tokens
            )
            if rng.random() < 2000 / chains:
                result.roots.append(root)
                all_tokens.extend(tokens)
            if len(writer.rows[Event]) >= CHUNK:
                writer.flush(db.session)
                _progress(writer.next_index, chains * EVENTS_PER_CHAIN)
        writer.flush(db.session)
        tree.sign_checkpoint_now()
        db.session.commit()
        result.events = writer.next_index
        result.tokens = all_tokens
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    result.seconds = time.perf_counter() - started
    return result


def _progress(done: int, total: int) -> None:
    print(f"  seeded {done:,} / {total:,} events", file=sys.stderr, flush=True)


def issue_key(database_url: str, data_dir: Path, role: str, organization_id: str | None = None):
    app = app_for(database_url, data_dir)
    with app.app_context():
        secret = credentials.issue_api_key(role, organization_id, f"bench {role}").secret
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return secret


def iter_chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for first in range(0, len(items), size):
        yield items[first : first + size]
