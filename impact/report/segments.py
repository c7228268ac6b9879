"""Who it helped, who it hurt, and the stages of the rollout: the segments and stages sections.

``segments(result)`` shows, per deciding metric, a forest chart of the effect per value of
each registered column (ordered by effect, with the whole launch's interval as a reference
band), the cells' table with q-values, and in words whether the values differ (Cochran's Q)
and which small values were pooled into "other". ``stages(result)`` shows the rollout's
stages: the planned split, the units per arm, the sample-ratio check per stage, the effect
within each stage and its weight, and, where it differs enough to matter, the naive pooled
estimate with why it differs. Both return None when the spec has no segments or stages.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from impact import formats, plots, svg
from impact.report.blocks import (
    HTMLBlock,
    _effect,
    _el,
    _heading,
    _interval,
    _level,
    _p,
    _root,
    _status,
    _table,
    _term,
    _value,
)
from impact.review import ReviewResult
from impact.segments import OTHER, Cell, SegmentResult
from impact.spec import Metric
from impact.stats.compare import Comparison

__all__ = ["forest", "segments", "stages"]


def _ordered(cells: list[Cell]) -> list[Cell]:
    """Cells by effect in the good direction, best first; cells without one last."""
    known = [c for c in cells if c.comparison.effect is not None]
    unknown = [c for c in cells if c.comparison.effect is None]
    known.sort(key=lambda c: -c.metric.good_sign * (c.comparison.effect or 0.0))
    return known + unknown


def forest(result: ReviewResult, metric: Metric) -> plots.SVGChart | None:
    """A forest chart of a metric's effect per segment value, ordered, with the whole
    launch's interval as a band and zero as a line (None without segment cells)."""
    found = result.segments
    if found is None:
        return None
    cells = [c for c in found.cells if c.metric.name == metric.name]
    rows = [c for column in _columns(found) for c in _ordered(_of(cells, column))]
    if not rows:
        return None
    style = formats.of(metric)
    scale = 100.0 if style.format == "percent" else 1.0
    whole = result.analyses[metric.name].comparison
    reach = [0.0]
    for c in [whole, *(cell.comparison for cell in rows)]:
        reach += [v * scale for v in (c.ci_lower, c.ci_upper, c.effect) if v is not None]
    level = (1 - whole.alpha) * 100 if whole.alpha else 95.0
    page = svg.Page()
    panel = page.add(
        svg.Panel(
            svg.linear(*svg.padded(reach), f"treatment minus control ({style.change_unit})"),
            svg.categories([f"{cell.column} = {cell.value}" for cell in rows], inverted=True),
            30 * len(rows),
            title=f"{metric.name} by segment, {level:.3g}% intervals",
            note="better →" if metric.good_sign > 0 else "← better",
            note_colour=plots.TARGET,
        )
    )
    if whole.ci_lower is not None and whole.ci_upper is not None:
        panel.rect(whole.ci_lower * scale, whole.ci_upper * scale, None, None, plots.INTERVAL, 0.12)
        page.legend = [svg.Entry("whole launch", plots.INTERVAL, kind="band", opacity=0.12)]
    panel.vrule(0, plots.ZERO, 1.5)
    for y, cell in enumerate(rows):
        c = cell.comparison
        flagged = cell.status in ("harm", "breach") and cell.significant(found.alpha)
        colour = plots.MARGIN if flagged else plots.INK
        if c.ci_lower is not None and c.ci_upper is not None:
            panel.segment(c.ci_lower * scale, y, c.ci_upper * scale, y, colour, 3.8)
        if c.effect is not None:
            panel.points([c.effect * scale], [y], colour, size=7.6)
    words = "; ".join(
        f"{c.column} {c.value}: "
        + (_effect(metric, c.comparison.effect) if c.comparison.effect is not None else "n/a")
        for c in rows
    )
    alt = (
        f"{metric.name} by segment, ordered by effect, against the whole launch's interval "
        f"(shaded). {words}."
    )
    return plots.SVGChart(page, alt)


