"""The review's figures, written as SVG in one house style; a team's matplotlib figures.

The built-in charts are drawn by ``impact.svg`` (no plotting library is imported: a review
never loads matplotlib) and shown as ``SVGChart``; a team section shows its own
``matplotlib.figure.Figure`` as ``Chart(figure, alt)``, an embedded PNG, and only then is
matplotlib imported. Colours come from the Okabe-Ito palette, which colour-blind readers can
tell apart; every status is also written as text.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
from typing import TYPE_CHECKING, Any

import numpy as np

from impact import analysis, formats, message, rollout, svg
from impact.adoption_review import AdoptionReview
from impact.prepost import PrepostResult
from impact.review import ReviewResult
from impact.spec import Metric
from impact.stats import distributions
from impact.stats.adoption import Share
from impact.stats.compare import Comparison
from impact.verdict import MetricVerdict, format_effect

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "Chart",
    "SVGChart",
    "by_exposure_day",
    "by_week",
    "counterfactual",
    "effects",
    "funnel",
    "placebos",
    "retention",
]

DPI = 110
# A team's figure is saved at 110 dpi: 5 inches is 550 pixels, the built-in charts' width,
# shown at natural size on a laptop and at about 0.6 of it on a 375-pixel phone, where
# 9.5-point text (the charts' smallest, svg.SMALL pixels) is still about 9 pixels high
# (tests/test_browser.py measures it).
WIDTH = 5.0
SMALL = 9.5  # points
INK = svg.INK
INTERVAL = "#0072B2"  # blue
TARGET = "#009E73"  # bluish green
MARGIN = "#D55E00"  # vermillion
ZERO = "#777777"
CONTROL = "#0072B2"  # blue, circles
TREATMENT = "#E69F00"  # orange, squares


class _Shown:
    """What Jupyter and the report show of a chart: an image embedded as a data URL, with
    its alt text and the height in image pixels of its smallest text."""

    alt: str
    mime = "image/png"

    @property
    def smallest_text(self) -> float:
        raise NotImplementedError

    def _image(self) -> bytes:
        raise NotImplementedError

    def source(self) -> str:
        """The image as a ``data:`` URL."""
        return f"data:{self.mime};base64,{base64.b64encode(self._image()).decode('ascii')}"

    def html(self) -> str:
        """A figure element embedding the image, with the alt text."""
        alt = html.escape(self.alt, quote=True)
        return (
            f'<figure class="impact-figure" style="margin:0">'
            f'<img src="{self.source()}" alt="{alt}" style="max-width:100%" '
            f'data-smallest-text="{self.smallest_text:.1f}">'
            f"</figure>"
        )

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        """The HTML that embeds the image (so it is stored once) and the alt text as plain
        text. No other ``_repr_*_`` method: IPython would store each beside it."""
        return {"text/html": self.html(), "text/plain": f"[chart] {self.alt}"}

    def __repr__(self) -> str:
        return f"[chart] {self.alt}"


class Chart(_Shown):
    """A team's matplotlib figure with its alt text; Jupyter shows it as an embedded PNG
    (no backend needed; matplotlib is imported only when a Chart is drawn).

    Attributes:
        figure: the matplotlib figure, for further styling or saving.
        alt: what the figure shows, in words, for screen readers and text-only readers.
    """

    def __init__(self, figure: Figure, alt: str) -> None:
        self.figure = figure
        self.alt = alt

    @property
    def smallest_text(self) -> float:
        """The height in image pixels of the figure's smallest visible text."""
        from matplotlib.text import Text

        sizes = [
            float(text.get_fontsize())
            for text in self.figure.findobj(Text)
            if isinstance(text, Text) and text.get_visible() and text.get_text().strip()
        ]
        return min(sizes, default=SMALL) * DPI / 72

    def png(self) -> bytes:
        """The figure as PNG bytes."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return buffer.getvalue()

    def _image(self) -> bytes:
        return self.png()


class SVGChart(_Shown):
    """A built-in chart: an SVG document with its alt text, shown as an embedded image
    (``<img>`` of a ``data:image/svg+xml`` URL: no script runs in it, nothing is fetched,
    and JupyterLab's sanitizer keeps it as it keeps a PNG).

    Attributes:
        svg: the SVG document (the same chart gives the same text).
        alt: what the figure shows, in words, for screen readers and text-only readers.
        smallest_text: the height in image pixels of its smallest text.
    """

    mime = "image/svg+xml"

    def __init__(self, page: svg.Page, alt: str) -> None:
        self.svg, self._smallest = page.render()
        self.alt = alt

    @property
    def smallest_text(self) -> float:
        return self._smallest

    def _image(self) -> bytes:
        return self.svg.encode("utf-8")


def _better(metric: Metric) -> str:
    return "better →" if metric.good_sign > 0 else "← better"


def _days(values: Any) -> np.ndarray:
    """Dates (datetime64 or date objects) as day numbers on a date axis."""
    return np.array(values, dtype="datetime64[D]").astype("int64").astype(float)


def effects(result: ReviewResult | PrepostResult) -> SVGChart:
    """Each deciding metric's effect and interval against zero and its target or margin.

    One panel per metric, in the metric's units (treatment minus control; percentage points
    for proportions): the interval at the look's level, the estimate, zero, and the
    pre-registered target (primary) or margin (guardrails), with the status written beside.
    """
    judged: list[tuple[str, MetricVerdict]] = [("primary", result.primary)]
    judged += [("guardrail", g) for g in result.guardrails]
    shared = len({formats.of(item.metric) for _, item in judged}) == 1  # one unit: one scale
    level = (1 - result.primary.comparison.alpha) * 100
    page = svg.Page(f"Effects with {level:.3g}% intervals against the registered thresholds")
    difference = (
        "actual minus model, per day"
        if isinstance(result, PrepostResult)
        else "treatment minus control"
    )
    drawn: list[tuple[str, MetricVerdict, float, list[float]]] = []
    for role, item in judged:
        comparison = item.comparison
        scale = 100.0 if formats.of(item.metric).format == "percent" else 1.0
        reference = [0.0]
        line = _threshold_line(item.metric, comparison, role)
        if line is not None:
            reference.append(line[0] * scale)
        if comparison.ci_lower is not None and comparison.ci_upper is not None:
            reference += [comparison.ci_lower * scale, comparison.ci_upper * scale]
        if comparison.effect is not None:
            reference.append(comparison.effect * scale)
        drawn.append((role, item, scale, reference))
    everything = [value for *_, reference in drawn for value in reference]
    for role, item, scale, reference in drawn:
        metric, comparison = item.metric, item.comparison
        values, share = (everything, 0.2) if shared else (reference, 0.25)
        low, high = svg.padded(values, share)
        x = svg.linear(low, high, f"{difference} ({formats.of(metric).change_unit})")
        panel = page.add(
            svg.Panel(
                x,
                svg.Axis(-1, 1, []),
                52,
                title=f"{metric.name} ({role}): {_effect(metric, comparison)}, {item.label}",
                note=_better(metric),
                note_colour=TARGET,
                frame=False,
            )
        )
        panel.vrule(0, ZERO, 1.5)
        line = _threshold_line(metric, comparison, role)
        if line is not None:
            value, words = line
            colour = TARGET if role == "primary" else MARGIN
            panel.vrule(value * scale, colour, 2.3, svg.DASHED)
            panel.text(
                value * scale,
                1,
                words,
                colour,
                anchor="middle",
                place="below",
                y_fraction=True,
                box=True,
            )
        if comparison.ci_lower is not None and comparison.ci_upper is not None:
            panel.segment(
                comparison.ci_lower * scale, -0.3, comparison.ci_upper * scale, -0.3, INTERVAL, 6
            )
        if comparison.effect is not None:
            panel.points([comparison.effect * scale], [-0.3], INK, size=9)
    alt = "; ".join(f"{item.metric.name} ({role}): {item.label}" for role, item in judged)
    return SVGChart(page, f"Effects with {level:.3g}% intervals. {alt}.")


def _effect(metric: Metric, comparison: Comparison) -> str:
    """A comparison's effect as the tables write it: its digits shared with its interval's
    ("n/a" without an estimate)."""
    if comparison.effect is None:
        return "n/a"
    return format_effect(
        metric, comparison.effect, group=(comparison.ci_lower, comparison.ci_upper)
    )


def _threshold_line(metric: Metric, comparison: Comparison, role: str) -> tuple[float, str] | None:
    """Where the registered target (primary) or margin (guardrail) lies on the chart's
    absolute scale, with its label; a relative one is placed against the control's value."""
    threshold = metric.target if role == "primary" else metric.margin
    if threshold is None:
        return None
    sign = metric.good_sign if role == "primary" else -metric.good_sign
    words = "target" if role == "primary" else "margin"
    if not threshold.relative:
        return sign * threshold.magnitude, words
    if comparison.control is None:
        return None
    shown = formats.relative(sign * threshold.magnitude)
    return sign * threshold.magnitude * abs(comparison.control), f"{words} ({shown})"


