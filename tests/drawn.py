"""What an SVG chart draws, read back with xml.etree: its texts and where they are."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from impact import plots, svg

NS = "{http://www.w3.org/2000/svg}"


@dataclass
class Text:
    words: str
    x: float
    y: float
    size: float
    anchor: str
    colour: str
    upright: bool


def root(chart: plots.SVGChart) -> ET.Element:
    return ET.fromstring(chart.svg)


def texts(chart: plots.SVGChart) -> list[Text]:
    found = []
    for element in root(chart).iter(f"{NS}text"):
        x, y, upright = float(element.get("x", 0)), float(element.get("y", 0)), False
        moved = re.fullmatch(
            r"translate\(([-\d.]+),([-\d.]+)\) rotate\(-90\)", element.get("transform", "")
        )
        if moved:
            x, y, upright = float(moved[1]), float(moved[2]), True
        found.append(
            Text(
                element.text or "",
                x,
                y,
                float(element.get("font-size", "0")),
                element.get("text-anchor", "start"),
                element.get("fill", ""),
                upright,
            )
        )
    return found


def words(chart: plots.SVGChart) -> list[str]:
    return [text.words for text in texts(chart)]


def number(label: str) -> float:
    return float(label.replace("\u2212", "-").replace(",", ""))


def y_scale(chart: plots.SVGChart, below: float = 0.0) -> tuple[float, float]:
    """(pixels per unit, pixel of 0) of the first panel under ``below`` pixels with y tick
    labels, read from two of its tick labels (right-aligned, centred on their tick)."""
    ticks = []
    for text in texts(chart):
        if text.anchor == "end" and text.y > below and re.fullmatch(r"[\u2212\d.,]+", text.words):
            ticks.append((number(text.words), text.y - 0.35 * text.size))
    ticks = [t for t in ticks if abs(t[1] - ticks[0][1]) < 400]
    (v0, p0), (v1, p1) = ticks[0], ticks[1]
    per = (p1 - p0) / (v1 - v0)
    return per, p0 - v0 * per


def fits(chart: plots.SVGChart) -> None:
    """Every text inside the picture (by the widths the layout assumes), and every line,
    shape or point outside a plot's clip inside it too: nothing cut at an edge."""
    drawing = root(chart)
    width, height = (float(v) for v in drawing.get("viewBox", "").split()[2:])
    assert float(drawing.get("width", 0)) == width and float(drawing.get("height", 0)) == height
    for text in texts(chart):
        long = svg.text_width(text.words, text.size)
        share = {"start": 0.0, "middle": 0.5, "end": 1.0}[text.anchor]
        if text.upright:
            assert text.x - text.size >= 0 and text.x <= width, text
            assert text.y - long / 2 >= 0 and text.y + long / 2 <= height, text
        else:
            assert text.x - share * long >= 0 and text.x + (1 - share) * long <= width, text
            assert text.y - 0.8 * text.size >= 0 and text.y + 0.25 * text.size <= height, text
    clipped = {id(e) for g in drawing.iter(f"{NS}g") if g.get("clip-path") for e in g.iter()}
    for element in drawing.iter():
        if id(element) in clipped or element.tag == f"{NS}clipPath":
            continue
        for name in ("x", "x1", "x2", "cx"):
            if element.tag != f"{NS}text" and element.get(name) is not None:
                assert 0 <= float(element.get(name, 0)) <= width, (element.tag, element.attrib)
        for name in ("y", "y1", "y2", "cy"):
            if element.tag != f"{NS}text" and element.get(name) is not None:
                assert 0 <= float(element.get(name, 0)) <= height, (element.tag, element.attrib)
