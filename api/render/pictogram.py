"""The GHS pictograms as vector drawings (``pictograms/GHS01.svg`` ... ``GHS09.svg``, see the
NOTICE there), for SVG and PDF as they are and for PNG rasterised here with Pillow.

A drawing is a list of filled outlines painted in order; the PNG rasteriser flattens each
outline's curves (fontTools parses the path data, arcs included) into a polygon.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources

from fontTools.pens.basePen import BasePen
from fontTools.svgLib.path import parse_path
from PIL import Image, ImageDraw

VIEWBOX = 100
_SVG = "{http://www.w3.org/2000/svg}"


@cache
def drawing(code: str) -> tuple[tuple[str, str], ...] | None:
    """The pictogram's outlines as ``(fill, path data)``, or None for a code without one."""
    file = resources.files("api.render").joinpath(f"pictograms/{code}.svg")
    if not code.isalnum() or not file.is_file():
        return None
    root = ET.fromstring(file.read_bytes())  # noqa: S314 - our own data file
    return tuple((p.get("fill", "#000"), p.get("d", "")) for p in root.iter(f"{_SVG}path"))


@cache
def svg_document(code: str) -> bytes | None:
    """The pictogram as a standalone SVG (fpdf2 draws it into a PDF as vector graphics)."""
    paths = drawing(code)
    if paths is None:
        return None
    body = "".join(f'<path fill="{fill}" d="{d}"/>' for fill, d in paths)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{VIEWBOX}" height="{VIEWBOX}" '
        f'viewBox="0 0 {VIEWBOX} {VIEWBOX}">{body}</svg>'
    ).encode()


class _Polygons(BasePen):
    """Collects each subpath as a polygon, curves flattened into short lines."""

    STEPS = 12

    def __init__(self) -> None:
        super().__init__(glyphSet=None)
        self.polygons: list[list[tuple[float, float]]] = []

    def _moveTo(self, pt: tuple[float, float]) -> None:
        self.polygons.append([pt])

    def _lineTo(self, pt: tuple[float, float]) -> None:
        self.polygons[-1].append(pt)

    def _curveToOne(self, p1, p2, p3) -> None:
        (x0, y0), steps = self._getCurrentPoint(), self.STEPS
        for i in range(1, steps + 1):
            t = i / steps
            a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t**2, t**3
            self.polygons[-1].append(
                (
                    a * x0 + b * p1[0] + c * p2[0] + d * p3[0],
                    a * y0 + b * p1[1] + c * p2[1] + d * p3[1],
                )
            )

    def _closePath(self) -> None:
        pass


@cache
def raster(code: str, size: int) -> Image.Image | None:
    """The pictogram as a ``size`` x ``size`` RGBA image (antialiased: drawn 4x, reduced)."""
    paths = drawing(code)
    if paths is None:
        return None
    big = size * 4
    image = Image.new("RGBA", (big, big), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    scale = big / VIEWBOX
    for fill, d in paths:
        pen = _Polygons()
        parse_path(d, pen)
        for polygon in pen.polygons:
            if len(polygon) > 2:
                draw.polygon([(x * scale, y * scale) for x, y in polygon], fill=fill)
    return image.resize((size, size), Image.Resampling.LANCZOS)