def _target_words(metric: Metric, comparison: Comparison, value: float, per: str = "") -> str:
    """The target line's label: the registered target and, when it is relative, what it
    is in the chart's units ("target +3.0% = +24.6 orders per day")."""
    amount = formats.change(formats.of(metric), value) + per
    if metric.target is None or not metric.target.relative:
        return f"target {amount}"
    return f"target {formats.relative(metric.good_sign * metric.target.magnitude)} = {amount}"


def by_exposure_day(result: ReviewResult) -> SVGChart:
    """The primary effect among units first exposed up to each day, with its interval.

    Only units whose window had ended by as_of count, as in the verdict. The line pools every
    unit exposed up to a day (on the last day it is the whole look's effect before CUPED;
    under a rollout, stratified over the stages as the verdict's effect is) and
    settles as units accrue; the dots are each day alone, noisy by nature. A line that drifts
    late means the units exposed late differ from those exposed early; the verdict pools all.
    """
    metric = result.primary.metric
    style = formats.of(metric)
    scale = 100.0 if style.format == "percent" else 1.0
    alpha = result.primary.comparison.alpha
    level = f"{(1 - alpha) * 100:.3g}%"
    data = result.table.metrics[metric.name]
    days = (
        rollout.by_day(result.spec, data, alpha=alpha)
        if result.spec.rollout
        else analysis.by_day(data, alpha=alpha)
    )
    pooled = [d for d in days if d.up_to.ci_lower is not None and d.up_to.ci_upper is not None]
    alone = [d for d in days if d.that_day.effect is not None]
    shown: list[float] = [0.0]
    target = _threshold_line(metric, result.primary.comparison, "primary")
    if pooled:
        low = np.array([d.up_to.ci_lower for d in pooled], dtype=float) * scale
        high = np.array([d.up_to.ci_upper for d in pooled], dtype=float) * scale
        # the scale follows the pooled line from its third day, when it has settled a little
        settled = slice(min(2, len(pooled) - 1), None)
        shown += [*low[settled], *high[settled]]
    if target is not None:
        shown.append(target[0] * scale)
    span = max(shown) - min(shown) or 1.0
    y = svg.linear(
        min(shown) - 0.15 * span,
        max(shown) + 0.25 * span,
        f"treatment minus control\n({style.change_unit})",
        most=8,
    )
    every = _days([d.day for d in days]) if days else np.array([0.0, 1.0])
    x = svg.dates(*svg.padded(every), label="day of first exposure (UTC)")
    title = f"{metric.name}: effect among units exposed up to each day"
    page = svg.Page()
    panel = page.add(
        svg.Panel(
            x,
            y,
            220,
            title=title if len(title) <= 50 else title.replace(": ", "\n", 1),
            x_label_left=True,
        )
    )
    if pooled:
        xs = _days([d.day for d in pooled])
        middle = np.array([d.up_to.effect for d in pooled], dtype=float) * scale
        panel.band(xs, low, high, INTERVAL, 0.2)
        panel.line(xs, middle, INTERVAL, 3)
    if alone:
        values = np.array([d.that_day.effect for d in alone], dtype=float) * scale
        panel.points(_days([d.day for d in alone]), values, ZERO, size=4.6, opacity=0.6)
    panel.hrule(0, ZERO, 1.5)
    if target is not None:
        panel.hrule(target[0] * scale, TARGET, 2.3, svg.DASHED)
        words = _target_words(metric, result.primary.comparison, target[0])
        panel.text(0.01, target[0] * scale, words, TARGET, place="above", x_fraction=True, box=True)
    if days:
        page.legend = [
            svg.Entry(f"units exposed up to that day ({level} interval)", INTERVAL, under=INTERVAL),
            svg.Entry("units exposed that day alone", ZERO, kind="point", opacity=0.6),
        ]
    if pooled:
        last = pooled[-1].up_to
        assert last.effect is not None and last.ci_lower is not None
        assert last.ci_upper is not None
        effect = _effect(metric, last)
        words = formats.interval(style, last.ci_lower, last.ci_upper, estimate=last.effect)
        alt = (
            f"{metric.name} effect among units first exposed up to each day, "
            f"{pooled[0].day:%Y-%m-%d} to {pooled[-1].day:%Y-%m-%d}: {effect} "
            f"({level} interval {words}) over all {len(days)} days, before CUPED"
        )
    else:
        alt = f"{metric.name} effect by day of first exposure: no day with both arms"
    return SVGChart(page, alt)


