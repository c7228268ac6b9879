"""Matplotlib figures in one house style.

Figures are built on ``matplotlib.figure.Figure`` (not pyplot), so a notebook shows each
exactly once and nothing leaks between reviews. Colours come from the Okabe-Ito palette,
which colour-blind readers can tell apart; every status is also written as text.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from impact import analysis, formats, message, rollout
from impact.adoption_review import AdoptionReview
from impact.prepost import PrepostResult
from impact.review import ReviewResult
from impact.spec import Metric
from impact.stats import distributions
from impact.stats.adoption import Share
from impact.stats.compare import Comparison
from impact.verdict import MetricVerdict, format_effect

__all__ = [
    "DPI",
    "Chart",
    "by_exposure_day",
    "by_week",
    "counterfactual",
    "effects",
    "funnel",
    "placebos",
    "retention",
]

DPI = 110
# Figures are drawn for a phone's width: 5 inches at 110 dpi is 550 pixels, shown at natural
# size on a laptop and at about 0.6 of it on a 375-pixel phone, where 9.5-point text is still
# about 9 pixels high (tests/test_browser.py measures it).
WIDTH = 5.0
SMALL = 9.5  # points: ticks, axis labels, legends, annotations
TITLE = 10.5
INK = "#1b1b1b"
INTERVAL = "#0072B2"  # blue
TARGET = "#009E73"  # bluish green
MARGIN = "#D55E00"  # vermillion
ZERO = "#777777"
CONTROL = "#0072B2"  # blue, circles
TREATMENT = "#E69F00"  # orange, squares
LABEL_BOX = {"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1}  # over data


class Chart:
    """A figure with its alt text; Jupyter shows it as an embedded PNG (no backend needed).

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

    def html(self) -> str:
        """A figure element embedding the PNG, with the alt text."""
        return self._html(base64.b64encode(self.png()).decode("ascii"))

    def _repr_mimebundle_(self, **_: Any) -> dict[str, str]:
        """The HTML that embeds the PNG (so the PNG is stored once) and the alt text as
        plain text. No other ``_repr_*_`` method: IPython would store each beside it."""
        data = base64.b64encode(self.png()).decode("ascii")
        return {"text/html": self._html(data), "text/plain": f"[chart] {self.alt}"}

    def __repr__(self) -> str:
        return f"[chart] {self.alt}"

    def _html(self, data: str) -> str:
        alt = html.escape(self.alt, quote=True)
        return (
            f'<figure class="impact-figure" style="margin:0">'
            f'<img src="data:image/png;base64,{data}" alt="{alt}" style="max-width:100%" '
            f'data-smallest-text="{self.smallest_text:.1f}">'
            f"</figure>"
        )


def _plain(axes: Any) -> None:
    """The house style of a chart's axes: ink-coloured small ticks, no top or right frame."""
    axes.tick_params(colors=INK, labelsize=SMALL)
    axes.spines[["top", "right"]].set_visible(False)


