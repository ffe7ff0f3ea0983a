"""Labels as PDF, for printers (fpdf2): one label on a page of its own size (105 x 74 mm), or
a batch's labels on A4 sheets, 2 across and 4 down, as many pages as they need.

The label font is embedded (fpdf2 embeds the glyphs it uses, as a TrueType subset), the QR
code and the GHS pictograms are vector drawings, and the layout is ``label_layout``'s.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fpdf import FPDF

from api.render import pictogram
from api.render.label_layout import (
    HEIGHT,
    MARGIN,
    QR_BOX,
    QR_X,
    QR_Y,
    WIDTH,
    Layout,
    module_runs,
)
from api.render.label_text import FONT_FAMILY, font_path

A4 = (210.0, 297.0)
COLUMNS, ROWS = 2, 4
PT_PER_MM = 72 / 25.4
# A fixed date: the same labels give the same bytes.
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def label_pdf(labels: list[tuple[list[list[bool]], Layout]], *, sheet: bool) -> bytes:
    """``labels`` (each a QR matrix and its layout) as a PDF: one label-sized page, or
    A4 sheets of eight."""
    pdf = FPDF(unit="mm", format=A4 if sheet else (WIDTH, HEIGHT))
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_creation_date(CREATED)
    pdf.set_title("ChemTrace labels" if sheet else "ChemTrace label")
    pdf.add_font(FONT_FAMILY, "", font_path())
    per_page = COLUMNS * ROWS if sheet else 1
    # On A4 the eight labels fill the width exactly; the half millimetre left over in height
    # is shared above and below.
    top = (A4[1] - ROWS * HEIGHT) / 2 if sheet else 0.0
    for position, (matrix, drawn) in enumerate(labels):
        if position % per_page == 0:
            pdf.add_page()
        cell = position % per_page
        _draw(pdf, (cell % COLUMNS) * WIDTH, top + (cell // COLUMNS) * HEIGHT, matrix, drawn)
    return bytes(pdf.output())


def _draw(pdf: FPDF, x0: float, y0: float, matrix: list[list[bool]], drawn: Layout) -> None:
    module = QR_BOX / len(matrix)
    pdf.set_fill_color(0, 0, 0)
    for y, x, run in module_runs(matrix):
        pdf.rect(x0 + QR_X + x * module, y0 + QR_Y + y * module, run * module, module, "F")
    for placed in drawn.pictograms:
        document = pictogram.svg_document(placed.code)
        if document is not None:
            pdf.image(io.BytesIO(document), x0 + placed.x, y0 + placed.y, placed.size, placed.size)
    if drawn.rule_y is not None:
        pdf.set_draw_color(0, 0, 0)
        pdf.set_line_width(0.17)
        pdf.line(x0 + MARGIN, y0 + drawn.rule_y, x0 + WIDTH - MARGIN, y0 + drawn.rule_y)
    pdf.set_text_color(0, 0, 0)
    for text in drawn.texts:
        pdf.set_font(FONT_FAMILY, size=text.size * PT_PER_MM)
        pdf.text(x0 + text.x, y0 + text.y, text.text)