def by_week(result: ReviewResult) -> SVGChart | None:
    """The primary effect counted in each week since exposure (the novelty check)."""
    if not result.weeks:
        return None
    metric = result.primary.metric
    style = formats.of(metric)
    scale = 100.0 if style.format == "percent" else 1.0
    unadjusted = result.analyses[metric.name].unadjusted
    whole = unadjusted.effect if metric.window is not None else None
    values = [0.0] + ([whole * scale] if whole is not None else [])
    for week in result.weeks:
        values += [v * scale for v in (week.effect, week.ci_lower, week.ci_upper) if v is not None]
    x = svg.categories([f"week {index + 1}" for index in range(len(result.weeks))])
    y = svg.linear(
        *svg.padded(values, 0.08), f"treatment minus control\n({style.change_unit})", most=7
    )
    page = svg.Page()
    panel = page.add(svg.Panel(x, y, 200, title="Novelty check: the effect by week since exposure"))
    panel.hrule(0, ZERO, 1.5)
    for index, week in enumerate(result.weeks):
        if week.effect is None:
            continue
        if week.ci_lower is not None and week.ci_upper is not None:
            panel.segment(index, week.ci_lower * scale, index, week.ci_upper * scale, INTERVAL, 6)
        panel.points([index], [week.effect * scale], INK, size=9)
    if whole is not None:
        panel.hrule(whole * scale, INTERVAL, 2.3, svg.DOTTED)
        panel.text(
            0.01,
            whole * scale,
            f"whole {metric.window}-day window: {_effect(metric, unadjusted)}",
            INTERVAL,
            place="below" if whole >= 0 else "above",
            x_fraction=True,
            box=True,
        )
    words = "; ".join(f"week {i + 1}: {_effect(metric, w)}" for i, w in enumerate(result.weeks))
    return SVGChart(page, f"{metric.name} effect by week since exposure: {words}")


