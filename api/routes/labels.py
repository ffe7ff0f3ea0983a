"""Printable labels: the QR code of a signed identifier with the text a person needs.

A label shows only facts fixed when its identifier was issued (substance, lot, initial
quantity, the holder then), so it never changes and is served with long-lived caching.
"""

from __future__ import annotations

import hashlib
import io
from functools import lru_cache
from xml.sax.saxutils import escape

import qrcode
from flask import Blueprint, Response, request
from marshmallow import fields, validate
from PIL import Image, ImageDraw, ImageFont
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from api.auth import current_principal, requires_roles
from api.bodies import load_query
from api.schemas.common import StrictSchema
from registry.custody import batches
from registry.custody.quantities import Amount
from registry.errors import NotFound
from registry.labels import issuing
from registry.models import Batch, Identifier, Organization
from registry.signing import signer

bp = Blueprint("labels", __name__, url_prefix="/api/v1/batches")

LABEL_VERSION = "1"  # part of the ETag: bump when the drawing changes
MAX_QR_VERSION = 10
MEDIA = {"png": "image/png", "svg": "image/svg+xml"}


def qr_code(url_prefix: str, token: str) -> qrcode.QRCode:
    """The URL as a byte segment and the base32 token as an alphanumeric one, at ECC M."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(QRData(url_prefix.encode(), mode=MODE_8BIT_BYTE))
    code.add_data(QRData(token.encode(), mode=MODE_ALPHA_NUM))
    code.make(fit=True)
    return code


def label_lines(batch: Batch, identifier: Identifier, holder: Organization) -> list[str]:
    substance = batch.substance
    quantity = Amount(batch.dimension, batch.initial_quantity_micro).as_json(batch.unit)
    lines = [
        substance.name,
        f"CAS {batch.cas_rn}" if batch.cas_rn else "CAS —",
        "GHS " + " ".join(substance.ghs_pictograms) if substance.ghs_pictograms else "GHS —",
        f"Lot {batch.lot_number}",
        f"{quantity['value']} {quantity['unit']} · {batch.concentration_pct}% w/w",
        f"Holder {holder.name}",
        f"ID …{batch.id[-8:]}"
        + (f" · container {identifier.container_serial}" if identifier.container_serial else ""),
    ]
    return [line[:60] for line in lines]


@lru_cache(maxsize=2048)
def render(token: str, fmt: str, lines: tuple[str, ...], url_prefix: str) -> bytes:
    matrix = qr_code(url_prefix, token).get_matrix()
    return _png(matrix, lines) if fmt == "png" else _svg(matrix, lines)


def _svg(matrix: list[list[bool]], lines: tuple[str, ...], scale: int = 4) -> bytes:
    size = len(matrix) * scale
    height = size + 18 * len(lines) + 12
    modules = "".join(
        f"M{x * scale},{y * scale}h{scale}v{scale}h-{scale}z"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    )
    text = "".join(
        f'<text x="{scale * 4}" y="{size + 16 + 18 * i}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{height}" '
        f'viewBox="0 0 {size} {height}" font-family="sans-serif" font-size="14">'
        f'<rect width="100%" height="100%" fill="#fff"/><path d="{modules}" fill="#000"/>'
        f"{text}</svg>"
    ).encode()


def _png(matrix: list[list[bool]], lines: tuple[str, ...], scale: int = 6) -> bytes:
    size = len(matrix) * scale
    font = ImageFont.load_default(size=18)
    image = Image.new("L", (max(size, 420), size + 24 * len(lines) + 12), 255)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    [x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1], fill=0
                )
    for i, line in enumerate(lines):
        draw.text((scale * 4, size + 4 + 24 * i), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _identifier(batch: Batch, container: str | None) -> Identifier:
    for identifier in batch.identifiers:
        if identifier.container_serial == container:
            return identifier
    raise NotFound(
        f"Batch {batch.id} has no container {container}." if container else "No label yet."
    )


def _cached(body: bytes, fmt: str, etag: str) -> Response:
    response = Response(body, mimetype=MEDIA[fmt])
    response.set_etag(etag)
    # Authenticated, so private; the content never changes, so cache it for a year.
    response.cache_control.private = True
    response.cache_control.max_age = 31536000
    response.cache_control.immutable = True
    return response.make_conditional(request)


class LabelQuery(StrictSchema):
    container = fields.String(load_default=None, validate=validate.Length(1, 64))


@bp.get("/<batch_id>/label.png", defaults={"fmt": "png"})
@bp.get("/<batch_id>/label.svg", defaults={"fmt": "svg"})
@requires_roles("enterprise", "regulator")
def label(batch_id: str, fmt: str):
    container = load_query(LabelQuery())["container"]
    batch = batches.visible_batch(batch_id, current_principal())
    identifier = _identifier(batch, container)
    etag = hashlib.sha256(f"{LABEL_VERSION}:{fmt}:{identifier.token}".encode()).hexdigest()[:32]
    if request.if_none_match.contains(etag):
        return _cached(b"", fmt, etag)
    holder = issuing.holder_when_issued(identifier)
    prefix = signer().url("")
    body = render(identifier.token, fmt, tuple(label_lines(batch, identifier, holder)), prefix)
    return _cached(body, fmt, etag)


@bp.get("/<batch_id>/labels.svg")
@requires_roles("enterprise", "regulator")
def label_sheet(batch_id: str):
    """Every container label of a batch on one printable sheet (SVG, three across)."""
    batch = batches.visible_batch(batch_id, current_principal())
    prefix = signer().url("")
    labels = [i for i in batch.identifiers if i.container_serial is not None]
    if not labels:
        raise NotFound(f"Batch {batch.id} has no containers.")
    holder = issuing.holder_when_issued(labels[0])
    cells = []
    width = height = 0
    for position, identifier in enumerate(labels):
        svg = render(identifier.token, "svg", tuple(label_lines(batch, identifier, holder)), prefix)
        inner = svg.decode()
        w = int(inner.split('width="', 1)[1].split('"', 1)[0])
        h = int(inner.split('height="', 1)[1].split('"', 1)[0])
        x, y = (position % 3) * (w + 20), (position // 3) * (h + 20)
        width, height = max(width, x + w), max(height, y + h)
        cells.append(f'<g transform="translate({x},{y})">{inner}</g>')
    sheet = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
        + "".join(cells)
        + "</svg>"
    ).encode()
    etag = hashlib.sha256(b"sheet:" + b"".join(i.token.encode() for i in labels)).hexdigest()[:32]
    return _cached(sheet, "svg", etag)
