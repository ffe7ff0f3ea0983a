"""Drawing a label (PNG and SVG; PDF in ``label_pdf``): the QR code of a signed identifier
with what a person needs to know, laid out by ``label_layout`` on ISO A7 landscape
(105 x 74 mm). PNG is drawn at 300 dpi (1240 x 874 pixels); SVG in millimetres (a
``0 0 105 74`` viewBox, 105mm x 74mm), with the label font's glyphs it uses embedded, so it
looks the same wherever it is opened.

The contract promises that a label's QR code fits version 10 at error correction M for a public
URL of up to 32 characters, so it prints legibly on a small bottle; ``qr_code`` refuses to draw
a larger one rather than print a code a phone may not read.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass
from functools import lru_cache
from xml.sax.saxutils import escape

import qrcode
from fontTools import subset
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, QRData

from api.render import pictogram
from api.render.label_layout import (
    HEIGHT,
    QR_BOX,
    QR_X,
    QR_Y,
    WIDTH,
    LabelContent,
    Layout,
    layout,
    module_runs,
)
from api.render.label_pdf import label_pdf
from api.render.label_text import FONT_FAMILY, advance, font_bytes
from registry.errors import message

LABEL_VERSION = "5"  # part of every label's and sheet's ETag: bump when the drawing changes
MAX_QR_VERSION = 10
DPI = 300
SHEET_COLUMNS = 2  # an A4 sheet holds 2 x 4 labels of 105 x 74 mm

logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # it narrates each table


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
            message(
                "The label's URL ({length} characters) needs QR version {version}; labels are"
                " printed at version {largest} or smaller. Use a shorter CHEMTRACE_PUBLIC_URL"
                " (32 characters fit), issuer or container serial.",
                length=len(url_prefix) + len(token),
                version=code.version,
                largest=MAX_QR_VERSION,
            )
        )
    return code


def qr_modules(url_prefix: str, token: str) -> list[list[bool]]:
    """The QR code's modules, its quiet zone (4 modules) included."""
    return qr_code(url_prefix, token).get_matrix()


# --- PNG ---------------------------------------------------------------------------


def _px(mm: float) -> float:
    return mm * DPI / 25.4


PNG_SIZE = (round(_px(WIDTH)), round(_px(HEIGHT)))  # 1240 x 874


@lru_cache(maxsize=64)
def _png_font(size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        io.BytesIO(font_bytes()), size_px, layout_engine=ImageFont.Layout.BASIC
    )


def _png(matrix: list[list[bool]], drawn: Layout) -> bytes:
    image = Image.new("RGB", PNG_SIZE, "white")
    draw = ImageDraw.Draw(image)
    # The QR code in whole pixels per module, centred in its box, so every module is sharp.
    box = round(_px(QR_BOX))
    module = box // len(matrix)
    left = round(_px(QR_X)) + (box - module * len(matrix)) // 2
    top = round(_px(QR_Y)) + (box - module * len(matrix)) // 2
    for y, x, run in module_runs(matrix):
        draw.rectangle(
            [
                left + x * module,
                top + y * module,
                left + (x + run) * module - 1,
                top + (y + 1) * module - 1,
            ],
            fill="black",
        )
    for placed in drawn.pictograms:
        size = round(_px(placed.size))
        picture = pictogram.raster(placed.code, size)
        if picture is not None:
            image.paste(picture, (round(_px(placed.x)), round(_px(placed.y))), picture)
    if drawn.rule_y is not None:
        y = round(_px(drawn.rule_y))
        draw.line([(round(_px(3)), y), (PNG_SIZE[0] - round(_px(3)), y)], fill="black", width=2)
    for text in drawn.texts:
        # Character by character at the font's own advances, so the PNG's text is exactly as
        # wide as the layout measured (the rasteriser's hinted advances would drift).
        font = _png_font(round(_px(text.size)))
        x, baseline = _px(text.x), _px(text.y)
        for char in text.text:
            draw.text((x, baseline), char, fill="black", font=font, anchor="ls")
            x += _px(advance(char, text.size))
    out = io.BytesIO()
    # zlib level 6: "optimize" would try every filter and take five times as long.
    image.save(out, format="PNG", dpi=(DPI, DPI), compress_level=6)
    return out.getvalue()


# --- SVG ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SvgLabel:
    """An SVG label's drawing (in millimetres, without the outer ``<svg>``) and the characters
    it writes, so a sheet can place several and embed the font once."""

    body: str
    chars: frozenset[str]

    def document(self) -> bytes:
        return _svg_document(WIDTH, HEIGHT, self.body, self.chars)