def _figure(chart: plots.SVGChart) -> ET.Element:
    image = _el(
        "img",
        src=chart.source(),
        alt=chart.alt,
        style="max-width:100%",
        **{"data-smallest-text": f"{chart.smallest_text:.1f}"},
    )
    return _el("figure", image, class_="impact-figure", style="margin:0")


def _columns(found: SegmentResult) -> list[str]:
    return list(dict.fromkeys(c.column for c in found.cells))


def _of(cells: list[Cell], column: str) -> list[Cell]:
    return [c for c in cells if c.column == column]


def _heterogeneity_words(found: SegmentResult, metric: Metric, column: str) -> str:
    found_test = found.test(metric.name, column)
    t = found_test.test if found_test is not None else None
    if t is None or t.p_value is None or t.statistic is None:
        return (
            f"{column}: fewer than two values have an interval, so whether the effect "
            "differs between them cannot be tested."
        )
    share = f"; I² = {t.i2:.0%} of the spread is beyond chance" if t.i2 is not None else ""
    if t.p_value < found.alpha:
        verdict = "the effect differs between values"
    else:
        verdict = "no evidence that the effect differs between values"
    return (
        f"{column}: {verdict} (Cochran's Q = {t.statistic:.3g} on {t.dof} degrees of freedom, "
        f"{formats.p_equals(t.p_value)}{share})."
    )


def _cell_row(cell: Cell) -> list[ET.Element | str]:
    m, c = cell.metric, cell.comparison
    value = cell.value if not cell.pooled else f"{OTHER} ({', '.join(cell.pooled)})"
    return [
        value,
        f"{cell.n['control']:,}",
        f"{cell.n['treatment']:,}",
        _value(m, c.control, (c.treatment,)),
        _value(m, c.treatment, (c.control,)),
        _effect(m, c.effect, group=(c.ci_lower, c.ci_upper)),
        _interval(m, c.ci_lower, c.ci_upper, estimate=c.effect),
        _p(c.p_value),
        _p(cell.q_value),
        _status(cell.status),
    ]


def segments(result: ReviewResult) -> HTMLBlock | None:
    """The segments section: per deciding metric, a forest chart and the cells' table."""
    found = result.segments
    if found is None or not found.cells:
        return None
    alpha = found.alpha
    cells_tested = len([c for c in found.cells if c.q_value is not None])
    parts: list[ET.Element | str | None] = [
        _heading("Segments"),
        _el(
            "p",
            "The effect per value of each column registered before launch, with the same "
            "statistics as the whole launch. Segments never change the outcome: a harm or "
            f"breach here with q below {alpha:.3g} is a reason on the first screen, so that "
            "segment can be held back. q is the ",
            _term("q (BH)"),
            f" across all {cells_tested} segment cells. A segment is a subgroup of a randomized "
            "test: a difference says where the effect is, not why.",
            class_="note",
        ),
    ]
    for column, (values, minimum) in found.pooled.items():
        parts.append(
            _el(
                "p",
                f"{column}: {', '.join(values)} had fewer than {minimum:,} units in an arm, so "
                f'they are pooled into "{OTHER}".',
                class_="note",
            )
        )
    metrics = list(dict.fromkeys(c.metric.name for c in found.cells))
    for name in metrics:
        cells = [c for c in found.cells if c.metric.name == name]
        metric = cells[0].metric
        role = cells[0].role
        parts.append(_el("h3", f"{name} ({role})"))
        chart = forest(result, metric)
        if chart is not None:
            parts.append(_figure(chart))
        first = cells[0]
        control, treatment = result.spec.control, result.spec.treatment
        headers: list[ET.Element | str] = [
            "value",
            f"{control} units",
            f"{treatment} units",
            control,
            treatment,
            "effect",
            _term("CI", _level(first.comparison)),
            _term("p"),
            _term("q (BH)"),
            "status",
        ]
        for column in _columns(found):
            rows = [_cell_row(c) for c in _ordered(_of(cells, column))]
            if not rows:
                continue
            parts.append(_el("p", _el("strong", column)))
            parts.append(_table(headers, rows, {1, 2, 3, 4, 5, 6, 7, 8}))
            parts.append(_el("p", _heterogeneity_words(found, metric, column), class_="note"))
    return _root(*parts)


