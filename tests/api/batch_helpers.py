"""Shared set-up for batch tests: organisations with facilities, licences and keys."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from registry.catalogue import organizations
from registry.catalogue.organizations import LicenceTerms
from registry.db import db
from tests.conftest import ENTERPRISE_CODES


@dataclass
class Party:
    id: str
    facility_id: str
    headers: dict[str, str]


def make_party(app, auth, name: str, code_index: int, *, licensed: bool = True) -> Party:
    from datetime import date

    with app.app_context():
        org = organizations.create_organization(name, ENTERPRISE_CODES[code_index])
        facility = organizations.add_facility(org.id, f"{name} site", "Industrial zone")
        if licensed:
            organizations.grant_licence(
                org.id,
                LicenceTerms(
                    "distribution",
                    f"L-{code_index}",
                    date(2020, 1, 1),
                    date(2099, 12, 31),
                    ["UN-1988-Table-I", "UN-1988-Table-II"],
                ),
            )
        db.session.commit()
        org_id, facility_id = org.id, facility.id
    return Party(org_id, facility_id, auth("enterprise", org_id))


def qty(value: str, unit: str = "kg") -> dict[str, str]:
    return {"value": value, "unit": unit}


def register(client, party: Party, value: str = "500", unit: str = "kg", **extra):
    body = {
        "cas_rn": "108-24-7",
        "lot_number": "AA-2026-001",
        "quantity": qty(value, unit),
        "facility_id": party.facility_id,
        "origin": {"kind": "produced"},
        **extra,
    }
    response = client.post("/api/v1/batches", json=body, headers=party.headers)
    assert response.status_code == 201, response.json
    return response.json


def kg(quantity: dict[str, str]) -> Decimal:
    factor = {"g": Decimal("0.001"), "kg": Decimal(1), "t": Decimal(1000)}[quantity["unit"]]
    return Decimal(quantity["value"]) * factor
