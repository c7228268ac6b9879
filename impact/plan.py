"""Before launch: is the review horizon long enough to see the target and the margins?

``impact plan SPEC --daily-units N`` assumes N eligible units exposed per day from launch,
splits them as ``data.split`` says, and asks for each decision metric how many units and days
the final review needs:

- the primary metric, to detect its target with ``decision.power`` at the final look's level
  (Lan-DeMets O'Brien-Fleming spending over the planned looks);
- each guardrail, to show it stayed within its margin (a true effect of 0) with power
  1 - beta / (G + 1), so that all G guardrails and the primary hold together.

Days needed = accrual days + the metric's window (the last unit must also finish its window).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from impact.errors import SpecError
from impact.spec import LaunchSpec, Metric, format_duration
from impact.stats import power as power_module
from impact.stats import sequential

__all__ = ["MetricPlan", "Plan", "plan"]


@dataclass(frozen=True)
class MetricPlan:
    """What one metric needs.

    Attributes:
        metric: the metric.
        role: "primary" or "guardrail".
        effect: the effect planned for, in metric units (None when it cannot be planned).
        power: the power planned for.
        units: total units needed across both arms (None when it cannot be planned).
        days: days after launch the final review needs (None when it cannot be planned).
        note: why it cannot be planned, or "".
    """

    metric: Metric
    role: str
    effect: float | None
    power: float
    units: int | None
    days: int | None
    note: str


@dataclass(frozen=True)
class Plan:
    """The plan for a spec at a daily number of units."""

    daily_units: float
    fractions: list[float]
    final_level: float
    metrics: list[MetricPlan]
    warnings: list[str]


def _variances(metric: Metric, effect: float, *, null: bool) -> tuple[float, float] | None:
    if metric.kind == "proportion":
        if metric.baseline is None:
            return None
        return power_module.proportion_variances(metric.baseline, 0.0 if null else effect)
    if metric.baseline_sd is None:
        return None
    return metric.baseline_sd**2, metric.baseline_sd**2


def _metric(
    spec: LaunchSpec, metric: Metric, role: str, wanted: float, level: float, daily: float
) -> MetricPlan:
    threshold = metric.target if role == "primary" else metric.margin
    assert threshold is not None
    if threshold.relative:
        if metric.baseline is None:
            note = "a relative threshold needs baseline to plan"
            return MetricPlan(metric, role, None, wanted, None, None, note)
        effect = threshold.magnitude * abs(metric.baseline)
    else:
        effect = threshold.magnitude
    variances = _variances(metric, effect, null=role == "guardrail")
    if variances is None:
        needed = "baseline" if metric.kind == "proportion" else "baseline_sd"
        note = f"add {needed} to plan it"
        return MetricPlan(metric, role, effect, wanted, None, None, note)
    assert spec.data.split is not None
    share = spec.data.split[spec.treatment]
    total = power_module.sample_size(
        variance_control=variances[0],
        variance_treatment=variances[1],
        effect=effect,
        alpha=level,
        power=wanted,
        treatment_share=share,
    )
    days = math.ceil(total / daily) + (metric.window or 0)
    return MetricPlan(metric, role, effect, wanted, total, days, "")


def plan(spec: LaunchSpec, *, daily_units: float) -> Plan:
    """Units and days each decision metric needs at ``daily_units`` exposures per day.

    Raises:
        SpecError: the spec is not an experiment (a prepost review has no units to plan).
    """
    if spec.design != "experiment":
        raise SpecError(
            f"{spec.path}: impact plan sizes experiments; a {spec.design} review has no arms to "
            "plan. What it can detect depends on the pre-period's noise: the report's model "
            "checks show it"
        )
    primary = spec.metrics.primary
    assert primary is not None
    window = primary.window or 0
    final = spec.reviews[-1]
    fractions = [max(days - window, 0) / max(final - window, 1) for days in spec.reviews]
    level = sequential.nominal_levels(fractions, spec.decision.alpha)[-1]
    beta = 1 - spec.decision.power
    guardrail_power = 1 - beta / (len(spec.metrics.guardrails) + 1)
    plans = [_metric(spec, primary, "primary", spec.decision.power, level, daily_units)]
    plans += [
        _metric(spec, g, "guardrail", guardrail_power, level, daily_units)
        for g in spec.metrics.guardrails
    ]
    warnings = [
        f"{p.metric.name} needs {p.days} days but the final review is at "
        f"{format_duration(final)}: review later, widen the target, or raise traffic"
        for p in plans
        if p.days is not None and p.days > final
    ]
    return Plan(daily_units, fractions, level, plans, warnings)
