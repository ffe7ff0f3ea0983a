"""A whole supply chain against a running ChemTrace service, checked to the gram.

    python docs/examples/scenario.py http://127.0.0.1:8000 <admin API key>

Producer → distributor → end user: registration, a split, a partial receipt with a
discrepancy, consumption, disposal, a loss and a recall. At the end every quantity is
added up from the service's own answers and must balance exactly. Uses only the
standard library, so it runs anywhere Python 3.11 does. It creates three organisations
with fresh enterprise codes each run.
"""

from __future__ import annotations

import json
import random
import sys
import urllib.request
from decimal import Decimal
from typing import Any

WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def enterprise_code(rng: random.Random) -> str:
    """A random valid 10-digit enterprise code (Vietnamese tax code check digit)."""
    while True:
        digits = [rng.randrange(10) for _ in range(9)]
        check = 10 - sum(w * d for w, d in zip(WEIGHTS, digits, strict=True)) % 11
        if check < 10 and digits[2:9] != [0] * 7:
            return "".join(map(str, digits)) + str(check)


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base.rstrip("/"), key

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the operator's own service
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            # Generous: a bulk of 1000 batches on a busy two-core machine can take a while.
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        if status != expect:
            raise SystemExit(f"{method} {path}: expected {expect}, got {status}: {payload!r}")
        return json.loads(payload)

    def as_(self, key: str) -> Api:
        return Api(self.base, key)


def kg(quantity: dict[str, str]) -> Decimal:
    return (
        Decimal(quantity["value"]) * {"g": Decimal("0.001"), "kg": 1, "t": 1000}[quantity["unit"]]
    )


def q(value: str) -> dict[str, str]:
    return {"value": value, "unit": "kg"}


def party(admin: Api, regulator: Api, name: str, rng: random.Random) -> tuple[Api, str, str]:
    org = admin.call(
        "POST",
        "/api/v1/organizations",
        {"name": name, "enterprise_code": enterprise_code(rng)},
        201,
    )
    facility = admin.call(
        "POST",
        f"/api/v1/organizations/{org['id']}/facilities",
        {"name": f"{name} warehouse", "address": "Industrial park"},
        201,
    )
    regulator.call(
        "POST",
        f"/api/v1/organizations/{org['id']}/licences",
        {
            "kind": "distribution",
            "number": f"LIC-{org['id'][-6:]}",
            "valid_from": "2020-01-01",
            "valid_until": "2099-12-31",
            "covers": ["UN-1988-Table-I"],
        },
        201,
    )
    key = admin.call(
        "POST", "/api/v1/api-keys", {"role": "enterprise", "organization_id": org["id"]}, 201
    )["key"]
    return admin.as_(key), org["id"], facility["id"]


def run(base: str, admin_key: str, seed: int | None = None) -> dict[str, Decimal]:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    admin = Api(base, admin_key)
    regulator = admin.as_(admin.call("POST", "/api/v1/api-keys", {"role": "regulator"}, 201)["key"])
    producer, _, producer_site = party(admin, regulator, "Producer JSC", rng)
    distributor, distributor_id, distributor_site = party(admin, regulator, "Distributor Co", rng)
    end_user, end_user_id, _ = party(admin, regulator, "Pharma End User", rng)

    batch = producer.call(
        "POST",
        "/api/v1/batches",
        {
            "cas_rn": "108-24-7",
            "lot_number": "AA-001",
            "quantity": q("500"),
            "concentration_pct": "99.5",
            "facility_id": producer_site,
            "origin": {"kind": "produced"},
            "containers": 4,
        },
        201,
    )
    origin = batch["id"]
    split = producer.call(
        "POST", f"/api/v1/batches/{origin}/split", {"parts": [q("100"), q("50.250")]}, 201
    )
    shipment = producer.call(
        "POST",
        "/api/v1/transfers",
        {
            "batch_id": origin,
            "quantity": q("300"),
            "to_organization_id": distributor_id,
            "documents": [
                {"type": "invoice", "number": "INV-1"},
                {"type": "delivery_note", "number": "DN-1"},
                {"type": "control_slip", "number": "CS-1"},
            ],
        },
        201,
    )
    received = distributor.call(
        "POST",
        f"/api/v1/transfers/{shipment['id']}/receive",
        {"received_quantity": q("299.5"), "facility_id": distributor_site},
    )
    assert received["status"] == "received_with_discrepancy", received
    onward = distributor.call(
        "POST",
        "/api/v1/transfers",
        {"batch_id": received["batch_id"], "quantity": q("200"), "to_organization_id": end_user_id},
        201,
    )
    end_user.call(
        "POST", f"/api/v1/transfers/{onward['id']}/receive", {"received_quantity": q("200")}
    )
    user_batch = onward["shipped_batch_id"]
    end_user.call(
        "POST",
        f"/api/v1/batches/{user_batch}/consume",
        {"quantity": q("150"), "purpose": "acetylation"},
    )
    end_user.call(
        "POST",
        f"/api/v1/batches/{user_batch}/dispose",
        {"quantity": q("20"), "method": "incineration"},
    )
    distributor.call(
        "POST",
        f"/api/v1/batches/{received['batch_id']}/incidents",
        {"kind": "loss", "quantity": q("99.5"), "description": "leak"},
        201,
    )
    producer.call(
        "POST", f"/api/v1/batches/{split['children'][1]['id']}/recall", {"reason": "off-spec"}
    )

    history = regulator.call("GET", f"/api/v1/batches/{origin}/history")
    held = sum(kg(b["quantity"]) for b in history["batches"])
    gone = sum(
        kg(e["quantity"])
        for e in history["events"]
        if e["type"] in {"consumed", "disposed", "exported", "incident"}
    )
    discrepancies = sum(
        kg(e["quantity_delta"]) for e in history["events"] if e["type"] == "received"
    )
    totals = {
        "registered": Decimal(500),
        "held": held,
        "left": gone,
        "receipt_discrepancies": discrepancies,
    }
    if held + gone - discrepancies != Decimal(500):
        raise SystemExit(f"quantities do not add up: {totals}")
    for b in history["batches"]:
        deltas = sum(
            kg(e["quantity_delta"])
            for e in history["events"]
            if e["batch_id"] == b["id"] and e["quantity_delta"]
        )
        if deltas != kg(b["quantity"]):
            raise SystemExit(
                f"batch {b['id']}: events add to {deltas}, batch holds {b['quantity']}"
            )
    return totals


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    result = run(sys.argv[1], sys.argv[2])
    print("every quantity adds up to the gram:")
    for name, value in result.items():
        print(f"  {name:>22}: {value} kg")
