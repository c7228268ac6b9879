"""Charts written as SVG text: scales with round ticks, date axes, marks, panels on one page.

No plotting library is imported: a chart is a list of panels stacked down a page of a
phone's width, each with an x and a y axis and marks placed in data units (lines, bands,
points, rules, bars, text), then a legend. The page is laid out from estimated text widths:
each character's advance in DejaVu Sans (the widest common sans-serif, and the first font
the charts ask for), rounded up, so a title, a tick label or an annotation is wrapped or
moved before it reaches an edge whatever font the reader's system substitutes. Every string
is XML-escaped, numbers are written with two decimals at most, and nothing depends on the
clock or on ids drawn at random: the same chart is the same bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "SMALL",
    "TITLE",
    "WIDTH",
    "Axis",
    "Entry",
    "Page",
    "Panel",
    "categories",
    "dates",
    "day",
    "linear",
    "nice_ticks",
    "padded",
    "text_width",
    "wrap",
]

WIDTH = 550.0  # pixels: shown at natural size on a laptop, at about 0.6 on a 375-pixel phone
SMALL = 14.5  # pixels (9.5 points at 110 dpi): ticks, axis labels, legends, annotations
TITLE = 16.0  # pixels (10.5 points at 110 dpi)
FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
INK = "#1b1b1b"
EDGE = 4.0  # pixels kept free at each edge of the page
LINE = 1.28  # line height, in font sizes
TICK = 4.0  # tick mark length

# Advance widths of chr(32) to chr(126) in DejaVu Sans, in hundredths of an em.
_ADVANCE = [
    int(w)
    for w in re.findall(
        r"\d+",
        "32 40 46 84 64 95 78 27 39 39 50 84 32 36 32 34 64 64 64 64 64 64 64 64 64 64 34 34 "
        "84 84 84 53 100 68 69 70 77 63 58 77 75 29 29 66 56 86 75 79 60 79 69 63 61 73 68 99 "
        "69 61 69 39 34 39 84 50 50 61 63 55 63 62 35 63 63 28 28 58 28 97 63 61 63 63 41 52 "
        "39 63 59 82 59 59 52 64 34 64 84",
    )
]
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_width(words: str, size: float) -> float:
    """A conservative width in pixels of one line of text at a font size in pixels."""
    total = 0
    for character in words:
        code = ord(character)
        if 32 <= code < 127:
            total += _ADVANCE[code - 32]
        else:  # arrows, minus signs, accents: 0.84 em; wide scripts a whole em
            total += 100 if code >= 0x2E80 else 84
    return total * size / 100 * 1.05


def wrap(words: str, size: float, width: float) -> list[str]:
    """Lines of at most ``width`` pixels: broken at newlines, then between words, then (a
    word too long for a line alone) between characters."""
    lines: list[str] = []
    for paragraph in words.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if text_width(trial, size) <= width:
                line = trial
                continue
            if line:
                lines.append(line)
            line = word
            while text_width(line, size) > width and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and text_width(line[:cut], size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


def _escape(words: str) -> str:
    return html.escape(_NOT_XML.sub("\ufffd", words), quote=True)


def _n(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros, never "-0"."""
    written = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if written in ("-0", "") else written


def day(value: dt.date) -> float:
    """A date's position on a date axis: days since 1970-01-01."""
    return float((value - dt.date(1970, 1, 1)).days)


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """As many round values (steps of 1, 2, 2.5 or 5 times a power of ten) from ``low`` to
    ``high`` as fit in ``most``."""
    if not high > low:
        return [low]
    power = 10 ** (math.floor(math.log10((high - low) / most)) - 1)
    while True:
        for multiple in (1, 2, 2.5, 5):
            step = multiple * power
            first, last = math.ceil(low / step - 1e-9), math.floor(high / step + 1e-9)
            if last - first + 1 <= most:
                return [round(i * step, 12) for i in range(first, last + 1)]
        power *= 10


