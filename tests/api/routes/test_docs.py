"""/docs: the viewer's page, its files served from here, and its own Content-Security-Policy.
The page in a real browser is tests/api/routes/test_docs_page.py."""

from __future__ import annotations

import re

import yaml

from api.headers import PAGE_POLICY, VIEWER_POLICY
from api.routes.docs import ASSETS, IMMUTABLE

SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


def test_the_page_loads_the_viewer_from_this_origin_only(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    scripts = SCRIPT.findall(html)
    assert len(scripts) == 2
    for attributes, body in scripts:
        assert body.strip() == "", "no inline script: the policy would refuse it"
        assert re.search(r'src="/docs/assets/[\w.-]+\?v=[0-9a-f]{16}"', attributes)
    links = re.findall(r'(?:src|href)="(/docs/assets/[^"]+)"', html)
    assert {link.split("?")[0].rsplit("/", 1)[1] for link in links} == set(ASSETS)
    for link in links:
        asset = client.get(link)
        assert asset.status_code == 200, link
        assert asset.headers["Cache-Control"] == IMMUTABLE
        assert asset.headers["ETag"]
    assert "swagger-ui-bundle.js" in html and 'data-spec="/openapi.yaml"' in html
    assert "cdn" not in html.lower() and "https://" not in html


def test_without_script_the_page_still_lists_every_operation(client):
    spec = yaml.safe_load(client.get("/openapi.yaml").get_data(as_text=True))
    html = client.get("/docs").get_data(as_text=True)
    fallback = html.split("<noscript>", 1)[1].split("</noscript>", 1)[0]
    for path, item in spec["paths"].items():
        assert path in fallback
        for operation in item.values():
            if isinstance(operation, dict) and "summary" in operation:
                assert operation["summary"].replace("'", "&#39;") in fallback


def test_only_the_docs_page_may_run_script(client):
    docs = client.get("/docs")
    assert docs.headers["Content-Security-Policy"] == VIEWER_POLICY
    directives = dict(d.strip().split(" ", 1) for d in VIEWER_POLICY.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval, no CDN
    assert directives["connect-src"] == "'self'"  # "try it" calls this origin only
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert docs.headers["X-Frame-Options"] == "DENY"
    # Every other page keeps the policy with no script at all.
    verify_page = client.get("/v/FORGED", headers={"Accept": "text/html"})
    assert verify_page.headers["Content-Security-Policy"] == PAGE_POLICY
    assert "script-src" not in PAGE_POLICY


def test_the_page_speaks_the_language_asked_for(client):
    english = client.get("/docs?lang=en")
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert english.headers["Content-Language"] == "en"
    vietnamese = client.get("/docs?lang=vi")
    html = vietnamese.get_data(as_text=True)
    assert '<html lang="vi">' in html
    assert vietnamese.headers["Content-Language"] == "vi"
    assert "Accept-Language" in vietnamese.headers["Vary"]
    assert "Tài liệu tham khảo API" in html and "API reference" not in html
    assert "API reference" in english.get_data(as_text=True)
    assert (
        client.get("/docs", headers={"Accept-Language": "vi"}).headers["Content-Language"] == "vi"
    )


def test_an_asset_is_cached_a_year_only_under_its_fingerprint(client):
    plain = client.get("/docs/assets/docs.js")
    assert plain.status_code == 200
    assert plain.mimetype == "text/javascript"
    assert plain.headers["Cache-Control"] == "no-cache"
    etag = plain.headers["ETag"]
    fingerprint = etag.strip('"')
    pinned = client.get(f"/docs/assets/docs.js?v={fingerprint}")
    assert pinned.headers["Cache-Control"] == IMMUTABLE
    again = client.get("/docs/assets/docs.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/docs/assets/swagger-ui.css").mimetype == "text/css"
    assert client.get("/docs/assets/favicon-32x32.png").mimetype == "image/png"


def test_the_viewer_is_swagger_ui_5_from_the_package(client):
    bundle = client.get("/docs/assets/swagger-ui-bundle.js").get_data(as_text=True)
    assert "SwaggerUIBundle" in bundle
    assert re.search(r'"5\.\d+\.\d+"', bundle), "OpenAPI 3.1 needs Swagger UI 5"


def test_only_the_pages_files_are_served(client):
    for name in ("swagger-editor-bundle.js", "LICENSE", "index.css", "oauth2-redirect.html"):
        refused = client.get(f"/docs/assets/{name}")
        assert refused.status_code == 404, name
        assert refused.json["code"] == "not_found"