def _share(units: dict[str, int], arm: str) -> str:
    total = sum(units.values())
    return f"{units.get(arm, 0) / total:.1%}" if total else formats.MISSING


def stages(result: ReviewResult) -> HTMLBlock | None:
    """The rollout's stages: split, units, sample ratio and effect per stage."""
    if not result.phases:
        return None
    spec = result.spec
    primary = result.primary.metric
    estimates = result.stages.get(primary.name, [])
    treatment = spec.treatment
    rows: list[list[ET.Element | str]] = []
    for phase in result.phases:
        last = phase.end - dt.timedelta(days=1) if phase.end else None
        estimate = estimates[phase.index] if phase.index < len(estimates) else None
        c = estimate.analysis.comparison if estimate is not None else None
        rows.append(
            [
                f"stage {phase.index + 1}",
                f"{phase.stage.start} to {last}" if last else f"{phase.stage.start} on",
                f"{phase.stage.split[treatment]:.0%}",
                f"{phase.units.get(spec.control, 0):,}",
                f"{phase.units.get(treatment, 0):,}",
                _share(phase.units, treatment),
                _p(phase.sample_ratio.p_value),
                _effect(primary, c.effect, group=(c.ci_lower, c.ci_upper)) if c else "",
                _interval(primary, c.ci_lower, c.ci_upper, estimate=c.effect) if c else "",
                f"{estimate.units:,}" if estimate is not None else "",
                f"{estimate.weight:.0%}" if estimate is not None else "",
            ]
        )
    combined = result.analyses[primary.name].comparison
    headers: list[ET.Element | str] = [
        "stage",
        "exposed",
        f"planned {treatment}",
        f"{spec.control} exposed",
        f"{treatment} exposed",
        f"observed {treatment}",
        _term("p", "sample-ratio p"),
        f"{primary.name} effect",
        _term("CI", _level(combined)),
        _term("mature units"),
        "weight",
    ]
    parts: list[ET.Element | str | None] = [
        _heading("Rollout stages"),
        _el(
            "p",
            "Each unit belongs to the stage of its first exposure. The sample ratio is "
            "checked per stage against that stage's split, on every unit exposed in it, so the "
            "ramp itself never fires it. The effect compares the arms within each stage and "
            "combines the stages weighted by their share of the mature units (those whose "
            "window has ended by this look): a pooled comparison would set early "
            "control units against late treated units and read any drift over time as an "
            "effect.",
            class_="note",
        ),
        _table(headers, rows, {2, 3, 4, 5, 6, 7, 8, 9, 10}),
    ]
    notes = [e for e in estimates if e.note]
    for e in notes:
        parts.append(_el("p", f"stage {e.index + 1}: {e.note}.", class_="note"))
    parts.append(_combined_line(result, primary, combined))
    return _root(*parts)


def _combined_line(result: ReviewResult, metric: Metric, combined: Comparison) -> ET.Element:
    pooled = result.pooled_shown(metric.name)
    stratified = (
        f"Stratified over stages, {metric.name} changed by "
        f"{_effect(metric, combined.effect, group=(combined.ci_lower, combined.ci_upper))} "
        f"({_interval(metric, combined.ci_lower, combined.ci_upper, estimate=combined.effect)})"
        "; this is the effect the verdict uses."
    )
    if pooled is None:
        return _el(
            "p",
            stratified + " Pooling all stages gives nearly the same estimate here.",
            class_="note",
        )
    return _el(
        "p",
        stratified + " Pooled naively over stages it would read "
        f"{_effect(metric, pooled.effect, group=(pooled.ci_lower, pooled.ci_upper))} "
        f"({_interval(metric, pooled.ci_lower, pooled.ci_upper, estimate=pooled.effect)}): "
        "the stages split the units differently, so the pooled arms hold different mixes of "
        "early and late units, and whatever changed over the launch shows up as an effect. "
        "The stratified estimate compares like with like.",
        class_="note",
    )
