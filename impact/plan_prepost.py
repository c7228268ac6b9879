"""Before launch: what can a before/after review of this spec detect?

A prepost review has no arms to size: what it can see depends on how well the pre-period
forecasts itself. ``impact plan SPEC`` on a prepost spec reads the series up to launch (the
history exists before the launch does), fits each decision metric's registered model on the
pre-period exactly as the review will, and forecasts the final look's post-period (days not
in yet before launch are left out, with a warning: a plan is made before the history is
complete). The standard deviation of the average effect per day over that period, ``sd``,
gives:

- the primary's power for its target at the final look's level, and its minimum detectable
  effect ``(z_{1-level/2} + z_{power}) sd`` (absolute, and relative to the counterfactual);
- each guardrail's chance to show it stayed within its margin when nothing changed,
  ``Phi(margin / sd - z_{1-level/2})``;
- whether the placebo launches the review runs can rank a real effect at alpha at all;
- whether the model's one-day forecast errors repeat (the review's residuals check, which
  would make every review invalid: a pattern left out, such as the day of the week).

The forecast is the model's: if the model is wrong, the review's own checks (calibration,
residuals, placebos) say so after launch; this plan assumes it is right. The control
series' values after launch are not known yet: the pre-period's values a whole number of
seasonal periods back stand in (:func:`stand_in`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from impact import formats, prepost, series
from impact.spec import LaunchSpec, Metric, format_duration
from impact.stats import distributions, sequential
from impact.stats import power as power_module
from impact.stats import prepost as model
from impact.stats import prepost_checks as model_checks

__all__ = ["MetricReach", "PrepostPlan", "lines", "plan", "stand_in"]


@dataclass(frozen=True)
class MetricReach:
    """What the final look can see of one decision metric.

    Attributes:
        metric: the metric.
        role: "primary" or "guardrail".
        baseline: the counterfactual's mean per day over the final look's post-period.
        sd: the standard deviation of the average effect per day at the final look.
        threshold: the target or margin in the metric's units per day.
        power: for the primary, the power for its target; for a guardrail, the chance to
            show it stayed within its margin when nothing changed.
        detectable: the minimum detectable effect per day at the spec's power (primary).
    """

    metric: Metric
    role: str
    baseline: float
    sd: float
    threshold: float
    power: float
    detectable: float


@dataclass(frozen=True)
class PrepostPlan:
    """The plan for a prepost spec: its final look, its level and what each metric can see."""

    pre_days: int
    post_days: int
    final_level: float
    placebos: int
    metrics: list[MetricReach]
    warnings: list[str]


def plan(spec: LaunchSpec, data_source: str | None = None) -> PrepostPlan:
    """Fit each decision metric's model on the pre-period and size the final look.

    Raises:
        DataError, DataNotReady: the pre-period cannot be read (as a review would say).
    """
    launch = dt.datetime.combine(spec.launch_date, dt.time(), tzinfo=dt.UTC)
    daily = series.load(spec, launch, data_source, partial=True)
    series.require_history(spec, daily)
    missing = (spec.launch_date - daily.dates[-1].date()).days - 1  # days not in yet
    final = spec.reviews[-1]
    fractions = [days / final for days in spec.reviews]
    level = sequential.split_levels(fractions, spec.decision.alpha)[-1]
    z = distributions.norm_ppf(1 - level / 2)
    wanted = spec.decision.power
    found = []
    placebos = 0
    repeats: list[str] = []
    for metric in (spec.metrics.primary, *spec.metrics.guardrails):
        assert metric is not None
        exog = None
        if metric.controls:
            past = np.column_stack([daily.controls[c] for c in metric.controls])
            exog = np.vstack([past, stand_in(past, final, metric.seasonality or 1)])
        fitted = model.fit(
            daily.values[metric.name], exog, seasonality=metric.seasonality, trend=metric.trend
        )
        repeats.extend(_repeats(metric, fitted))
        forecast = model.forecast(fitted, daily.launch, final)
        sd = float(forecast.cov.sum()) ** 0.5 / final
        baseline = float(forecast.mean.mean())
        primary = metric is spec.metrics.primary
        threshold = metric.target if primary else metric.margin
        assert threshold is not None
        size = threshold.magnitude * abs(baseline) if threshold.relative else threshold.magnitude
        if primary:
            min_fit = max(model.MIN_FIT_DAYS, 2 * (fitted.seasonality or 0))
            placebos = len(model_checks.placebo_starts(fitted.days, final, min_fit=min_fit))
            reach = power_module.achieved_power(se=sd, effect=size, alpha=level) if sd else 1.0
        else:
            reach = float(distributions.norm_cdf(size / sd - z)) if sd else 1.0
        detectable = (z + distributions.norm_ppf(wanted)) * sd
        role = "primary" if primary else "guardrail"
        found.append(MetricReach(metric, role, baseline, sd, size, reach, detectable))
    warnings = repeats + _warnings(spec, found, placebos)
    if missing > 0:
        warnings.insert(
            0,
            f"the series ends on {daily.dates[-1]:%Y-%m-%d}, {missing} day"
            f"{'s' if missing > 1 else ''} before launch: this plan is fit on the history there "
            "is; the review will read every day up to launch",
        )
    return PrepostPlan(daily.launch, final, level, placebos, found, warnings)


def _repeats(metric: Metric, fitted: model.Fit) -> list[str]:
    """The review's residuals check, run on the pre-period now: one-day forecast errors that
    repeat make every review of this spec invalid, and only a change before launch avoids
    it."""
    found = model_checks.residual_autocorrelation(fitted)
    if found is None or found.p_value >= prepost.RESIDUAL_ALPHA:
        return []
    weekly = prepost.weekly_left_out(metric, found)
    fix = "register seasonality: 7d" if weekly else "register seasonality, a trend or a control"
    return [
        f"{metric.name}: the model's one-day forecast errors repeat (autocorrelation "
        f"{found.worst:+.2f} at {found.worst_lag} days): the review will find the model "
        f"leaves a pattern out and be invalid; {fix} before launch"
    ]


def stand_in(past: np.ndarray, days: int, period: int) -> np.ndarray:
    """The controls' values for ``days`` days after launch, before they exist: the same
    stretch of the pre-period one whole number of seasonal periods back (the same weekdays
    for a weekly pattern). A constant stand-in (the last value) would be out of pattern and
    overstate the forecast's spread about threefold on the demo.

    Examples:
        >>> stand_in(np.arange(10.0).reshape(-1, 1), 3, 2).ravel().tolist()
        [6.0, 7.0, 8.0]
    """
    back = -(-days // period) * period
    rows = past.shape[0]
    if back > rows:
        back = rows - rows % period or rows
    index = [rows - back + (j % back) for j in range(days)]
    return past[index]


def _warnings(spec: LaunchSpec, found: list[MetricReach], placebos: int) -> list[str]:
    wanted = spec.decision.power
    warnings = []
    for item in found:
        if item.power >= wanted:
            continue
        if item.role == "primary":
            warnings.append(
                f"{item.metric.name}: {item.power:.0%} power for the target, below "
                f"decision.power {wanted:.0%}; the pre-period's noise hides effects under "
                f"{formats.value(formats.of(item.metric), item.detectable)} a day: add control "
                "series that track it, register "
                "its seasonality, or widen the target"
            )
        else:
            warnings.append(
                f"{item.metric.name}: only a {item.power:.0%} chance to show it stayed within "
                f"its margin even if nothing changed; widen the margin or add control series"
            )
    alpha = spec.decision.alpha
    if placebos == 0:
        warnings.append(
            f"the pre-period holds no placebo launch of {format_duration(spec.reviews[-1])}: "
            "the model's calibration cannot be checked, so a claim rests on the model alone; "
            "a longer data.pre_period allows the check"
        )
    elif placebos + 1 < 1 / alpha:
        warnings.append(
            f"the pre-period holds only {placebos} placebo launches: a real effect must be "
            f"beyond every one of them to be claimed (rank p at least {1 / (placebos + 1):.2f}); "
            "a longer data.pre_period helps"
        )
    return warnings


def lines(spec: LaunchSpec, found: PrepostPlan) -> list[str]:
    """What ``impact plan`` prints for a prepost spec."""
    reviews = ", ".join(format_duration(days) for days in spec.reviews)
    said = [
        f"{spec.id}: before/after, a model of the {found.pre_days:,} days before launch; "
        f"reviews at {reviews}; the final look's level is {found.final_level:.4g} (alpha "
        f"{spec.decision.alpha:g} spent over the looks)"
    ]
    for item in found.metrics:
        style = formats.of(item.metric)
        share = f" ({item.detectable / abs(item.baseline):.1%} of it)" if item.baseline else ""
        sd = formats.value(style, item.sd)
        if item.role == "primary":
            said.append(
                f"  primary {item.metric.name}: forecast {formats.value(style, item.baseline)} "
                f"a day over the {found.post_days} days; sd of the average effect {sd}; target "
                f"{formats.change(style, item.threshold)} a day at {item.power:.1%} power; "
                f"detectable at {spec.decision.power:.0%} power: "
                f"{formats.value(style, item.detectable)} a day{share}"
            )
        else:
            said.append(
                f"  guardrail {item.metric.name}: sd of the average effect {sd}; margin "
                f"{formats.change(style, item.threshold)}: {item.power:.1%} chance to show it "
                "held if nothing changed"
            )
    said += [f"  warning: {warning}" for warning in found.warnings]
    if not found.warnings:
        said.append("  the final review can see the target and every margin")
    return said
