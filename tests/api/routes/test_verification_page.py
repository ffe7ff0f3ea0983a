"""The verification page as a phone shows it: headless Chromium, screenshots kept.

Screenshots of a genuine, a recalled and a forged label go to test-artifacts/. Chromium
comes from Debian's `chromium` package (CI installs it); where it is missing the test is
skipped locally with a visible reason, and fails under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.live import running_service

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(*args: str, user_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            CHROMIUM,
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
            "--window-size=412,915",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )


@pytest.fixture
def browser():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is required in CI (apt-get install chromium)")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.mark.slow
def test_page_in_a_real_browser(app, database_url, tmp_path, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    with running_service(database_url, tmp_path / "data") as service:
        # Issue through the live service so the page verifies with the service's own keys.
        admin = service.chemtrace("apikey", "create", "--role", "admin").split()[-1]
        client = LiveClient(service.base_url, admin)
        producer = client.enterprise("Hoa Chat Sai Gon", "0300588569")
        genuine = client.batch(producer)
        recalled = client.batch(producer)
        client.recall(producer, recalled["id"])
        forged = genuine["identifier"]["token"][:-4] + "AAAA"
        pages = {
            "genuine": (genuine["identifier"]["url"], "GENUINE LABEL", "ACTIVE"),
            "recalled": (recalled["identifier"]["url"], "RECALLED", "RECALLED"),
            "forged": (f"{service.base_url}/v/{forged}", "NOT A GENUINE LABEL", "Reason code"),
        }
        for name, (url, verdict, detail) in pages.items():
            url = url.replace("http://127.0.0.1:8000", service.base_url)
            dom = chromium("--dump-dom", url, user_dir=tmp_path / f"dom-{name}").stdout
            assert (verdict in dom and detail in dom.upper()) or detail in dom, (name, dom[:500])
            shot = ARTIFACTS / f"verification-{name}.png"
            chromium(f"--screenshot={shot}", url, user_dir=tmp_path / f"shot-{name}")
            assert shot.stat().st_size > 5000, name


class LiveClient:
    """Just enough of the API over HTTP to set up the three labels."""

    def __init__(self, base: str, admin_key: str) -> None:
        self.base, self.admin = base, admin_key

    def call(self, method: str, path: str, key: str, body: dict) -> dict:
        import json
        import urllib.request

        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def enterprise(self, name: str, code: str) -> tuple[str, str]:
        org = self.call(
            "POST", "/api/v1/organizations", self.admin, {"name": name, "enterprise_code": code}
        )
        site = self.call(
            "POST",
            f"/api/v1/organizations/{org['id']}/facilities",
            self.admin,
            {"name": "Warehouse", "address": "District 7"},
        )
        key = self.call(
            "POST",
            "/api/v1/api-keys",
            self.admin,
            {"role": "enterprise", "organization_id": org["id"]},
        )["key"]
        return key, site["id"]

    def batch(self, producer: tuple[str, str]) -> dict:
        key, site = producer
        return self.call(
            "POST",
            "/api/v1/batches",
            key,
            {
                "cas_rn": "108-24-7",
                "lot_number": "AA-1",
                "quantity": {"value": "5", "unit": "kg"},
                "facility_id": site,
                "origin": {"kind": "produced"},
            },
        )

    def recall(self, producer: tuple[str, str], batch_id: str) -> None:
        self.call(
            "POST", f"/api/v1/batches/{batch_id}/recall", producer[0], {"reason": "contamination"}
        )