def counterfactual(result: PrepostResult) -> SVGChart:
    """The primary series: a small overview of the whole history, then the weeks around
    launch in detail (actual against the counterfactual band, the daily effect and, for
    flows, the cumulative effect, each with its interval at the look's level)."""
    modelled = result.models[result.primary.metric.name]
    metric, daily = modelled.metric, result.series
    level = modelled.effect.alpha
    z = distributions.norm_ppf(1 - level / 2)
    style = formats.of(metric)
    percent = style.format == "percent"  # a daily share, drawn in %
    scale = 100.0 if percent else 1.0
    values = np.asarray(daily.values[metric.name], dtype=float) * scale
    dates = _days(daily.dates.values)
    post = dates[daily.launch :]
    launch = dates[daily.launch]
    # centred on launch: as much history before it as there is time since, four weeks at least
    shown = max(daily.launch - max(daily.post_days, 28), 0)
    per_day = f"{style.unit or metric.name} per day"
    level_unit = "% of active units" if percent else per_day
    change_unit = "percentage points" if percent else per_day
    forecast = modelled.forecast
    band = z * np.asarray(forecast.sd, dtype=float) * scale
    mean = np.asarray(forecast.mean, dtype=float) * scale
    spread_label = f"its {(1 - level) * 100:.3g}% range"
    page = svg.Page()
    overview = page.add(
        svg.Panel(
            svg.dates(dates[0], dates[-1] + 1),
            svg.linear(*svg.padded(values), most=3),
            72,
            title="The whole history (shaded: the weeks drawn below)",
            title_size=svg.SMALL,
        )
    )
    overview.rect(dates[shown], dates[-1] + 1, None, None, INTERVAL, 0.15)
    overview.line(dates, values, INK, 1)
    overview.vrule(launch, ZERO, 1.5, svg.DOTTED)
    detail = svg.dates(dates[shown], dates[-1] + 1)
    hidden = dataclasses.replace(detail, labelled=False)
    pointwise = values[daily.launch :] - mean
    target = _threshold_line(metric, result.primary.comparison, "primary")
    reach = [*(mean - band), *(mean + band), *values[shown:]]
    actual = page.add(
        svg.Panel(
            hidden,
            svg.linear(*svg.padded(reach), level_unit),
            150,
            title=f"{metric.name}: actual and without the launch",
        )
    )
    actual.band(post, mean - band, mean + band, INTERVAL, 0.2)
    actual.line(dates[shown:], values[shown:], INK, 1.5)
    actual.line(post, mean, TREATMENT, 2.8, svg.DASHED)
    actual.text(launch, 0.02, "launch ", ZERO, anchor="end", place="above", y_fraction=True)
    reach = [0.0, *(pointwise - band), *(pointwise + band)]
    reach += [target[0] * scale] if target is not None else []
    flow = metric.flow
    effect_panel = page.add(
        svg.Panel(
            hidden if flow else detail,
            svg.linear(*svg.padded(reach), change_unit),
            150,
            title="effect per day (actual minus model)",
        )
    )
    effect_panel.band(post, pointwise - band, pointwise + band, INTERVAL, 0.2)
    effect_panel.line(post, pointwise, INK, 1.7)
    if target is not None:
        effect_panel.hrule(target[0] * scale, TARGET, 2.3, svg.DASHED)
        words = _target_words(metric, result.primary.comparison, target[0], " per day")
        effect_panel.text(
            0.01, target[0] * scale, words, TARGET, place="above", x_fraction=True, box=True
        )
    panels = [actual, effect_panel]
    if flow:
        cumulative = np.cumsum(pointwise)
        ones = np.tril(np.ones((post.size, post.size)))
        covariance = forecast.cov * scale * scale
        spread = z * np.sqrt(np.clip(np.einsum("ij,jk,ik->i", ones, covariance, ones), 0, None))
        reach = [0.0, *(cumulative - spread), *(cumulative + spread)]
        total = page.add(
            svg.Panel(
                detail,
                svg.linear(*svg.padded(reach), style.unit or metric.name),
                150,
                title="cumulative effect since launch",
            )
        )
        total.band(post, cumulative - spread, cumulative + spread, INTERVAL, 0.2)
        total.line(post, cumulative, INK, 1.7)
        panels.append(total)
    for panel in panels:
        panel.vrule(launch, ZERO, 1.5, svg.DOTTED)
    for panel in panels[1:]:
        panel.hrule(0, ZERO, 1.5)
    page.legend = [
        svg.Entry("actual", INK),
        svg.Entry("without the launch (model)", TREATMENT, dash=svg.DASHED),
        svg.Entry(spread_label, INTERVAL, kind="band", opacity=0.2),
    ]
    effect = modelled.effect
    alt = (
        f"{metric.name} per day, the whole history from {daily.dates[0]:%Y-%m-%d} and in "
        f"detail from {daily.dates[shown]:%Y-%m-%d}: actual against the counterfactual, "
        f"launch on {daily.dates[daily.launch]:%Y-%m-%d}; "
        f"average effect {format_effect(metric, effect.average, group=effect.ci)} per day "
        f"({formats.interval(formats.of(metric), *effect.ci, estimate=effect.average)})"
        + (
            f"; cumulative {format_effect(metric, effect.cumulative, group=effect.cumulative_ci)}"
            if metric.flow
            else ""
        )
    )
    return SVGChart(page, alt)