def _svg_document(width: float, height: float, body: str, chars: frozenset[str]) -> bytes:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:g}mm" height="{height:g}mm" '
        f'viewBox="0 0 {width:g} {height:g}"><style>{_font_face(chars)}</style>{body}</svg>'
    ).encode()


@lru_cache(maxsize=512)
def _font_face(chars: frozenset[str]) -> str:
    """An ``@font-face`` rule with the label font's glyphs for ``chars`` (a subset, as WOFF)."""
    font = TTFont(io.BytesIO(font_bytes()))
    options = subset.Options()
    options.flavor = "woff"
    options.layout_features = []
    options.name_IDs = ["*"]  # the copyright and licence notices stay with the glyphs
    options.notdef_outline = False
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(chars)) or " ")
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    data = base64.b64encode(out.getvalue()).decode()
    return (
        f"@font-face{{font-family:'{FONT_FAMILY} Label';"
        f"src:url(data:font/woff;base64,{data}) format('woff')}}"
        f"text{{font-family:'{FONT_FAMILY} Label','{FONT_FAMILY}',sans-serif;"
        "font-kerning:none;white-space:pre}"
    )


@lru_cache(maxsize=2048)
def svg_label(token: str, content: LabelContent, url_prefix: str) -> SvgLabel:
    matrix = qr_modules(url_prefix, token)
    drawn = layout(content)
    module = QR_BOX / len(matrix)
    modules = "".join(
        f"M{QR_X + x * module:.3f},{QR_Y + y * module:.3f}h{run * module:.3f}v{module:.3f}"
        f"h-{run * module:.3f}z"
        for y, x, run in module_runs(matrix)
    )
    parts = [
        f'<rect width="{WIDTH:g}" height="{HEIGHT:g}" fill="#fff"/>',
        f'<path d="{modules}" fill="#000"/>',
    ]
    for placed in drawn.pictograms:
        paths = pictogram.drawing(placed.code)
        if paths is None:
            continue
        scale = placed.size / pictogram.VIEWBOX
        parts.append(
            f'<g class="pictogram" data-code="{escape(placed.code)}" '
            f'transform="translate({placed.x:.3f},{placed.y:.3f}) scale({scale:.5f})">'
            + "".join(f'<path fill="{fill}" d="{d}"/>' for fill, d in paths)
            + "</g>"
        )
    if drawn.rule_y is not None:
        parts.append(
            f'<path d="M3,{drawn.rule_y:.3f}H{WIDTH - 3:g}" stroke="#000" stroke-width="0.17"/>'
        )
    parts.extend(
        f'<text x="{t.x:.3f}" y="{t.y:.3f}" font-size="{t.size:g}">{escape(t.text)}</text>'
        for t in drawn.texts
    )
    return SvgLabel("".join(parts), frozenset("".join(t.text for t in drawn.texts)))


def sheet(labels: list[SvgLabel]) -> bytes:
    """Labels on a printable sheet, ``SHEET_COLUMNS`` across (A4's width), as many rows as
    they need; each label at its real size."""
    cells = []
    for position, one in enumerate(labels):
        x = (position % SHEET_COLUMNS) * WIDTH
        y = (position // SHEET_COLUMNS) * HEIGHT
        cells.append(f'<g transform="translate({x:g},{y:g})">{one.body}</g>')
    rows = -(-len(labels) // SHEET_COLUMNS)
    chars = frozenset().union(*(one.chars for one in labels))
    return _svg_document(SHEET_COLUMNS * WIDTH, rows * HEIGHT, "".join(cells), chars)


@lru_cache(maxsize=2048)
def render(token: str, fmt: str, content: LabelContent, url_prefix: str) -> bytes:
    """A label as PNG, SVG or PDF; cached, one drawing per token and language."""
    if fmt == "png":
        return _png(qr_modules(url_prefix, token), layout(content))
    if fmt == "pdf":
        return label_pdf([(qr_modules(url_prefix, token), layout(content))], sheet=False)
    return svg_label(token, content, url_prefix).document()


@lru_cache(maxsize=256)
def render_sheet(fmt: str, labels: tuple[tuple[str, LabelContent], ...], url_prefix: str) -> bytes:
    """Labels (each a token with its words) on sheets: SVG two across, or PDF on A4 pages of
    eight; cached like single labels."""
    if fmt == "pdf":
        return label_pdf(
            [(qr_modules(url_prefix, token), layout(content)) for token, content in labels],
            sheet=True,
        )
    return sheet([svg_label(token, content, url_prefix) for token, content in labels])
