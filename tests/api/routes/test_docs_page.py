"""The /docs page as an integrator uses it, in headless Chromium against the real service:
Swagger UI renders every operation under the page's strict policy, an operation opens to its
request and response schemas, and a call tried from the page with an API key entered through
Authorize gets its answer. Screenshots go to test-artifacts/docs/.

Chromium comes from Debian's `chromium` package (CI installs it); where it is missing the
test is skipped locally with a visible reason, and fails under CI.
"""

from __future__ import annotations

import pytest
import yaml

from tests.browser import require_chromium
from tests.conftest import ROOT
from tests.live import running_service

ARTIFACTS = ROOT / "test-artifacts" / "docs"
METHODS = {"get", "post", "put", "patch", "delete", "options"}


@pytest.fixture
def browser():
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.slow
def test_docs_page_in_a_real_browser(app, database_url, tmp_path, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_service(database_url, tmp_path / "data") as service:
        admin = service.chemtrace("apikey", "create", "--role", "admin").split()[-1]
        spec = yaml.safe_load(service.get("/openapi.yaml")[1])
        operations = sum(1 for item in spec["paths"].values() for m in item if m in METHODS)

        page = browser.new_page(viewport={"width": 1280, "height": 900})
        refusals: list[str] = []
        page.on("console", lambda m: refusals.append(m.text) if "Content Security" in m.text else 0)
        outside: list[str] = []
        page.on(
            "request",
            lambda r: outside.append(r.url) if not r.url.startswith(service.base_url) else 0,
        )

        page.goto(f"{service.base_url}/docs?lang=vi")
        page.wait_for_selector(".opblock")
        assert page.locator("html").get_attribute("lang") == "vi"
        assert page.locator(".opblock").count() == operations
        page.screenshot(path=ARTIFACTS / "docs-overview.png")

        # An operation opens to its request and its response schemas.
        verify = page.locator("#operations-verification-verify")
        verify.locator(".opblock-summary").click()
        verify.locator(".opblock-section-request-body .tablinks[data-name=model]").click()
        request_schema = verify.locator(".opblock-section-request-body .model-box")
        assert "token" in request_schema.inner_text()
        answer = verify.locator("tr.response[data-code='200']")
        answer.locator(".tablinks[data-name=model]").click()
        response_schema = answer.locator(".model-box").inner_text()
        assert "verified" in response_schema and "failure_reason" in response_schema
        # The problem codes are there to read, not only in the YAML.
        problem = verify.locator("tr.response[data-code='422']")
        assert "cas_invalid" in problem.inner_text()  # the example shown by default
        problem.locator(".tablinks[data-name=model]").click()
        assert "licence_missing" in problem.inner_text()  # the Problem schema's code
        verify.screenshot(path=ARTIFACTS / "docs-verify-schemas.png")

        # Authorize with an API key, then try a call from the page.
        page.locator(".auth-wrapper .btn.authorize").click()
        page.locator(".modal-ux input").fill(admin)
        page.locator(".modal-ux .auth-btn-wrapper .btn.authorize").click()
        page.locator(".modal-ux .btn-done").click()
        search = page.locator("#operations-substances-searchSubstances")
        search.locator(".opblock-summary").click()
        search.locator(".try-out__btn").click()
        search.locator(".execute").click()
        status = search.locator(".live-responses-table .response .response-col_status")
        status.wait_for()
        assert status.inner_text().strip() == "200"
        body = search.locator(".live-responses-table .response-col_description pre").first
        assert '"items"' in body.inner_text()
        curl = search.locator(".curl-command").inner_text()
        assert "Authorization: Bearer ctk_" in curl
        search.screenshot(path=ARTIFACTS / "docs-try-it.png")
        # The page as the integrator sees it after the call: the request, then the answer.
        search.locator(".curl-command").evaluate("e => e.scrollIntoView({block: 'start'})")
        page.evaluate("window.scrollBy(0, -60)")
        page.screenshot(path=ARTIFACTS / "docs-page.png")

        assert refusals == []
        assert outside == []