def placebos(result: PrepostResult) -> SVGChart:
    """Each placebo window's average effect and interval, beside the real one (standardized)."""
    modelled = result.models[result.primary.metric.name]
    found = modelled.placebos
    daily = result.series
    real = modelled.effect
    where = len(found.effects) + 1
    labels = [f"{daily.dates[start]:%b %d}" for start in found.starts[: len(found.effects)]]
    ticks = [(float(i), label) for i, label in enumerate(labels)] + [(float(where), "launch")]
    reach = [0.0, real.ci[0] / real.sd, real.ci[1] / real.sd]
    reach += [v for e in found.effects for v in (e.ci[0] / e.sd, e.ci[1] / e.sd)]
    page = svg.Page()
    panel = page.add(
        svg.Panel(
            svg.Axis(-0.6, where + 0.6, ticks),
            svg.linear(*svg.padded(reach), "effect in standard errors\n(0: no effect)", most=7),
            200,
            title=f"Placebo launches: {found.excluded} of {found.count} show an effect",
        )
    )
    panel.hrule(0, ZERO, 1.5)
    for index, effect in enumerate(found.effects):
        panel.segment(index, effect.ci[0] / effect.sd, index, effect.ci[1] / effect.sd, ZERO, 4.6)
        panel.points([index], [effect.z], ZERO, size=6)
    panel.segment(where, real.ci[0] / real.sd, where, real.ci[1] / real.sd, TREATMENT, 6)
    panel.points([where], [real.z], INK, shape="square", size=9)
    alt = (
        f"{found.count} placebo windows, {found.excluded} with an interval excluding 0; the "
        f"real effect is {real.z:+.2f} standard deviations"
        + (f", placebo rank p {found.rank_p:.2f}" if found.rank_p is not None else "")
    )
    return SVGChart(page, alt)


