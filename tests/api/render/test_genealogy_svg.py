"""The genealogy picture: a real chain built over HTTP, drawn as SVG, checked as XML and
rendered in headless Chromium (screenshots go to test-artifacts/genealogy*.png).

Chromium is required here: where it is missing the test fails, it is never skipped.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from api.render.genealogy_svg import FLAGGED_COLOUR, render_history_svg
from registry.access.credentials import Principal
from registry.custody.history import History, history
from registry.db import db
from registry.models import Organization, Substance
from tests.api.batch_helpers import make_party, qty, register
from tests.browser import require_chromium
from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
SVG = "{http://www.w3.org/2000/svg}"
REGULATOR = Principal("test-regulator", "regulator")

PRODUCER_NAME = 'Hóa Chất Sài Gòn <Producer> & "Co"'
DISTRIBUTOR_NAME = "Mekong Distribution Ltd"
END_USER_NAME = "Công ty Dược Hà Nội"
NASTY_LOT = "LOT<script>&\"'"


@dataclass
class Chain:
    root: str  # produced, then split
    kept: str  # the split part the producer ships from
    shipped: str  # received by the distributor with a discrepancy
    other_input: str  # the distributor's own batch, with NASTY_LOT; suspended later
    product: str  # transformation of `shipped` and `other_input`
    delivered: str  # part of the product, shipped to the end user and received in full
    portion: str  # a split of the product


@pytest.fixture
def browser() -> str:
    return require_chromium(even_outside_ci=True)


def ok(response, status: int = 201) -> dict:
    assert response.status_code == status, response.json
    return response.json


def ship_and_receive(client, sender, receiver, batch_id: str, sent: str, received: str) -> str:
    transfer = ok(
        client.post(
            "/api/v1/transfers",
            json={
                "batch_id": batch_id,
                "quantity": qty(sent),
                "to_organization_id": receiver.id,
                "documents": [{"type": "invoice", "number": "INV-1"}],
            },
            headers=sender.headers,
        )
    )
    receipt = ok(
        client.post(
            f"/api/v1/transfers/{transfer['id']}/receive",
            json={"received_quantity": qty(received)},
            headers=receiver.headers,
        ),
        200,
    )
    return receipt["batch_id"]


def split(client, party, batch_id: str, *values: str) -> list[str]:
    body = {"parts": [qty(v) for v in values]}
    answer = ok(client.post(f"/api/v1/batches/{batch_id}/split", json=body, headers=party.headers))
    return [child["id"] for child in answer["children"]]


@pytest.fixture
def parties(app, auth):
    return (
        make_party(app, auth, PRODUCER_NAME, 0),
        make_party(app, auth, DISTRIBUTOR_NAME, 1),
        make_party(app, auth, END_USER_NAME, 2),
    )


@pytest.fixture
def chain(client, auth, parties) -> Chain:
    producer, distributor, end_user = parties
    root = register(client, producer, "500", lot_number="AA-2026-001")["id"]
    kept, _ = split(client, producer, root, "100", "50.250")
    shipped = ship_and_receive(client, producer, distributor, kept, "80", "79.5")
    other_input = register(client, distributor, "40", cas_rn="67-64-1", lot_number=NASTY_LOT)["id"]
    product = ok(
        client.post(
            "/api/v1/transformations",
            json={
                "inputs": [
                    {"batch_id": shipped, "quantity": qty("60")},
                    {"batch_id": other_input, "quantity": qty("10")},
                ],
                "output": {
                    "cas_rn": "67-64-1",
                    "lot_number": "PX-7",
                    "quantity": qty("65"),
                    "facility_id": distributor.facility_id,
                },
            },
            headers=distributor.headers,
        )
    )["output"]["id"]
    delivered = ship_and_receive(client, distributor, end_user, product, "20", "20")
    (portion,) = split(client, distributor, product, "10")
    ok(
        client.post(
            f"/api/v1/batches/{other_input}/suspend",
            json={"reason": "inspection pending"},
            headers=auth("regulator"),
        ),
        200,
    )
    return Chain(root, kept, shipped, other_input, product, delivered, portion)


def load(batch_id: str) -> tuple[History, dict[str, Organization]]:
    found = history(batch_id, "both", REGULATOR)
    holders = {b.holder_organization_id for b in found.batches}
    organizations = {
        o.id: o
        for o in db.session.scalars(select(Organization).where(Organization.id.in_(holders)))
    }
    return found, organizations


def draw(app, batch_id: str) -> tuple[str, History]:
    with app.app_context():
        found, organizations = load(batch_id)
        return render_history_svg(found, organizations), found


def parse(svg: str) -> ET.Element:
    assert svg.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(svg.encode("utf-8"))  # noqa: S314 - our own output
    assert root.tag == f"{SVG}svg"
    assert root.get("version") == "1.1"
    width, height = int(root.get("width")), int(root.get("height"))
    assert root.get("viewBox") == f"0 0 {width} {height}"
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def group(root: ET.Element, element_id: str) -> ET.Element:
    found = [g for g in root.iter(f"{SVG}g") if g.get("id") == element_id]
    assert len(found) == 1, element_id
    return found[0]


def boxes(root: ET.Element) -> dict[str, tuple[int, int, int, int]]:
    placed = {}
    for g in root.iter(f"{SVG}g"):
        if "batch" in (g.get("class") or "").split():
            rect = g.find(f"{SVG}rect")
            placed[g.get("id")] = tuple(int(rect.get(k)) for k in ("x", "y", "width", "height"))
    return placed


def assert_nothing_active(svg: str, root: ET.Element) -> None:
    """No script, no event handlers, no foreignObject, nothing fetched from elsewhere."""
    assert "<script" not in svg.lower()
    for element in root.iter():
        name = element.tag.rsplit("}", 1)[-1]
        assert name.lower() not in {"script", "foreignobject", "image", "use", "a", "style"}
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1].lower()
            assert not local.startswith("on"), attribute
            assert local != "href", attribute
            assert "url(" not in value or value.startswith("url(#"), value
            assert "javascript:" not in value.lower()


def screenshot(browser: str, svg: str, name: str, tmp_path: Path) -> Image.Image:
    """The SVG as Chromium draws it, at its own size, kept in test-artifacts/."""
    root = parse(svg)
    width, height = int(root.get("width")), int(root.get("height"))
    ARTIFACTS.mkdir(exist_ok=True)
    source = tmp_path / f"{name}.svg"
    source.write_text(svg, encoding="utf-8")
    shot = ARTIFACTS / f"{name}.png"
    shot.unlink(missing_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={tmp_path / f'chromium-{name}'}",
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            source.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    image = Image.open(shot)
    image.load()
    assert image.size == (width, height)
    return image.convert("RGB")


def test_the_picture_shows_every_batch_link_and_flag(app, client, chain, browser, tmp_path):
    svg, found = draw(app, chain.product)
    root = parse(svg)
    assert {b.id for b in found.batches} == {
        chain.root,
        chain.kept,
        chain.shipped,
        chain.other_input,
        chain.product,
        chain.delivered,
        chain.portion,
    }
    shown = texts(root)
    visible = "\n".join(shown)
    for batch in found.batches:
        assert f"Lot {batch.lot_number}" in shown, batch.lot_number
    for name in (PRODUCER_NAME, DISTRIBUTOR_NAME, END_USER_NAME):
        assert f"Holder: {name}" in shown, name
    for code in ("0300588569", "0101248141", "0100109106"):
        assert f"Enterprise code: {code}" in shown
    # Exact decimal strings, in the batch's unit.
    assert "Quantity now: 19.5 kg" in shown and "Initial quantity: 80 kg" in shown
    assert "Quantity now: 349.75 kg" in shown and "Initial quantity: 500 kg" in shown
    assert "Acetic anhydride (CAS 108-24-7)" in shown and "Status: suspended" in shown

    # One arrow per link, labelled with its kind and the quantity moved.
    links = [g for g in root.iter(f"{SVG}g") if "link" in (g.get("class") or "").split()]
    assert len(links) == len(found.links) == 6
    for g in links:
        path = g.find(f"{SVG}path")
        assert path.get("marker-end", "").startswith("url(#arrow-")
    assert "split · 100 kg" in visible and "transformation · 10 kg" in visible
    assert "transfer · 20 kg" in visible and "received " in visible

    # The receipt with a discrepancy is a flagged link, in the flagged colour.
    discrepancy = group(root, f"link-{chain.kept}-{chain.shipped}")
    assert "flagged" in discrepancy.get("class").split()
    assert discrepancy.find(f"{SVG}path").get("stroke") == FLAGGED_COLOUR
    assert "receipt discrepancy -0.5 kg" in "\n".join(texts(discrepancy))
    for parent, child in [(chain.root, chain.kept), (chain.product, chain.delivered)]:
        calm = group(root, f"link-{parent}-{child}")
        assert "flagged" not in calm.get("class").split()
        assert calm.find(f"{SVG}path").get("stroke") != FLAGGED_COLOUR
    assert any("flagged link" in text for text in shown)  # the legend explains it

    # Flagged batches (a discrepancy, a suspension) and the requested batch stand out.
    classes = {g.get("id"): set(g.get("class", "").split()) for g in root.iter(f"{SVG}g")}
    assert "flagged" in classes[f"batch-{chain.shipped}"]
    assert "flagged" in classes[f"batch-{chain.other_input}"]
    assert "flagged" not in classes[f"batch-{chain.root}"]
    assert "requested" in classes[f"batch-{chain.product}"]
    assert sum("requested" in c for c in classes.values()) == 1

    # Left to right by longest path from a root; nothing overlaps.
    placed = boxes(root)
    x = {batch_id.removeprefix("batch-"): box[0] for batch_id, box in placed.items()}
    assert x[chain.root] == x[chain.other_input] < x[chain.kept] < x[chain.shipped]
    assert x[chain.shipped] < x[chain.product] < x[chain.delivered] == x[chain.portion]
    assert_no_overlap(placed, root)

    # User input is escaped, yet shown as it was typed.
    assert_nothing_active(svg, root)
    assert "LOT&lt;script&gt;&amp;&quot;&apos;" in svg
    assert f"Lot {NASTY_LOT}" in shown

    image = screenshot(browser, svg, "genealogy", tmp_path)
    assert len(image.getcolors(maxcolors=1 << 20) or range(1 << 20)) > 50
    # The flagged colour is actually painted.
    red = tuple(int(FLAGGED_COLOUR[i : i + 2], 16) for i in (1, 3, 5))
    assert red in {colour for _, colour in image.getcolors(maxcolors=1 << 20)}


def assert_no_overlap(placed: dict[str, tuple[int, int, int, int]], root: ET.Element) -> None:
    width, height = int(root.get("width")), int(root.get("height"))
    items = sorted(placed.items())
    for i, (a, (ax, ay, aw, ah)) in enumerate(items):
        assert ax >= 0 and ay >= 0 and ax + aw <= width and ay + ah <= height, a
        for b, (bx, by, bw, bh) in items[i + 1 :]:
            apart = ax + aw <= bx or bx + bw <= ax or ay + ah <= by or by + bh <= ay
            assert apart, (a, b)


def test_same_history_same_document(app, chain):
    first, found = draw(app, chain.product)
    again, _ = draw(app, chain.product)
    assert first == again
    with app.app_context():
        found, organizations = load(chain.product)
        shuffled = History(
            found.batch,
            list(reversed(found.batches)),
            list(reversed(found.links)),
            list(reversed(found.events)),
        )
        assert render_history_svg(shuffled, dict(reversed(organizations.items()))) == first


def test_a_lone_batch_and_explicit_flags(app, client, chain):
    with app.app_context():
        found, organizations = load(chain.root)
        lone = History(found.batch, [found.batch], [], [])
        root = parse(render_history_svg(lone, {}))
        assert len(boxes(root)) == 1
        assert any(text.startswith("Holder: unknown") for text in texts(root))
        # The route may decide itself which links are flagged.
        svg = render_history_svg(found, organizations, flagged_links={(chain.root, chain.kept)})
        root = parse(svg)
        assert "flagged" in group(root, f"link-{chain.root}-{chain.kept}").get("class").split()
        assert "flagged" not in group(root, f"link-{chain.kept}-{chain.shipped}").get("class")


def test_sixty_batches_stay_apart_and_the_canvas_grows(app, client, parties, browser, tmp_path):
    producer, distributor, _ = parties
    small, _ = draw(app, register(client, producer, "1")["id"])
    root_id = register(client, producer, "1000", lot_number="BIG-1")["id"]
    grandchildren = []
    for child in split(client, producer, root_id, *["10"] * 6):
        grandchildren += split(client, producer, child, *["1"] * 8)
    shipped = ship_and_receive(client, producer, distributor, grandchildren[0], "1", "0.999")
    ship_and_receive(client, producer, distributor, grandchildren[9], "1", "1")
    product = ok(
        client.post(
            "/api/v1/transformations",
            json={
                "inputs": [{"batch_id": shipped, "quantity": qty("0.5")}],
                "output": {
                    "cas_rn": "67-64-1",
                    "lot_number": "BIG-PRODUCT",
                    "quantity": qty("0.4"),
                    "facility_id": distributor.facility_id,
                },
            },
            headers=distributor.headers,
        )
    )["output"]["id"]

    svg, found = draw(app, root_id)
    assert len(found.batches) == 1 + 6 + 48 + 2 + 1
    root, lone = parse(svg), parse(small)
    placed = boxes(root)
    assert len(placed) == len(found.batches)
    assert_no_overlap(placed, root)
    assert int(root.get("height")) > 5 * int(lone.get("height"))
    assert int(root.get("width")) > 2 * int(lone.get("width"))
    assert len({box[0] for box in placed.values()}) == 5  # root, parts, parts, shipped, product
    assert f"batch-{product}" in placed

    image = screenshot(browser, svg, "genealogy-large", tmp_path)
    assert len(image.getcolors(maxcolors=1 << 20) or range(1 << 20)) > 50


def test_the_picture_in_vietnamese(app, client, auth, chain, browser, tmp_path):
    """?lang=vi draws every word in Vietnamese (lot numbers, ids and units as they are);
    the same history in English is the same shapes."""
    with app.app_context():
        substance = db.session.scalar(select(Substance).where(Substance.cas_rn == "108-24-7"))
        substance.names = {"en": "Acetic anhydride", "vi": "Anhydrit axetic"}
        db.session.commit()
    regulator = auth("regulator")
    path = f"/api/v1/batches/{chain.product}/history.svg"
    answer = client.get(f"{path}?lang=vi", headers={**regulator, "Accept-Language": "en"})
    assert answer.status_code == 200 and answer.headers["Content-Language"] == "vi"
    svg = answer.get_data(as_text=True)
    root = parse(svg)
    assert_nothing_active(svg, root)
    shown = texts(root)
    visible = "\n".join(shown)
    for words in (
        "Phả hệ của số lô PX-7",
        "7 lô hàng, 6 liên kết",
        "giờ theo UTC",
        "tách lô: một phần của lô hàng do cùng đơn vị nắm giữ",
        "chuyển giao: gửi đến một tổ chức khác",
        "liên kết bị gắn cờ: lô hàng con có sự kiện bị gắn cờ",
        "Trạng thái: bị đình chỉ",
        f"Đơn vị nắm giữ: {DISTRIBUTOR_NAME}",
        "Mã số doanh nghiệp: 0101248141",
        "Lượng hiện có: 19.5 kg",
        "chuyển giao · 20 kg",
        "LÔ ĐƯỢC HỎI",
        "Anhydrit axetic (CAS 108-24-7)",
    ):
        assert words in visible, words
    for english in ("Genealogy", "Holder:", "Status:", "split:", "REQUESTED", "received "):
        assert english not in visible, english
    # The legend fits: no line of it is cut short.
    assert not [t for t in shown[2:10] if t.endswith("…")]
    english = client.get(path, headers={**regulator, "Accept-Language": "en"})
    assert english.headers["Content-Language"] == "en"
    assert len(boxes(parse(english.get_data(as_text=True)))) == len(boxes(root))
    screenshot(browser, svg, "genealogy-vi", tmp_path)
