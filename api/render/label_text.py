"""The label's font and its text: what it can draw, how wide a text is, and what fits.

Every label (PNG, SVG, PDF) is drawn with Noto Sans (OFL, shipped in ``fonts/``), which covers
Vietnamese. Widths are measured once, in millimetres, from the font's own advance widths, so
the three formats place and shorten text alike. A character the font has no glyph for is
replaced by ``?`` before anything is drawn, so no glyph box (tofu) can ever be printed.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path

from fontTools.ttLib import TTFont

FONT_FAMILY = "Noto Sans"
FONT_FILE = "fonts/NotoSans-Regular.ttf"
ELLIPSIS = "…"
REPLACEMENT = "?"

# Control characters and line or paragraph breaks: a label line is one line of text (the text
# shaper refuses a break inside it), so each becomes a space.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def font_path() -> Path:
    """The TTF on disk (fpdf2 embeds it from a path)."""
    return Path(str(resources.files("api.render").joinpath(FONT_FILE)))


@cache
def font_bytes() -> bytes:
    return resources.files("api.render").joinpath(FONT_FILE).read_bytes()


@cache
def _font() -> tuple[dict[int, int], int]:
    """Each character the font maps, with its advance width in font units; units per em."""
    font = TTFont(io.BytesIO(font_bytes()), lazy=True)
    metrics = font["hmtx"].metrics
    advances = {code: metrics[glyph][0] for code, glyph in font.getBestCmap().items()}
    return advances, font["head"].unitsPerEm


def character_map() -> frozenset[int]:
    """The code points the label font has a glyph for."""
    return frozenset(_font()[0])


def printable(text: str) -> str:
    """``text`` as the label draws it: NFC (Vietnamese letters precomposed), on one line, and
    every character the font lacks replaced by ``?``."""
    advances = _font()[0]
    text = _NOT_ONE_LINE.sub(" ", unicodedata.normalize("NFC", text))
    return "".join(c if ord(c) in advances or c == " " else REPLACEMENT for c in text)


def advance(char: str, size: float) -> float:
    """The advance width of one character at ``size`` (an em, in any unit: the result is in
    the same unit)."""
    advances, units_per_em = _font()
    return advances.get(ord(char), advances[ord(REPLACEMENT)]) * size / units_per_em


def width(text: str, size: float) -> float:
    return sum(advance(c, size) for c in text)


Measure = Callable[[str], float]


def measure(size: float) -> Measure:
    return lambda text: width(text, size)


def fit(text: str, length: Measure, room: float) -> str:
    """``text`` as it fits in ``room``: shortened with an ellipsis when it must be, so nothing
    is drawn off the label's edge or over the QR code."""
    if length(text) <= room:
        return text
    return ellipsized(text, length, room)


def ellipsized(text: str, length: Measure, room: float) -> str:
    """``text`` ending with an ellipsis (it was cut short), within ``room``."""
    text = text.rstrip()
    while text and length(text + ELLIPSIS) > room:
        text = text[:-1].rstrip()
    return text + ELLIPSIS


def wrap(paragraphs: list[str], length: Measure, rooms: list[float]) -> tuple[str, ...]:
    """Paragraphs broken into lines at spaces, line ``i`` at most ``rooms[i]`` wide, each
    paragraph on a new line; at most ``len(rooms)`` lines, the last ending with an ellipsis
    when something was left out. A word wider than its line is shortened."""
    lines: list[str] = []
    for paragraph in paragraphs:
        line = ""
        for word in paragraph.split():
            room = rooms[min(len(lines), len(rooms) - 1)]
            candidate = f"{line} {word}" if line else word
            if length(candidate) <= room or not line:
                line = candidate
            else:
                lines.append(line)
                line = word
            if len(lines) > len(rooms):
                break
        if line:
            lines.append(line)
    lines = [fit(line, length, rooms[min(i, len(rooms) - 1)]) for i, line in enumerate(lines)]
    if len(lines) > len(rooms):
        last = len(rooms) - 1
        kept = lines[last] if lines[last].endswith(ELLIPSIS) else lines[last] + " "
        lines = [*lines[:last], ellipsized(kept.removesuffix(ELLIPSIS), length, rooms[last])]
    return tuple(lines)