def _tick_labels(values: Sequence[float]) -> list[str]:
    """Each value with the fewest decimals that write all of them exactly; a true minus."""
    decimals = next((d for d in range(7) if all(abs(v - round(v, d)) < 1e-9 for v in values)), 6)
    labels = []
    for value in values:
        written = f"{abs(value):,.{decimals}f}"
        negative = value < 0 and written.strip("0.,") != ""
        labels.append(("\u2212" if negative else "") + written)
    return labels


def padded(values: Iterable[float], share: float = 0.05) -> tuple[float, float]:
    """The range of the finite values, widened by ``share`` of it at each end."""
    finite = [float(v) for v in values if math.isfinite(float(v))]
    if not finite:
        return -1.0, 1.0
    low, high = min(finite), max(finite)
    span = high - low or abs(high) or 1.0
    return low - share * span, high + share * span


@dataclass
class Axis:
    """One axis: its limits, its ticks (position, label) and its label."""

    low: float
    high: float
    ticks: list[tuple[float, str]]
    label: str = ""
    inverted: bool = False
    labelled: bool = True  # whether the tick labels are written (a shared x: only the last)

    def fraction(self, value: float) -> float:
        share = (value - self.low) / ((self.high - self.low) or 1.0)
        return 1 - share if self.inverted else share


def linear(low: float, high: float, label: str = "", most: int = 6) -> Axis:
    """A numeric axis from ``low`` to ``high`` with round ticks inside it."""
    values = nice_ticks(low, high, most)
    return Axis(low, high, list(zip(values, _tick_labels(values), strict=True)), label)


def categories(names: Sequence[str], label: str = "", inverted: bool = False) -> Axis:
    """Named positions 0, 1, 2... with half a step of room at each end."""
    ticks = [(float(i), name) for i, name in enumerate(names)]
    return Axis(-0.5, len(names) - 0.5, ticks, label, inverted)


def dates(low: float, high: float, label: str = "", most: int = 5) -> Axis:
    """A date axis from day ``low`` to day ``high`` (see ``day``) with at most ``most``
    short labels: days ("Sep 8"), Mondays, the first of months ("Sep"; a January by its
    year) or years."""
    first, last = _date(math.ceil(low)), _date(math.floor(high))
    for step in (1, 2, 3, 7, 14):
        start = math.ceil(low)
        start += (4 - start) % 7 if step >= 7 else (-start) % step  # day 4 was a Monday
        found = _range(start, high, step)
        if len(found) <= most:
            return Axis(low, high, [(v, _day_label(v)) for v in found], label)
    ticks: list[tuple[float, str]] = []
    for months in (1, 2, 3, 6, 12, 24, 60):
        ticks = []
        year, month = first.year, first.month
        while (current := dt.date(year, month, 1)) <= last:
            if current >= first and (year * 12 + month - 1) % months == 0:
                words = f"{year}" if month == 1 or months >= 12 else f"{current:%b}"
                ticks.append((day(current), words))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        if len(ticks) <= most:
            break
    return Axis(low, high, ticks, label)


def _date(value: float) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(value))


