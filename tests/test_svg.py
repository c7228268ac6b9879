"""The SVG writer under the charts: ticks, date labels, text widths, escaping, the page."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import drawn
import pytest

from impact import plots, svg


def test_ticks_are_round_and_inside_the_range() -> None:
    assert svg.nice_ticks(0, 115) == [0, 20, 40, 60, 80, 100]
    assert svg.nice_ticks(-3.5, 10) == [-2.5, 0, 2.5, 5, 7.5, 10]
    assert svg.nice_ticks(700, 1250, most=3) == [800, 1000, 1200]
    assert [label for _, label in svg.linear(-0.3, 0.3).ticks] == ["\u22120.2", "0.0", "0.2"]
    assert [label for _, label in svg.linear(0, 4000).ticks][-1] == "4,000"
    for low, high in [(-0.0031, 0.017), (12.5, 13.1), (-250, 7), (0, 1e6)]:
        ticks = svg.nice_ticks(low, high)
        assert 2 <= len(ticks) <= 6 and low <= ticks[0] and ticks[-1] <= high, (low, high)


@pytest.mark.parametrize("days", [3, 20, 45, 120, 400, 1200])
def test_a_date_axis_has_at_most_five_short_labels(days: int) -> None:
    first = svg.day(dt.date(2026, 8, 29))
    axis = svg.dates(first, first + days)
    labels = [label for _, label in axis.ticks]
    assert 2 <= len(labels) <= 5, labels
    assert all(len(label) <= 6 for label in labels), labels
    assert all(first <= value <= first + days for value, _ in axis.ticks)


def test_date_labels_name_the_day() -> None:
    axis = svg.dates(svg.day(dt.date(2026, 8, 31)), svg.day(dt.date(2026, 9, 30)))
    assert [label for _, label in axis.ticks] == ["Aug 31", "Sep 7", "Sep 14", "Sep 21", "Sep 28"]


def test_text_widths_are_never_less_than_dejavu_sans() -> None:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont("DejaVu Sans"))
    font.set_size(100, 72)  # 100 pixels a em
    for words in ["treatment minus control", "WWW MMM 0123456789", "orders (primary): +55.0"]:
        advance = sum(font.load_char(ord(c)).linearHoriAdvance / 65536 for c in words)
        assert advance <= svg.text_width(words, 100) <= advance * 1.1, words


def test_wrapping_keeps_every_line_inside_the_width() -> None:
    lines = svg.wrap("a_metric_name_without_any_space_at_all_that_goes_on (primary): x", 16, 200)
    assert len(lines) > 1 and all(svg.text_width(line, 16) <= 200 for line in lines)
    assert (
        "".join(lines).replace(" ", "")
        == "a_metric_name_without_any_space_at_all_that_goes_on(primary):x"
    )
    assert svg.wrap("one\ntwo", 16, 500) == ["one", "two"]


def test_hostile_words_are_text_and_the_page_is_the_same_bytes_each_time() -> None:
    def page() -> svg.Page:
        drawing = svg.Page("<script>alert('x')</script> & \"quoted\" \x01")
        panel = drawing.add(
            svg.Panel(svg.linear(0, 1), svg.linear(0, 1, "y <b>"), 100, title="<img src=x>")
        )
        panel.text(1, 0.5, "]]> a long label at the right edge", x_fraction=True)
        panel.line([0, 0.5, float("nan"), 1], [0, 1, 0.5, 0], "#000000")
        drawing.legend = [svg.Entry("</svg><svg onload=alert(1)>", "#000000")]
        return drawing

    chart = plots.SVGChart(page(), "alt")
    assert chart.svg == plots.SVGChart(page(), "alt").svg
    shown = drawn.words(chart)
    assert "<script>alert('x')</script> & \"quoted\" \ufffd" in shown
    assert "<img src=x>" in shown and "y <b>" in shown and "</svg><svg onload=alert(1)>" in shown
    assert not any(e.tag.endswith(("script", "img", "b")) for e in ET.fromstring(chart.svg).iter())
    assert "onload=" not in ET.fromstring(chart.svg).attrib
    drawn.fits(chart)  # the long label was moved left from the edge
    (path,) = drawn.root(chart).iter(f"{drawn.NS}path")
    assert path.get("d", "").count("M") == 2  # the line breaks at the missing value


def test_a_long_legend_label_is_written_whole_on_rows_of_its_own() -> None:
    label = "units exposed up to that day " * 4 + "(95% interval)"
    drawing = svg.Page()
    drawing.add(svg.Panel(svg.linear(0, 1), svg.linear(0, 1), 100))
    drawing.legend = [svg.Entry("short", "#000000"), svg.Entry(label.strip(), "#0072B2")]
    drawing.legend.append(svg.Entry("after", "#000000"))
    chart = plots.SVGChart(drawing, "alt")
    texts = drawn.texts(chart)
    rows = [t for t in texts if t.words not in ("short", "after") and t.x > 20]
    rows = [t for t in rows if t.y > texts[-1].y - 100 and not t.words[:1].isdigit()]
    assert " ".join(t.words for t in rows) == label.strip()
    short, after = (next(t for t in texts if t.words == w) for w in ("short", "after"))
    assert short.y < rows[0].y and rows[-1].y < after.y
    drawn.fits(chart)