def funnel(result: ReviewResult | PrepostResult | AdoptionReview) -> SVGChart | None:
    """The adoption funnel: each step's share of eligible units with its interval and its
    threshold (None without an adoption block)."""
    found = result.adoption
    if found is None:
        return None
    block, steps = found.block, found.funnel
    bars: list[tuple[str, float, float | None, float | None, float | None]] = [
        ("eligible", 1.0, None, None, None)
    ]
    shares: list[tuple[str, Share | None, float]] = (
        [("exposed", steps.exposed, block.thresholds.exposed)] if steps.exposed else []
    )
    shares += [("tried", steps.tried, block.thresholds.tried)]
    shares += [("repeat", steps.repeat, block.thresholds.repeat)]
    for name, share, threshold in shares:
        assert share is not None
        bars.append((name, share.value or 0.0, share.lower, share.upper, threshold))
    page = svg.Page()
    panel = page.add(
        svg.Panel(
            svg.linear(0, 115, "% of eligible units (dashed: the registered threshold)"),
            svg.categories([name for name, *_ in bars], inverted=True),
            40 * len(bars),
            title=f"Adoption: {message.DIAGNOSES[steps.diagnosis]}",
        )
    )
    for index, (step, value, low, high, line) in enumerate(bars):
        colour = INTERVAL if step != "eligible" else ZERO
        panel.rect(0, value * 100, index - 0.4, index + 0.4, colour, 0.8)
        if low is not None and high is not None:
            panel.segment(low * 100, index, high * 100, index, INK, 3)
        if line is not None:
            panel.segment(line * 100, index - 0.4, line * 100, index + 0.4, TARGET, 3, svg.DASHED)
            words = f"{value:.1%} ({'met' if value >= line else 'short of'} {line:.0%})"
            end = max(value, line, high or 0.0)
            if end <= 0.7:  # beside the bar, or inside it when it is long
                panel.text(end * 100 + 1.5, index, words)
            else:
                panel.text(1.5, index, words, "#ffffff")
    words = "; ".join(
        f"{step} {value:.1%}" + (f" (threshold {line:.0%})" if line else "")
        for step, value, _, _, line in bars[1:]
    )
    return SVGChart(
        page,
        f"Adoption funnel of {steps.eligible:,} eligible units: {words}; "
        f"{message.DIAGNOSES[steps.diagnosis]}",
    )


def retention(result: ReviewResult | PrepostResult | AdoptionReview) -> SVGChart | None:
    """Weekly retention of adopters (tried in week 1) and the others active in week 1."""
    found = result.adoption
    if found is None or not found.retention.weeks:
        return None
    kept = found.retention
    weeks = [float(w) for w in kept.weeks]
    x = svg.Axis(weeks[0] - 0.3, weeks[-1] + 0.3, [(w, f"week {w:.0f}") for w in weeks])
    page = svg.Page()
    panel = page.add(
        svg.Panel(
            x,
            svg.linear(0, 100, "% active that week"),
            190,
            title="Who stays active after week 1 (association, not effect)",
        )
    )
    for shares, colour, marker, label in (
        (
            kept.adopters,
            TREATMENT,
            "square",
            f"adopters (tried in week 1, n = {kept.adopters[0].total:,})",
        ),
        (kept.others, CONTROL, "circle", f"others active in week 1 (n = {kept.others[0].total:,})"),
    ):
        values = [(s.value or 0.0) * 100 for s in shares]
        low = [(s.lower or 0.0) * 100 for s in shares]
        high = [(s.upper or 0.0) * 100 for s in shares]
        panel.band(weeks, low, high, colour, 0.15)
        panel.line(weeks, values, colour, 2, marker=marker, marker_size=9)
        page.legend.append(svg.Entry(label, colour, marker=marker))
    last = len(kept.weeks) - 1
    alt = (
        f"Share active each week from week 2 to week {kept.weeks[-1]}: adopters "
        f"{(kept.adopters[last].value or 0):.0%} and others {(kept.others[last].value or 0):.0%} "
        f"in week {kept.weeks[-1]}"
    )
    return SVGChart(page, alt)