def _range(start: float, stop: float, step: int) -> list[float]:
    count = int((stop - start) // step) + 1 if stop >= start else 0
    return [start + i * step for i in range(count)]


def _day_label(value: float) -> str:
    date = _date(value)
    return f"{date:%b} {date.day}"


@dataclass
class Entry:
    """A legend entry: a line (solid or dashed, with a marker or not), a band or a marker."""

    label: str
    colour: str
    kind: str = "line"  # "line", "band" or "point"
    dash: str = ""
    marker: str = ""
    opacity: float = 1.0
    under: str = ""  # a band's colour drawn under a line's swatch


@dataclass
class _Map:
    left: float
    top: float
    width: float
    height: float
    x: Axis
    y: Axis

    def px(self, value: float, fraction: bool = False) -> float:
        share = value if fraction else self.x.fraction(value)
        return self.left + share * self.width

    def py(self, value: float, fraction: bool = False) -> float:
        share = value if fraction else self.y.fraction(value)
        return self.top + (1 - share) * self.height


class _Writer:
    """SVG elements as text, with the smallest font size used and texts kept on the page."""

    def __init__(self, width: float) -> None:
        self.width = width
        self.parts: list[str] = []
        self.smallest = math.inf

    def add(self, element: str) -> None:
        self.parts.append(element)

    def text(
        self,
        x: float,
        y: float,
        words: str,
        *,
        size: float = SMALL,
        colour: str = INK,
        anchor: str = "start",
        middle: bool = False,
        box: bool = False,
    ) -> None:
        """One line of text at baseline ``y`` (or centred on ``y`` when ``middle``), moved
        sideways when it would reach past an edge of the page."""
        if not words:
            return
        width = text_width(words, size)
        share = {"start": 0.0, "middle": 0.5, "end": 1.0}[anchor]
        left = x - share * width
        left = min(max(left, 1.0), self.width - 1.0 - width)
        x = left + share * width
        if middle:
            y += 0.35 * size
        if box:
            self.add(
                f'<rect x="{_n(left - 2)}" y="{_n(y - 0.85 * size)}" width="{_n(width + 4)}" '
                f'height="{_n(1.1 * size)}" fill="#ffffff" fill-opacity="0.75"/>'
            )
        self.smallest = min(self.smallest, size)
        self.add(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" fill="{_escape(colour)}" '
            f'text-anchor="{anchor}">{_escape(words)}</text>'
        )

    def upright(self, x: float, y: float, words: str, size: float = SMALL) -> None:
        """A line of text turned to read upwards, centred on ``y``, baseline at ``x``."""
        self.smallest = min(self.smallest, size)
        self.add(
            f'<text transform="translate({_n(x)},{_n(y)}) rotate(-90)" x="0" y="0" '
            f'font-size="{_n(size)}" fill="{INK}" text-anchor="middle">{_escape(words)}</text>'
        )


def _stroke(colour: str, width: float, dash: str = "") -> str:
    parts = f'fill="none" stroke="{_escape(colour)}" stroke-width="{_n(width)}"'
    return parts + (f' stroke-dasharray="{_escape(dash)}"' if dash else "")


def _fill(colour: str, opacity: float = 1.0) -> str:
    return f'fill="{_escape(colour)}"' + (f' fill-opacity="{_n(opacity)}"' if opacity < 1 else "")


def _marker(x: float, y: float, shape: str, size: float, colour: str, opacity: float) -> str:
    fill = _fill(colour, opacity)
    if shape == "square":
        half = size * 0.45
        return (
            f'<rect x="{_n(x - half)}" y="{_n(y - half)}" width="{_n(2 * half)}" '
            f'height="{_n(2 * half)}" {fill}/>'
        )
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{_n(size / 2)}" {fill}/>'


Mark = Callable[[_Map, _Writer], None]
DASHED = "6 3"
DOTTED = "1.5 3"


@dataclass
class Panel:
    """One plot: axes, a title on the left (a note such as "better →" on the right), and
    marks in data units; ``frame`` draws the left axis line and the y ticks."""

    x: Axis
    y: Axis
    height: float
    title: str = ""
    title_size: float = TITLE
    note: str = ""
    note_colour: str = INK
    frame: bool = True
    x_label_left: bool = False
    marks: list[tuple[bool, Mark]] = field(default_factory=list)  # (clipped, draw)

    def line(
        self,
        xs: Iterable[float],
        ys: Iterable[float],
        colour: str,
        width: float = 1.5,
        dash: str = "",
        marker: str = "",
        marker_size: float = 6.0,
    ) -> None:
        """A line through the points (broken where a value is missing), with markers."""
        points = list(zip([float(v) for v in xs], [float(v) for v in ys], strict=True))

        def draw(m: _Map, w: _Writer) -> None:
            path, pen = [], "M"
            for x, y in points:
                if not (math.isfinite(x) and math.isfinite(y)):
                    pen = "M"
                    continue
                path.append(f"{pen}{_n(m.px(x))} {_n(m.py(y))}")
                pen = "L"
            if path:
                w.add(f'<path d="{"".join(path)}" {_stroke(colour, width, dash)}/>')
            if marker:
                for x, y in points:
                    if math.isfinite(x) and math.isfinite(y):
                        w.add(_marker(m.px(x), m.py(y), marker, marker_size, colour, 1.0))

        self.marks.append((True, draw))

    def band(
        self,
        xs: Iterable[float],
        low: Iterable[float],
        high: Iterable[float],
        colour: str,
        opacity: float = 0.2,
    ) -> None:
        """The area between two lines (an interval over time)."""
        rows = [
            (float(x), float(a), float(b))
            for x, a, b in zip(xs, low, high, strict=True)
            if math.isfinite(float(a)) and math.isfinite(float(b))
        ]

        def draw(m: _Map, w: _Writer) -> None:
            if not rows:
                return
            ring = [(x, b) for x, _, b in rows] + [(x, a) for x, a, _ in reversed(rows)]
            points = " ".join(f"{_n(m.px(x))},{_n(m.py(y))}" for x, y in ring)
            w.add(f'<polygon points="{points}" {_fill(colour, opacity)}/>')

        self.marks.append((True, draw))

    def points(
        self,
        xs: Iterable[float],
        ys: Iterable[float],
        colour: str,
        shape: str = "circle",
        size: float = 9.0,
        opacity: float = 1.0,
    ) -> None:
        """Markers (``circle`` or ``square``, ``size`` pixels across)."""
        found = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]

        def draw(m: _Map, w: _Writer) -> None:
            for x, y in found:
                if math.isfinite(x) and math.isfinite(y):
                    w.add(_marker(m.px(x), m.py(y), shape, size, colour, opacity))

        self.marks.append((True, draw))

    def segment(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        colour: str,
        width: float = 1.5,
        dash: str = "",
    ) -> None:
        """A straight line between two points in data units (an interval, a threshold)."""

        def draw(m: _Map, w: _Writer) -> None:
            w.add(
                f'<line x1="{_n(m.px(x0))}" y1="{_n(m.py(y0))}" x2="{_n(m.px(x1))}" '
                f'y2="{_n(m.py(y1))}" {_stroke(colour, width, dash)}/>'
            )

        self.marks.append((True, draw))

    def hrule(self, y: float, colour: str, width: float = 1.5, dash: str = "") -> None:
        """A horizontal line across the panel."""
        self.segment(self.x.low, y, self.x.high, y, colour, width, dash)

    def vrule(self, x: float, colour: str, width: float = 1.5, dash: str = "") -> None:
        """A vertical line across the panel."""
        self.segment(x, self.y.low, x, self.y.high, colour, width, dash)

    def rect(
        self,
        x0: float,
        x1: float,
        y0: float | None,
        y1: float | None,
        colour: str,
        opacity: float = 1.0,
    ) -> None:
        """A filled rectangle (a bar; ``y0``/``y1`` None: the panel's whole height)."""

        def draw(m: _Map, w: _Writer) -> None:
            left, right = sorted((m.px(x0), m.px(x1)))
            ends = (
                m.py(y0 if y0 is not None else m.y.low),
                m.py(y1 if y1 is not None else m.y.high),
            )
            top, bottom = sorted(ends)
            fill = _fill(colour, opacity)
            w.add(
                f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(right - left)}" '
                f'height="{_n(bottom - top)}" {fill}/>'
            )

        self.marks.append((True, draw))

    def text(
        self,
        x: float,
        y: float,
        words: str,
        colour: str = INK,
        *,
        anchor: str = "start",
        place: str = "middle",
        x_fraction: bool = False,
        y_fraction: bool = False,
        box: bool = False,
    ) -> None:
        """A label at a point: ``place`` "above", "below" or "middle" of it; a coordinate
        may be a fraction of the panel (0: left or bottom, 1: right or top) instead."""

        def draw(m: _Map, w: _Writer) -> None:
            px, py = m.px(x, x_fraction), m.py(y, y_fraction)
            baseline = {"above": py - 3, "below": py + SMALL, "middle": py}[place]
            w.text(
                px, baseline, words, colour=colour, anchor=anchor, middle=place == "middle", box=box
            )

        self.marks.append((False, draw))


