"""Drawing a label: the QR code of a signed identifier with the text a person needs.

The contract promises that a label's QR code fits version 10 at error correction M for a public
URL of up to 32 characters, so it prints legibly on a small bottle; ``qr_code`` refuses to draw
a larger one rather than print a code a phone may not read.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from xml.sax.saxutils import escape

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from registry.custody.quantities import Amount
from registry.models import Batch, Identifier, Organization

LABEL_VERSION = "4"  # part of every label's and sheet's ETag: bump when the drawing changes
MAX_QR_VERSION = 10
SHEET_COLUMNS = 3
SHEET_GAP = 20
MIN_WIDTH = 70  # QR modules: a label is at least this wide, whatever its code's version


class LabelTooLarge(ValueError):
    """The label's URL needs a QR code larger than ``MAX_QR_VERSION``."""


def qr_code(url_prefix: str, token: str) -> qrcode.QRCode:
    """The URL as a byte segment and the base32 token as an alphanumeric one, at ECC M."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(QRData(url_prefix.encode(), mode=MODE_8BIT_BYTE))
    code.add_data(QRData(token.encode(), mode=MODE_ALPHA_NUM))
    code.make(fit=True)  # the smallest version that holds the data
    if code.version > MAX_QR_VERSION:
        raise LabelTooLarge(
            f"The label's URL ({len(url_prefix) + len(token)} characters) needs QR version "
            f"{code.version}; labels are printed at version {MAX_QR_VERSION} or smaller. "
            "Use a shorter CHEMTRACE_PUBLIC_URL (32 characters fit), issuer or container serial."
        )
    return code


def label_lines(batch: Batch, identifier: Identifier, holder: Organization) -> tuple[str, ...]:
    substance = batch.substance
    quantity = Amount(batch.dimension, batch.initial_quantity_micro).as_json(batch.unit)
    lines = [
        substance.name,
        f"CAS {batch.cas_rn}" if batch.cas_rn else "CAS —",
        # A substance without a classification gets no hazard line at all, not an empty one.
        *(["GHS " + " ".join(substance.ghs_pictograms)] if substance.ghs_pictograms else []),
        f"Lot {batch.lot_number}",
        f"{quantity['value']} {quantity['unit']} · {batch.concentration_pct}% w/w",
        f"Holder {holder.name}",
        f"ID …{batch.id[-8:]}"
        + (f" · container {identifier.container_serial}" if identifier.container_serial else ""),
    ]
    return tuple(_one_line(line)[:60] for line in lines)


# Control characters and line or paragraph breaks: a label line is one line of text (the text
# shaper refuses a break inside it), so each becomes a space.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _one_line(text: str) -> str:
    return _NOT_ONE_LINE.sub(" ", text)


@dataclass(frozen=True)
class SvgLabel:
    """An SVG label's markup with its size, so a sheet can place it without parsing it."""

    width: int
    height: int
    body: str  # the drawing, without the outer <svg> element

    def document(self) -> bytes:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" '
            f'height="{self.height}" viewBox="0 0 {self.width} {self.height}">{self.body}</svg>'
        ).encode()


@lru_cache(maxsize=2048)
def render(token: str, fmt: str, lines: tuple[str, ...], url_prefix: str) -> bytes:
    """A label as PNG or SVG; cached, since a label never changes."""
    if fmt == "png":
        return _png(qr_code(url_prefix, token).get_matrix(), lines)
    return svg_label(token, lines, url_prefix).document()


@lru_cache(maxsize=2048)
def svg_label(token: str, lines: tuple[str, ...], url_prefix: str, scale: int = 4) -> SvgLabel:
    matrix = qr_code(url_prefix, token).get_matrix()
    size = len(matrix) * scale
    width = max(size, MIN_WIDTH * scale)
    height = size + 18 * len(lines) + 12
    margin = scale * 4
    lines = tuple(fit(line, label_font(14), width - 2 * margin) for line in lines)
    modules = "".join(
        f"M{x * scale},{y * scale}h{scale}v{scale}h-{scale}z"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    )
    text = "".join(
        f'<text x="{margin}" y="{size + 16 + 18 * i}">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    body = (
        f'<g font-family="Noto Sans, sans-serif" font-size="14">'
        f'<rect width="{width}" height="{height}" fill="#fff"/><path d="{modules}" fill="#000"/>'
        f"{text}</g>"
    )
    return SvgLabel(width, height, body)


def sheet(labels: list[SvgLabel]) -> bytes:
    """Labels on one printable sheet, ``SHEET_COLUMNS`` across."""
    cells = []
    width = height = 0
    for position, one in enumerate(labels):
        x = (position % SHEET_COLUMNS) * (one.width + SHEET_GAP)
        y = (position // SHEET_COLUMNS) * (one.height + SHEET_GAP)
        width, height = max(width, x + one.width), max(height, y + one.height)
        cells.append(f'<g transform="translate({x},{y})">{one.body}</g>')
    return SvgLabel(width, height, "".join(cells)).document()


def fit(text: str, font: ImageFont.FreeTypeFont, room: float) -> str:
    """``text`` as it fits in ``room`` pixels: shortened with an ellipsis when it must be, so
    nothing is drawn off the label's edge."""
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text.rstrip() + "…"


@lru_cache(maxsize=4)
def label_font(size: int = 18) -> ImageFont.FreeTypeFont:
    """Noto Sans, shipped with the package (OFL, ``fonts/``): Pillow's built-in font has no
    glyph for Vietnamese letters or a dash, and would print boxes. Read once per process."""
    data = resources.files("api.render").joinpath("fonts/NotoSans-Regular.ttf").read_bytes()
    return ImageFont.truetype(io.BytesIO(data), size)


def _png(matrix: list[list[bool]], lines: tuple[str, ...], scale: int = 6) -> bytes:
    size = len(matrix) * scale
    font = label_font()
    width, margin = max(size, MIN_WIDTH * scale), scale * 4
    lines = tuple(fit(line, font, width - 2 * margin) for line in lines)
    image = Image.new("L", (width, size + 24 * len(lines) + 12), 255)
    draw = ImageDraw.Draw(image)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    [x * scale, y * scale, (x + 1) * scale - 1, (y + 1) * scale - 1], fill=0
                )
    for i, line in enumerate(lines):
        draw.text((margin, size + 4 + 24 * i), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