def _dates(axes: Any) -> None:
    """Few, short date labels (a phone has room for about five)."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=5)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _style(figure: Figure) -> None:
    for axes in figure.axes:
        axes.spines[["top", "right", "left"]].set_visible(False)
        axes.tick_params(colors=INK, labelsize=SMALL)
        axes.set_yticks([])


def effects(result: ReviewResult | PrepostResult) -> Chart:
    """Each deciding metric's effect and interval against zero and its target or margin.

    One panel per metric, in the metric's units (treatment minus control; percentage points
    for proportions): the interval at the look's level, the estimate, zero, and the
    pre-registered target (primary) or margin (guardrails), with the status written beside.
    """
    judged: list[tuple[str, MetricVerdict]] = [("primary", result.primary)]
    judged += [("guardrail", g) for g in result.guardrails]
    styles = {formats.of(item.metric) for _, item in judged}
    shared = len(styles) == 1  # metrics in one unit are compared on one axis
    figure = Figure(figsize=(WIDTH, 1.5 * len(judged) + 0.7), dpi=DPI, layout="constrained")
    panels = figure.subplots(len(judged), 1, squeeze=False, sharex=shared)[:, 0]
    everything: list[float] = []
    for axes, (role, item) in zip(panels, judged, strict=True):
        metric, comparison = item.metric, item.comparison
        style = formats.of(metric)
        scale = 100.0 if style.format == "percent" else 1.0
        unit = style.change_unit
        reference: list[float] = [0.0]
        line = _threshold_line(metric, comparison, role)
        if line is not None:
            value, words = line
            colour = TARGET if role == "primary" else MARGIN
            axes.axvline(value * scale, color=colour, linestyle="--", linewidth=1.5)
            axes.annotate(
                words,
                (value * scale, 0.92),
                xycoords=("data", "axes fraction"),
                color=colour,
                fontsize=SMALL,
                ha="center",
            )
            reference.append(value * scale)
        axes.axvline(0, color=ZERO, linewidth=1)
        if comparison.ci_lower is not None and comparison.ci_upper is not None:
            low, high = comparison.ci_lower * scale, comparison.ci_upper * scale
            axes.hlines(0, low, high, color=INTERVAL, linewidth=4)
            reference += [low, high]
        if comparison.effect is not None:
            axes.plot([comparison.effect * scale], [0], "o", color=INK, markersize=6)
            reference.append(comparison.effect * scale)
        everything += reference
        span = max(reference) - min(reference) or 1.0
        axes.set_xlim(min(reference) - 0.25 * span, max(reference) + 0.25 * span)
        axes.set_ylim(-1, 1)
        effect = _effect(metric, comparison)
        axes.set_title(
            f"{metric.name} ({role}): {effect}, {item.label}",
            loc="left",
            fontsize=TITLE,
            color=INK,
        )
        better = "better →" if metric.good_sign > 0 else "← better"
        axes.set_title(better, loc="right", fontsize=SMALL, color=TARGET)
        difference = (
            "actual minus model, per day"
            if isinstance(result, PrepostResult)
            else "treatment minus control"
        )
        axes.set_xlabel(f"{difference} ({unit})", fontsize=SMALL, color=INK)
    if shared:
        span = max(everything) - min(everything) or 1.0
        panels[0].set_xlim(min(everything) - 0.2 * span, max(everything) + 0.2 * span)
    level = (1 - result.primary.comparison.alpha) * 100
    figure.suptitle(
        f"Effects with {level:.3g}% intervals against the registered thresholds",
        fontsize=TITLE,
        color=INK,
        x=0.01,
        ha="left",
    )
    _style(figure)
    alt = "; ".join(f"{item.metric.name} ({role}): {item.label}" for role, item in judged)
    return Chart(figure, f"Effects with {level:.3g}% intervals. {alt}.")


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


def by_exposure_day(result: ReviewResult) -> Chart:
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
    figure = Figure(figsize=(WIDTH, 3.6), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    pooled = [d for d in days if d.up_to.ci_lower is not None and d.up_to.ci_upper is not None]
    alone = [d for d in days if d.that_day.effect is not None]
    shown: list[float] = [0.0]
    if pooled:
        xs = np.array([d.day for d in pooled], dtype="datetime64[D]")
        low = np.array([d.up_to.ci_lower for d in pooled], dtype=float) * scale
        high = np.array([d.up_to.ci_upper for d in pooled], dtype=float) * scale
        middle = np.array([d.up_to.effect for d in pooled], dtype=float) * scale
        axes.fill_between(xs, low, high, color=INTERVAL, alpha=0.2, linewidth=0)
        axes.plot(
            xs,
            middle,
            color=INTERVAL,
            linewidth=2,
            label=f"units exposed up to that day ({level} interval)",
        )
        # the scale follows the pooled line from its third day, when it has settled a little
        settled = slice(min(2, len(pooled) - 1), None)
        shown += [*low[settled], *high[settled]]
    if alone:
        xs = np.array([d.day for d in alone], dtype="datetime64[D]")
        values = np.array([d.that_day.effect for d in alone], dtype=float) * scale
        axes.plot(
            xs,
            values,
            "o",
            color=ZERO,
            markersize=3,
            alpha=0.6,
            label="units exposed that day alone",
        )
    axes.axhline(0, color=ZERO, linewidth=1)
    target = _threshold_line(metric, result.primary.comparison, "primary")
    if target is not None:
        axes.axhline(target[0] * scale, color=TARGET, linestyle="--", linewidth=1.5)
        axes.annotate(
            _target_words(metric, result.primary.comparison, target[0]),
            (0.01, target[0] * scale),
            xycoords=("axes fraction", "data"),
            color=TARGET,
            fontsize=SMALL,
            va="bottom",
            bbox=LABEL_BOX,
        )
        shown.append(target[0] * scale)
    span = max(shown) - min(shown) or 1.0
    axes.set_ylim(min(shown) - 0.15 * span, max(shown) + 0.25 * span)
    title = f"{metric.name}: effect among units exposed up to each day"
    axes.set_title(
        title if len(title) <= 50 else title.replace(": ", "\n", 1),
        loc="left",
        fontsize=TITLE,
        color=INK,
    )
    axes.set_ylabel(f"treatment minus control\n({style.change_unit})", fontsize=SMALL, color=INK)
    axes.set_xlabel("day of first exposure (UTC)", fontsize=SMALL, color=INK, loc="left")
    _plain(axes)
    if days:
        figure.legend(fontsize=SMALL, frameon=False, loc="outside lower left")
    _dates(axes)
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
    return Chart(figure, alt)


def by_week(result: ReviewResult) -> Chart | None:
    """The primary effect counted in each week since exposure (the novelty check)."""
    if not result.weeks:
        return None
    metric = result.primary.metric
    style = formats.of(metric)
    scale = 100.0 if style.format == "percent" else 1.0
    unit = style.change_unit
    figure = Figure(figsize=(WIDTH, 2.4), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    labels = [f"week {index + 1}" for index in range(len(result.weeks))]
    for index, week in enumerate(result.weeks):
        if week.effect is None:
            continue
        if week.ci_lower is not None and week.ci_upper is not None:
            axes.vlines(
                index, week.ci_lower * scale, week.ci_upper * scale, color=INTERVAL, linewidth=4
            )
        axes.plot([index], [week.effect * scale], "o", color=INK, markersize=6)
    axes.axhline(0, color=ZERO, linewidth=1)
    unadjusted = result.analyses[metric.name].unadjusted
    whole = unadjusted.effect
    if whole is not None and metric.window is not None:
        axes.axhline(whole * scale, color=INTERVAL, linestyle=":", linewidth=1.5)
        axes.annotate(
            f"whole {metric.window}-day window: {_effect(metric, unadjusted)}",
            (0.01, whole * scale),
            xycoords=("axes fraction", "data"),
            color=INTERVAL,
            fontsize=SMALL,
            va="top" if whole >= 0 else "bottom",
            bbox=LABEL_BOX,
        )
    axes.set_xticks(range(len(labels)), labels)
    axes.set_xlim(-0.6, len(labels) - 0.4)
    axes.set_ylabel(f"treatment minus control\n({unit})", fontsize=SMALL, color=INK)
    axes.set_title(
        "Novelty check: the effect by week since exposure",
        loc="left",
        fontsize=TITLE,
        color=INK,
    )
    _plain(axes)
    words = "; ".join(f"week {i + 1}: {_effect(metric, w)}" for i, w in enumerate(result.weeks))
    return Chart(figure, f"{metric.name} effect by week since exposure: {words}")


def counterfactual(result: PrepostResult) -> Chart:
    """The primary series: a small overview of the whole history, then the weeks around
    launch in detail (actual against the counterfactual band, the daily effect and, for
    flows, the cumulative effect, each with its interval at the look's level)."""
    modelled = result.models[result.primary.metric.name]
    metric, daily = modelled.metric, result.series
    level = modelled.effect.alpha
    z = distributions.norm_ppf(1 - level / 2)
    values = daily.values[metric.name]
    dates = np.array(daily.dates.values, dtype="datetime64[D]")
    post = dates[daily.launch :]
    # centred on launch: as much history before it as there is time since, four weeks at least
    shown = max(daily.launch - max(daily.post_days, 28), 0)
    style = formats.of(metric)
    per_day = f"{style.unit or metric.name} per day"
    forecast = modelled.forecast
    panels = 3 if metric.flow else 2
    figure = Figure(figsize=(WIDTH, 2.2 * panels + 2.0), dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(panels + 1, 1, height_ratios=[0.55] + [1.0] * panels)
    overview = figure.add_subplot(grid[0])
    first = figure.add_subplot(grid[1])
    axes = [first, *[figure.add_subplot(grid[i + 2], sharex=first) for i in range(panels - 1)]]
    overview.plot(dates, values, color=INK, linewidth=0.6)
    overview.axvspan(dates[shown], dates[-1], color=INTERVAL, alpha=0.15, linewidth=0)
    overview.axvline(dates[daily.launch], color=ZERO, linewidth=1, linestyle=":")
    overview.set_title(
        "The whole history (shaded: the weeks drawn below)",
        loc="left",
        fontsize=SMALL,
        color=INK,
    )
    overview.yaxis.set_major_locator(mticker.MaxNLocator(2))
    _plain(overview)
    _dates(overview)
    band = z * forecast.sd
    spread_label = f"its {(1 - level) * 100:.3g}% range"
    axes[0].fill_between(
        post,
        forecast.mean - band,
        forecast.mean + band,
        color=INTERVAL,
        alpha=0.2,
        linewidth=0,
        label=spread_label,
    )
    axes[0].plot(dates[shown:], values[shown:], color=INK, linewidth=1.0, label="actual")
    axes[0].plot(
        post,
        forecast.mean,
        color=TREATMENT,
        linestyle="--",
        linewidth=1.8,
        zorder=3,
        label="without the launch (model)",
    )
    axes[0].set_title(
        f"{metric.name}: actual and without the launch", loc="left", fontsize=TITLE, color=INK
    )
    axes[0].set_ylabel(per_day, fontsize=SMALL, color=INK)
    handles, labels = axes[0].get_legend_handles_labels()
    order = [labels.index(n) for n in ("actual", "without the launch (model)", spread_label)]
    figure.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        fontsize=SMALL,
        frameon=False,
        loc="outside lower left",
        ncols=2,
    )
    pointwise = values[daily.launch :] - forecast.mean
    axes[1].fill_between(
        post, pointwise - band, pointwise + band, color=INTERVAL, alpha=0.2, linewidth=0
    )
    axes[1].plot(post, pointwise, color=INK, linewidth=1.1)
    axes[1].set_title("effect per day (actual minus model)", loc="left", fontsize=TITLE, color=INK)
    axes[1].set_ylabel(per_day, fontsize=SMALL, color=INK)
    target = _threshold_line(metric, result.primary.comparison, "primary")
    if target is not None:
        axes[1].axhline(target[0], color=TARGET, linestyle="--", linewidth=1.5)
        axes[1].annotate(
            _target_words(metric, result.primary.comparison, target[0], " per day"),
            (0.01, target[0]),
            xycoords=("axes fraction", "data"),
            color=TARGET,
            fontsize=SMALL,
            va="bottom",
            bbox=LABEL_BOX,
        )
    if metric.flow:
        cumulative = np.cumsum(pointwise)
        ones = np.tril(np.ones((post.size, post.size)))
        spread = z * np.sqrt(np.clip(np.einsum("ij,jk,ik->i", ones, forecast.cov, ones), 0, None))
        axes[2].fill_between(
            post, cumulative - spread, cumulative + spread, color=INTERVAL, alpha=0.2, linewidth=0
        )
        axes[2].plot(post, cumulative, color=INK, linewidth=1.1)
        axes[2].set_title("cumulative effect since launch", loc="left", fontsize=TITLE, color=INK)
        axes[2].set_ylabel(style.unit or metric.name, fontsize=SMALL, color=INK)
    for panel in axes:
        panel.axvline(dates[daily.launch], color=ZERO, linewidth=1, linestyle=":")
        _plain(panel)
    for panel in axes[:-1]:
        panel.tick_params(labelbottom=False)
    axes[0].annotate(
        "launch",
        (dates[daily.launch], 0.02),
        xycoords=("data", "axes fraction"),
        color=ZERO,
        fontsize=SMALL,
        ha="right",
    )
    for panel in axes[1:]:
        panel.axhline(0, color=ZERO, linewidth=1)
    axes[0].set_xlim(dates[shown], dates[-1] + np.timedelta64(1, "D"))
    _dates(axes[-1])
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
    return Chart(figure, alt)


def placebos(result: PrepostResult) -> Chart:
    """Each placebo window's average effect and interval, beside the real one (standardized)."""
    modelled = result.models[result.primary.metric.name]
    found = modelled.placebos
    daily = result.series
    figure = Figure(figsize=(WIDTH, 2.8), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    for index, effect in enumerate(found.effects):
        axes.vlines(
            index, effect.ci[0] / effect.sd, effect.ci[1] / effect.sd, color=ZERO, linewidth=3
        )
        axes.plot([index], [effect.z], "o", color=ZERO, markersize=4)
    real = modelled.effect
    where = len(found.effects) + 1
    axes.vlines(where, real.ci[0] / real.sd, real.ci[1] / real.sd, color=TREATMENT, linewidth=4)
    axes.plot([where], [real.z], "s", color=INK, markersize=6)
    labels = [f"{daily.dates[start]:%b %d}" for start in found.starts[: len(found.effects)]]
    axes.set_xticks(
        [*range(len(found.effects)), where], [*labels, "launch"], rotation=60, fontsize=SMALL
    )
    axes.axhline(0, color=ZERO, linewidth=1)
    axes.set_ylabel("effect in standard errors\n(0: no effect)", fontsize=SMALL, color=INK)
    axes.set_title(
        f"Placebo launches: {found.excluded} of {found.count} show an effect",
        loc="left",
        fontsize=TITLE,
        color=INK,
    )
    _plain(axes)
    alt = (
        f"{found.count} placebo windows, {found.excluded} with an interval excluding 0; the "
        f"real effect is {real.z:+.2f} standard deviations"
        + (f", placebo rank p {found.rank_p:.2f}" if found.rank_p is not None else "")
    )
    return Chart(figure, alt)


def funnel(result: ReviewResult | PrepostResult | AdoptionReview) -> Chart | None:
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
    figure = Figure(figsize=(WIDTH, 0.55 * len(bars) + 1.0), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    for index, (step, value, low, high, line) in enumerate(bars):
        axes.barh(index, value * 100, color=INTERVAL if step != "eligible" else ZERO, alpha=0.8)
        if low is not None and high is not None:
            axes.hlines(index, low * 100, high * 100, color=INK, linewidth=2)
        if line is not None:
            axes.vlines(
                line * 100, index - 0.4, index + 0.4, color=TARGET, linewidth=2, linestyle="--"
            )
            met = value >= line
            axes.annotate(
                f"{value:.1%} ({'met' if met else 'short of'} {line:.0%})",
                (max(value, line) * 100 + 1, index),
                va="center",
                fontsize=SMALL,
                color=INK,
            )
    axes.set_yticks(range(len(bars)), [name for name, *_ in bars])
    axes.invert_yaxis()
    axes.set_xlim(0, 115)
    axes.set_xlabel(
        "% of eligible units (dashed: the registered threshold)", fontsize=SMALL, color=INK
    )
    axes.set_title(
        f"Adoption: {message.DIAGNOSES[steps.diagnosis]}",
        loc="left",
        fontsize=TITLE,
        color=INK,
    )
    _plain(axes)
    words = "; ".join(
        f"{step} {value:.1%}" + (f" (threshold {line:.0%})" if line else "")
        for step, value, _, _, line in bars[1:]
    )
    return Chart(
        figure,
        f"Adoption funnel of {steps.eligible:,} eligible units: {words}; "
        f"{message.DIAGNOSES[steps.diagnosis]}",
    )


def retention(result: ReviewResult | PrepostResult | AdoptionReview) -> Chart | None:
    """Weekly retention of adopters (tried in week 1) and the others active in week 1."""
    found = result.adoption
    if found is None or not found.retention.weeks:
        return None
    kept = found.retention
    figure = Figure(figsize=(WIDTH, 3.0), dpi=DPI, layout="constrained")
    axes = figure.subplots()
    for shares, colour, marker, label in (
        (
            kept.adopters,
            TREATMENT,
            "s",
            f"adopters (tried in week 1, n = {kept.adopters[0].total:,})",
        ),
        (kept.others, CONTROL, "o", f"others active in week 1 (n = {kept.others[0].total:,})"),
    ):
        values = np.array([(s.value or 0.0) * 100 for s in shares])
        low = np.array([(s.lower or 0.0) * 100 for s in shares])
        high = np.array([(s.upper or 0.0) * 100 for s in shares])
        axes.fill_between(kept.weeks, low, high, color=colour, alpha=0.15, linewidth=0)
        axes.plot(kept.weeks, values, marker=marker, color=colour, label=label, linewidth=1.3)
    axes.set_xticks(list(kept.weeks), [f"week {w}" for w in kept.weeks])
    axes.set_ylabel("% active that week", fontsize=SMALL, color=INK)
    axes.set_ylim(0, 100)
    axes.set_title(
        "Who stays active after week 1 (association, not effect)",
        loc="left",
        fontsize=TITLE,
        color=INK,
    )
    axes.legend(fontsize=SMALL, frameon=False, loc="lower left")
    _plain(axes)
    last = len(kept.weeks) - 1
    alt = (
        f"Share active each week from week 2 to week {kept.weeks[-1]}: adopters "
        f"{(kept.adopters[last].value or 0):.0%} and others {(kept.others[last].value or 0):.0%} "
        f"in week {kept.weeks[-1]}"
    )
    return Chart(figure, alt)