@dataclass
class Page:
    """Panels stacked down the page (a page title first, a legend last)."""

    title: str = ""
    panels: list[Panel] = field(default_factory=list)
    legend: list[Entry] = field(default_factory=list)
    width: float = WIDTH

    def add(self, panel: Panel) -> Panel:
        self.panels.append(panel)
        return panel

    def render(self) -> tuple[str, float]:
        """The SVG document and the size in pixels of its smallest text."""
        w = _Writer(self.width)
        y = EDGE
        for line in wrap(self.title, TITLE, self.width - 2 * EDGE) if self.title else []:
            y += TITLE
            w.text(EDGE, y, line, size=TITLE)
            y += (LINE - 1) * TITLE
        left = EDGE + max((_left_room(p) for p in self.panels), default=0.0)
        right = EDGE + max(
            (_right_room(p, self.width - left - EDGE) for p in self.panels), default=0.0
        )
        for index, panel in enumerate(self.panels):
            y += 6 if index or self.title else 0
            y = _panel(w, panel, index, left, self.width - left - right, y)
        if self.legend:
            y = _legend(w, self.legend, y + 6, self.width)
        height = math.ceil(y + EDGE)
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(self.width)}" '
            f'height="{height}" viewBox="0 0 {_n(self.width)} {height}" '
            f'font-family="{FONT}">'
            f'<rect width="100%" height="100%" fill="#ffffff"/>'
        )
        return head + "".join(w.parts) + "</svg>", w.smallest


