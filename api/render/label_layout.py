"""What a label says, in the label's language, and where each part goes, in millimetres.

The label is ISO A7 landscape, 105 x 74 mm (eight to an A4 sheet, 2 across and 4 down): the
QR code at the top right, the ID and container serial under it; on the left the substance's
name and CAS RN, the GHS pictograms with the signal word, then the hazard (and, room
permitting, precautionary) statements; along the bottom the lot, quantity and concentration,
the dates, the holder and the origin. The PNG, SVG and PDF drawings all follow this layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext, pgettext

from api.render import pictogram
from api.render.label_text import fit, measure, printable, wrap
from registry.catalogue import ghs
from registry.custody.quantities import Amount
from registry.labels.printed import PrintedBatch, PrintedHolder, PrintedIdentifier
from registry.models import Batch, Identifier, Organization

WIDTH, HEIGHT = 105.0, 74.0  # ISO A7, landscape
MARGIN = 3.0
QR_BOX = 30.0  # the QR code with its quiet zone, square, at the top right
QR_X, QR_Y = WIDTH - 1.5 - QR_BOX, 1.5
LEFT_ROOM = QR_X - 1.5 - MARGIN  # the column left of the QR code
FULL_ROOM = WIDTH - 2 * MARGIN

NAME_SIZE = 4.4  # em sizes, in millimetres (4.4 mm is about 12.5 pt)
SIGNAL_SIZE = 4.4
SMALL_SIZE = 2.8
DETAIL_SIZE = 2.8
LINE = 1.22  # line height, in ems
PICTOGRAM = 14.0
PICTOGRAM_GAP = 1.0
RULE_Y = 56.8  # the hairline above the bottom block


@dataclass(frozen=True)
class LabelContent:
    """Every word a label shows, already in its language: the cache key of a drawing."""

    locale: str
    name: str
    cas: str | None
    pictograms: tuple[str, ...]
    signal_word: str | None
    hazards: tuple[str, ...]
    precautions: tuple[str, ...]
    details: tuple[str, ...]  # the bottom block, one line each
    ident: tuple[str, ...]  # under the QR code


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # the baseline
    size: float
    text: str
    part: str  # name, cas, pictogram (a code without a drawing), signal, statement, ident, detail


@dataclass(frozen=True)
class Pictogram:
    code: str
    x: float
    y: float
    size: float


@dataclass(frozen=True)
class Layout:
    texts: tuple[Text, ...]

    def lines(self, part: str) -> list[str]:
        """The lines drawn of one part of the label (``Text.part``), top to bottom."""
        return [t.text for t in self.texts if t.part == part]

    pictograms: tuple[Pictogram, ...]
    rule_y: float | None


def _origin(batch: Batch | PrintedBatch) -> str:
    kinds = {
        "produced": gettext("Produced"),
        "imported": gettext("Imported"),
        "split": gettext("Split from another batch"),
        "transfer": gettext("Received in a transfer"),
        "transformation": gettext("Made by transformation"),
    }
    origin = kinds.get(batch.origin_kind, batch.origin_kind)
    if batch.origin_document:
        origin = gettext(
            "%(origin)s, document %(document)s", origin=origin, document=batch.origin_document
        )
    return gettext("Origin: %(origin)s", origin=origin)


def _statement(text_of, code: str, locale: str) -> str:
    try:
        return f"{code} {text_of(code, locale)}"
    except KeyError:  # a code the tables do not have yet: its code alone
        return code


def label_content(
    batch: Batch | PrintedBatch,
    identifier: Identifier | PrintedIdentifier,
    holder: Organization | PrintedHolder,
    locale: str,
) -> LabelContent:
    """The words of ``identifier``'s label in ``locale`` (the request's language)."""
    substance = batch.substance
    amount = Amount(batch.dimension, batch.initial_quantity_micro).as_json(batch.unit)
    dates = []
    if batch.manufactured_on:
        dates.append(gettext("Made %(date)s", date=batch.manufactured_on.isoformat()))
    if batch.expires_on:
        dates.append(gettext("Expires %(date)s", date=batch.expires_on.isoformat()))
    details = [
        " · ".join(
            (
                gettext("Lot %(lot)s", lot=batch.lot_number),
                f"{amount['value']} {amount['unit']}",
                gettext("%(percent)s%% w/w", percent=batch.concentration_pct),
            )
        ),
        *([" · ".join(dates)] if dates else []),
        # On a label the holder is the party responsible for the contents (Circular 32 Art. 6).
        pgettext("label", "Holder: %(name)s", name=holder.name),
        _origin(batch),
    ]
    ident = [gettext("ID …%(id)s", id=batch.id[-8:])]
    if identifier.container_serial:
        ident.append(gettext("Container %(serial)s", serial=identifier.container_serial))
    signal = None
    if substance.signal_word:
        try:
            signal = ghs.signal_word_text(substance.signal_word, locale)
        except KeyError:
            signal = substance.signal_word
    return LabelContent(
        locale=locale,
        name=printable((substance.names or {}).get(locale) or substance.name),
        cas=printable(gettext("CAS No. %(cas)s", cas=batch.cas_rn)) if batch.cas_rn else None,
        pictograms=tuple(substance.ghs_pictograms or ()),
        signal_word=printable(signal) if signal else None,
        hazards=tuple(
            printable(_statement(ghs.hazard_text, c, locale))
            for c in substance.hazard_statements or ()
        ),
        precautions=tuple(
            printable(_statement(ghs.precaution_text, c, locale))
            for c in substance.precautionary_statements or ()
        ),
        details=tuple(printable(line) for line in details),
        ident=tuple(printable(line) for line in ident),
    )


def layout(content: LabelContent) -> Layout:
    """Where each part of ``content`` is drawn; text shortened or wrapped to its room."""
    texts: list[Text] = []
    pictograms: list[Pictogram] = []
    name = measure(NAME_SIZE)
    y = MARGIN + NAME_SIZE * 0.85
    texts.append(Text(MARGIN, y, NAME_SIZE, fit(content.name, name, LEFT_ROOM), "name"))
    small = measure(DETAIL_SIZE)
    if content.cas:
        y += DETAIL_SIZE * 1.5
        texts.append(Text(MARGIN, y, DETAIL_SIZE, fit(content.cas, small, LEFT_ROOM), "cas"))
    top = y + 2.0  # the hazard area starts here

    # The pictograms in a row, smaller when there are many; the signal word beside them
    # when it fits, else under them.
    y = top
    if content.pictograms:
        count = len(content.pictograms)
        size = min(PICTOGRAM, (LEFT_ROOM - (count - 1) * PICTOGRAM_GAP) / count)
        for i, code in enumerate(content.pictograms):
            x = MARGIN + i * (size + PICTOGRAM_GAP)
            if pictogram.drawing(code) is None:  # a code without a drawing: the code itself
                code_text = fit(code, measure(SMALL_SIZE), size)
                texts.append(Text(x, y + size / 2, SMALL_SIZE, code_text, "pictogram"))
            else:
                pictograms.append(Pictogram(code, x, y, size))
        row_end = MARGIN + count * (size + PICTOGRAM_GAP) + 1.0
        signal = measure(SIGNAL_SIZE)
        beside = content.signal_word and signal(content.signal_word) <= MARGIN + LEFT_ROOM - row_end
        if beside:
            baseline = y + size / 2 + SIGNAL_SIZE * 0.35
            texts.append(Text(row_end, baseline, SIGNAL_SIZE, content.signal_word, "signal"))
        y += size + 1.0
        if content.signal_word and not beside:
            y += SIGNAL_SIZE * 0.85
            texts.append(
                Text(MARGIN, y, SIGNAL_SIZE, fit(content.signal_word, signal, LEFT_ROOM), "signal")
            )
            y += 1.0
    elif content.signal_word:
        y += SIGNAL_SIZE * 0.85
        texts.append(
            Text(
                MARGIN,
                y,
                SIGNAL_SIZE,
                fit(content.signal_word, measure(SIGNAL_SIZE), LEFT_ROOM),
                "signal",
            )
        )
        y += 1.0

    # Under the QR code: the batch's short ID and the container serial.
    iy = QR_Y + QR_BOX - 1.0  # the quiet zone above leaves room
    ident_x = QR_X + 1.5
    for line in content.ident:
        iy += SMALL_SIZE * LINE
        texts.append(
            Text(
                ident_x,
                iy,
                SMALL_SIZE,
                fit(line, measure(SMALL_SIZE), WIDTH - MARGIN - ident_x),
                "ident",
            )
        )
    ident_bottom = iy + SMALL_SIZE * 0.4

    # The bottom block, anchored at the bottom edge.
    detail_line = DETAIL_SIZE * LINE
    details_top = HEIGHT - MARGIN - 0.6 - len(content.details) * detail_line
    by = details_top
    for line in content.details:
        by += detail_line
        texts.append(Text(MARGIN, by, DETAIL_SIZE, fit(line, small, FULL_ROOM), "detail"))

    # The statements between: hazards first, then precautions while there is room; a line
    # beside the QR column is as wide as the left column, a line below it the full width.
    statements = [*content.hazards, *content.precautions]
    rule_y = None
    if statements:
        line_height = SMALL_SIZE * LINE
        bottom = details_top - 0.8
        rooms = []
        top_of_line = y
        while top_of_line + line_height <= bottom:
            rooms.append(LEFT_ROOM if top_of_line < ident_bottom else FULL_ROOM)
            top_of_line += line_height
        lines = wrap(statements, measure(SMALL_SIZE), rooms) if rooms else ()
        for i, line in enumerate(lines):
            texts.append(Text(MARGIN, y + (i + 0.8) * line_height, SMALL_SIZE, line, "statement"))
        rule_y = details_top - 0.4
    return Layout(tuple(texts), tuple(pictograms), rule_y)


def module_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
    """Each horizontal run of dark modules as (row, first column, length)."""
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((y, start, x - start))
            x += 1
    return runs
