"""The documented supply-chain scenario, run against a live ``chemtrace serve``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.live import load_example, running_service


@pytest.mark.slow
def test_scenario_adds_up_against_a_live_service(app, database_url, tmp_path: Path):
    scenario = load_example("scenario")
    with running_service(database_url, tmp_path / "data") as service:
        admin_key = service.chemtrace("apikey", "create", "--role", "admin").split()[-1]
        totals = scenario.run(service.base_url, admin_key, seed=7)
    print(totals)
    assert totals["registered"] == Decimal(500)
    assert totals["held"] + totals["left"] - totals["receipt_discrepancies"] == Decimal(500)
    assert totals["left"] == Decimal("269.5")
