"""The verification page as a phone shows it: headless Chromium at 390 px, screenshots kept.

Five labels (genuine, recalled, stolen, in transit, forged), each in Vietnamese and English,
set up through the real API, served by the real service (gunicorn) and rendered by Chromium;
the screenshots go to test-artifacts/verification/ (CI keeps that folder). Chromium comes
from Debian's `chromium` package (CI installs it); where it is missing the test is skipped
locally with a visible reason, and fails under CI.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.api.batch_helpers import make_party, qty, register
from tests.api.routes.test_verification_page_languages import classify_acetic_anhydride
from tests.browser import require_chromium
from tests.conftest import ROOT
from tests.live import running_service

ARTIFACTS = ROOT / "test-artifacts" / "verification"
PHONE = "390,1100"  # CSS pixels: a common phone width

# label -> language -> (the verdict, what the page must also say about this label)
EXPECTED = {
    "genuine": {
        "vi": ("NHÃN THẬT", "đang lưu hành"),
        "en": ("GENUINE LABEL", "active"),
    },
    "recalled": {
        "vi": ("NHÃN THẬT", "ĐÃ BỊ THU HỒI: không sử dụng"),
        "en": ("GENUINE LABEL", "RECALLED: do not use"),
    },
    "stolen": {
        "vi": ("NHÃN THẬT", "ĐÃ BÁO MẤT CẮP: hãy giữ lại"),
        "en": ("GENUINE LABEL", "REPORTED STOLEN: hold it"),
    },
    "in-transit": {
        "vi": ("NHÃN THẬT", "Đang được chuyển đến"),
        "en": ("GENUINE LABEL", "On its way to"),
    },
    "forged": {
        "vi": ("KHÔNG PHẢI NHÃN THẬT", "Mã lý do"),
        "en": ("NOT A GENUINE LABEL", "Reason code"),
    },
}


def chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            require_chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={user_dir}",
            f"--window-size={PHONE}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


@pytest.fixture
def browser():
    return require_chromium()


def five_labels(app, client, auth) -> dict[str, str]:
    """The path of each label's page, the batches set up through the API."""
    classify_acetic_anhydride(app)
    producer = make_party(app, auth, "Hóa Chất Sài Gòn", 0)
    receiver = make_party(app, auth, "Mekong Distribution", 1)

    def post(path: str, body: dict) -> dict:
        answer = client.post(path, json=body, headers=producer.headers)
        assert answer.status_code in (200, 201), answer.json
        return answer.json

    genuine = register(client, producer, "5", lot_number="AA-2026-001")
    recalled = register(client, producer, "5", lot_number="AA-2026-002")
    post(f"/api/v1/batches/{recalled['id']}/recall", {"reason": "contamination"})
    stolen = register(client, producer, "5", lot_number="AA-2026-003")
    post(
        f"/api/v1/batches/{stolen['id']}/incidents",
        {"kind": "theft", "quantity": qty("5"), "description": "warehouse break-in"},
    )
    source = register(client, producer, "5", lot_number="AA-2026-004")
    shipment = post(
        "/api/v1/transfers",
        {"batch_id": source["id"], "quantity": qty("5"), "to_organization_id": receiver.id},
    )
    moving = client.get(
        f"/api/v1/batches/{shipment['shipped_batch_id']}", headers=producer.headers
    ).json
    tokens = {
        "genuine": genuine["identifier"]["token"],
        "recalled": recalled["identifier"]["token"],
        "stolen": stolen["identifier"]["token"],
        "in-transit": moving["identifier"]["token"],
        "forged": genuine["identifier"]["token"][:-4] + "AAAA",
    }
    return {name: f"/v/{token}" for name, token in tokens.items()}


@pytest.mark.slow
def test_the_page_in_both_languages_in_a_real_browser(
    app, client, auth, database_url, tmp_path, browser
):
    pages = five_labels(app, client, auth)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # The service signs with the test app's keys (the same DATA_DIR) and reads its database.
    with running_service(database_url, tmp_path) as service:
        for name, path in pages.items():
            for language, (verdict, also) in EXPECTED[name].items():
                url = f"{service.base_url}{path}?lang={language}"
                tag = f"{name}-{language}"
                dom = chromium("--dump-dom", url, user_dir=tmp_path / f"dom-{tag}").stdout
                assert re.search(f'<html lang="{language}"', dom), (tag, dom[:200])
                assert verdict in dom and also in dom, (tag, dom)
                if name != "forged":
                    assert "NOT A GENUINE" not in dom and "KHÔNG PHẢI" not in dom, tag
                shot = ARTIFACTS / f"{tag}.png"
                chromium(f"--screenshot={shot}", url, user_dir=tmp_path / f"shot-{tag}")
                assert shot.stat().st_size > 5000, tag
