"""The segments and rollout-stages sections of the report (impact/report/segments.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import drawn
import pytest
import yaml
from launches import TODAY, write
from staged import ramp_launch, segment_launch

from impact import display, review, svg
from impact.report import segments as section


@pytest.fixture(scope="module")
def segmented(tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec, _, _ = segment_launch(tmp_path_factory.mktemp("report-segments"))
    return review.run(str(spec), "56d", TODAY)


@pytest.fixture(scope="module")
def ramped(tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec, _ = ramp_launch(tmp_path_factory.mktemp("report-ramp"))
    return review.run(str(spec), "56d", TODAY)


def test_sections_are_empty_without_segments_or_stages(ramped: Any, segmented: Any) -> None:
    assert display.segments(ramped) is None
    assert display.stages(segmented) is None


def test_the_segments_section(segmented: Any) -> None:
    block = display.segments(segmented)
    assert block is not None
    text = repr(block)
    assert "conversion (primary)" in text and "refunds (guardrail)" in text
    assert 'platform: web had fewer than 100 units in an arm, so they are pooled into "other".' in (
        text
    )
    assert "other (web)" in text
    assert "platform: the effect differs between values (Cochran's Q = 25.7 on 2 degrees" in text
    html = block._repr_html_()
    assert html.count("<figure") == 2  # a forest chart per deciding metric
    rows = [line for line in text.splitlines() if line.startswith(("ios |", "android |"))]
    assert rows[0].startswith("ios |")  # ordered: best effect first


def test_the_forest_chart_is_ordered_and_has_the_whole_launch_as_reference(
    segmented: Any,
) -> None:
    chart = section.forest(segmented, segmented.primary.metric)
    assert chart is not None
    assert chart.alt.startswith(
        "conversion by segment, ordered by effect, against the whole launch's interval"
    )
    assert chart.alt.index("platform ios") < chart.alt.index("platform android")
    shown = drawn.words(chart)
    rows = ["platform = ios", "platform = other", "platform = android"]
    assert [t for t in shown if t.startswith("platform = ")] == rows
    assert "whole launch" in shown and "better →" in shown
    assert "treatment minus control (percentage points)" in shown
    # the rows read down in that order, each centred on its interval
    labels = [t.y for t in drawn.texts(chart) if t.words in rows]
    assert labels == sorted(labels)
    bars = [e for e in drawn.root(chart).iter(f"{drawn.NS}line") if e.get("stroke-width") == "3.8"]
    assert len(bars) == 3
    for label, bar in zip(labels, bars, strict=True):
        assert float(bar.get("y1", 0)) == pytest.approx(label - 0.35 * svg.SMALL, abs=0.02)
    drawn.fits(chart)


def test_the_stages_section(ramped: Any) -> None:
    block = display.stages(ramped)
    assert block is not None
    text = repr(block)
    assert "stage 1 | 2026-09-01 to 2026-09-07 | 10% |" in text
    assert "stage 2 | 2026-09-08 on | 50% |" in text
    assert "Pooled naively over stages it would read +" in text
    assert "whatever changed over the launch shows up as an effect" in text


def test_the_stage_table_says_which_units_it_counts(ramped: Any) -> None:
    """Exposed units (the sample-ratio check's) and mature units (the weights') side by
    side, each named, never one under the other's header."""
    text = repr(display.stages(ramped))
    header = next(line for line in text.splitlines() if line.startswith("stage |"))
    assert "control exposed | treatment exposed |" in header
    assert header.endswith("| mature units | weight")
    estimates = ramped.stages[ramped.primary.metric.name]
    data = ramped.table.metrics[ramped.primary.metric.name]
    assert sum(e.units for e in estimates) == data.control.n + data.treatment.n
    for phase, estimate in zip(ramped.phases, estimates, strict=True):
        exposed = sum(phase.units.values())
        assert 0 < estimate.units <= exposed
        assert f"| {estimate.units:,} | {estimate.weight:.0%}" in text


def test_the_data_section_gives_each_stage_its_split(ramped: Any) -> None:
    text = repr(display.data_summary(ramped))
    assert (
        "planned split | stage 1 from 2026-09-01: control 90%, treatment 10%; "
        "stage 2 from 2026-09-08: control 50%, treatment 50%"
    ) in text


def test_the_methods_name_stratification_bh_and_cochrans_q(segmented: Any, ramped: Any) -> None:
    staged = repr(display.methods(ramped))
    assert "Rollout stages: each unit belongs to the stage of its first exposure" in staged
    assert "weights equal to their shares of the metric's mature units" in staged
    assert "Segments (" not in staged
    cells = len([c for c in segmented.segments.cells if c.q_value is not None])
    split = repr(display.methods(segmented))
    assert "Segments (platform, registered before launch)" in split
    assert f"q-values are Benjamini-Hochberg across all {cells} segment cells" in split
    assert "independent or positively dependent" in split
    assert "Cochran's Q per metric and column" in split and "it is not adjusted" in split
    assert "Rollout stages" not in split


def test_segment_values_from_the_data_are_escaped(tmp_path: Path) -> None:
    spec, frame, events = segment_launch(tmp_path)
    hostile = "<script>alert(1)</script>"
    frame["platform"] = frame.platform.replace("ios", hostile)
    write(tmp_path, yaml.safe_load(spec.read_text()), frame.drop(columns=["converted"]), events)
    result = review.run(str(spec), "56d", TODAY)
    html = display.segments(result)._repr_html_()  # type: ignore[union-attr]
    assert hostile not in html
    assert "&lt;script&gt;" in html
    assert any(hostile in reason for reason in result.verdict.reasons)  # text, escaped later


def test_contents_link_the_new_sections(segmented: Any, ramped: Any) -> None:
    assert 'href="#Segments"' in display.contents(segmented)._repr_html_()
    assert 'href="#Rollout-stages"' in display.contents(ramped)._repr_html_()
    assert 'href="#Segments"' not in display.contents(ramped)._repr_html_()


def test_who_it_helped_and_hurt_is_on_the_first_screen(segmented: Any) -> None:
    """The issue's case: +3 pp on iOS, -3 pp on Android, +0 overall, reported as such."""
    card = repr(display.verdict_card(segmented))
    overall = card.index("conversion changed by")
    hurt = card.index("harms android (platform): conversion got worse")
    helped = card.index("helps ios (platform): conversion improved")
    assert overall < hurt < helped