def _y_label_lines(panel: Panel) -> list[str]:
    return wrap(panel.y.label, SMALL, panel.height + 10) if panel.y.label else []


def _left_room(panel: Panel) -> float:
    """Room left of a panel's plot: its y tick labels and its y label's lines."""
    room = 0.0
    if panel.frame and panel.y.labelled and panel.y.ticks:
        room = max(text_width(label, SMALL) for _, label in panel.y.ticks) + TICK + 4
    return room + len(_y_label_lines(panel)) * LINE * SMALL + 2


def _right_room(panel: Panel, width: float) -> float:
    """Room right of a panel's plot: a last x tick label centred near the end overhangs."""
    room = 4.0
    for value, label in panel.x.ticks if panel.x.labelled else []:
        overhang = panel.x.fraction(value) * width + text_width(label, SMALL) / 2 - width
        room = max(room, overhang)
    return room


def _panel(w: _Writer, panel: Panel, index: int, left: float, width: float, y: float) -> float:
    """Draw one panel from ``y`` down; return where the next thing may start."""
    note = text_width(panel.note, SMALL) + 10 if panel.note else 0.0
    lines = wrap(panel.title, panel.title_size, w.width - EDGE - note - 4) if panel.title else []
    for number, line in enumerate(lines):
        y += panel.title_size
        w.text(EDGE, y, line, size=panel.title_size)
        if number == 0 and panel.note:
            w.text(w.width - EDGE, y, panel.note, colour=panel.note_colour, anchor="end")
        y += (LINE - 1) * panel.title_size
    y += 6 if lines else 4
    m = _Map(left, y, width, panel.height, panel.x, panel.y)
    w.add(
        f'<clipPath id="plot{index}"><rect x="{_n(left - 1)}" y="{_n(y - 1)}" '
        f'width="{_n(width + 2)}" height="{_n(panel.height + 2)}"/></clipPath>'
        f'<g clip-path="url(#plot{index})">'
    )
    for clipped, draw in panel.marks:
        if clipped:
            draw(m, w)
    w.add("</g>")
    bottom = y + panel.height
    w.add(_rule(left, bottom, left + width, bottom))
    if panel.frame:
        w.add(_rule(left, y, left, bottom))
        for value, label in panel.y.ticks:
            if panel.y.low - 1e-9 <= value <= panel.y.high + 1e-9:
                ty = m.py(value)
                w.add(_rule(left - TICK, ty, left, ty))
                if panel.y.labelled:
                    w.text(left - TICK - 3, ty, label, anchor="end", middle=True)
    for number, line in enumerate(_y_label_lines(panel)):
        w.upright(EDGE + (number + 0.8) * LINE * SMALL, y + panel.height / 2, line)
    shown = [
        (m.px(v), label)
        for v, label in panel.x.ticks
        if min(panel.x.low, panel.x.high) - 1e-9 <= v <= max(panel.x.low, panel.x.high) + 1e-9
    ]
    for px, _ in shown:
        w.add(_rule(px, bottom, px, bottom + TICK))
    y = bottom + TICK
    if panel.x.labelled and shown:
        for px, label in _thinned(shown):
            w.text(px, y + 2 + SMALL * 0.8, label, anchor="middle")
        y += 2 + SMALL * LINE
    for mark in (draw for clipped, draw in panel.marks if not clipped):
        mark(m, w)
    for line in wrap(panel.x.label, SMALL, w.width - 2 * EDGE) if panel.x.label else []:
        start = EDGE if panel.x_label_left else left + width / 2
        y += SMALL
        w.text(
            start,
            y,
            line,
            anchor="start" if panel.x_label_left else "middle",
        )
        y += (LINE - 1) * SMALL
    return y


def _rule(x1: float, y1: float, x2: float, y2: float) -> str:
    """An axis line or a tick mark."""
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )


def _thinned(shown: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Every k-th tick label, k as small as keeps them apart; the last one always."""
    for stride in range(1, len(shown) + 1):
        kept = shown[::stride]
        if shown[-1] not in kept:
            kept = [*kept, shown[-1]]
        ends = [(px - text_width(t, SMALL) / 2, px + text_width(t, SMALL) / 2) for px, t in kept]
        while len(ends) > 1 and ends[-2][1] + 6 > ends[-1][0]:  # crowding the last: drop
            del kept[-2], ends[-2]
        if all(a[1] + 6 <= b[0] for a, b in itertools.pairwise(ends)):
            return kept
    return shown[-1:]


def _legend(w: _Writer, entries: list[Entry], y: float, width: float) -> float:
    """Entries left to right, wrapping onto further rows (a label too long for one row on
    rows of its own); return the bottom."""
    row = SMALL * LINE + 2
    x, y = EDGE, y + row / 2
    for entry in entries:
        lines = wrap(entry.label, SMALL, width - 2 * EDGE - 30)
        room = 30 + max(text_width(line, SMALL) for line in lines)
        if x > EDGE and (x + room > width - EDGE or len(lines) > 1):
            x, y = EDGE, y + row
        _swatch(w, entry, x, y)
        for number, line in enumerate(lines):
            w.text(x + 28, y + number * row, line, middle=True)
        y += (len(lines) - 1) * row
        x = x + room + 16 if len(lines) == 1 else width
    return y + row / 2


def _swatch(w: _Writer, entry: Entry, x: float, y: float) -> None:
    if entry.kind == "band" or entry.under:
        colour = entry.under or entry.colour
        opacity = entry.opacity if entry.kind == "band" else 0.2
        w.add(
            f'<rect x="{_n(x)}" y="{_n(y - 6)}" width="22" height="12" {_fill(colour, opacity)}/>'
        )
    if entry.kind == "line":
        w.add(
            f'<line x1="{_n(x)}" y1="{_n(y)}" x2="{_n(x + 22)}" y2="{_n(y)}" '
            f"{_stroke(entry.colour, 2.2, entry.dash)}/>"
        )
    if entry.marker or entry.kind == "point":
        w.add(_marker(x + 11, y, entry.marker or "circle", 8, entry.colour, entry.opacity))
