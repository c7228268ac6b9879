"""Before launch: is the review horizon long enough to see the target and the margins?

``impact plan SPEC --daily-units N`` assumes N eligible units exposed per day from launch,
splits them as ``data.split`` says, and asks for each decision metric how many units and days
the final review needs:

- the primary metric, to detect its target with ``decision.power`` at the final look's level
  (Lan-DeMets O'Brien-Fleming spending over the planned looks);
- each guardrail, to show it stayed within its margin (a true effect of 0) with power
  1 - beta / (G + 1), so that all G guardrails and the primary hold together.

Days needed = accrual days + the metric's window or ``matures_after`` (the last unit must
also finish its window).

Accrual may stop: at ``--accrual-end DATE`` (or the spec's ``data.accrual_end``: no new
units from that day), or after ``--total-units N``. Units stop arriving there, so the
information at each look is capped, and a metric that needs more units than accrual gives
cannot reach its target or margin however late the review: the plan says so.
"""

from __future__ import annotations

import datetime as dt
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
        note: why it cannot be planned or reached, or "".
        reachable: False when accrual stops before the units it needs arrive.
    """

    metric: Metric
    role: str
    effect: float | None
    power: float
    units: int | None
    days: int | None
    note: str
    reachable: bool = True


@dataclass(frozen=True)
class Plan:
    """The plan for a spec at a daily number of units (and, when accrual stops, at most
    ``total_units`` in all)."""

    daily_units: float
    fractions: list[float]
    final_level: float
    metrics: list[MetricPlan]
    warnings: list[str]
    total_units: float | None = None


def _variances(metric: Metric, effect: float, *, null: bool) -> tuple[float, float] | None:
    if metric.kind == "proportion":
        if metric.baseline is None:
            return None
        return power_module.proportion_variances(metric.baseline, 0.0 if null else effect)
    if metric.baseline_sd is None:
        return None
    return metric.baseline_sd**2, metric.baseline_sd**2


def _metric(
    spec: LaunchSpec,
    metric: Metric,
    role: str,
    wanted: float,
    level: float,
    daily: float,
    available: float | None = None,
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
    if available is not None and total > available:
        what = "target" if role == "primary" else "margin"
        note = (
            f"cannot reach its {what}: it needs {total:,} units and accrual stops at "
            f"{available:,.0f}; no review date helps. Widen the {what}, or keep accrual open"
        )
        return MetricPlan(metric, role, effect, wanted, total, None, note, reachable=False)
    days = math.ceil(total / daily) + (metric.window or metric.matures_after or 0)
    return MetricPlan(metric, role, effect, wanted, total, days, "")


def _unmatured(spec: LaunchSpec, final: int) -> list[str]:
    """Metrics no unit of which counts by the final review when the data have no exposure
    times: each unit counts from ``data.accrual_end`` plus ``matures_after``, none before."""
    if spec.data.accrual_end is None:
        return []
    found = []
    for metric in (spec.metrics.primary, *spec.metrics.guardrails):
        if metric is None or not metric.matures_after:
            continue
        counts_from = spec.data.accrual_end + dt.timedelta(days=metric.matures_after)
        days = (counts_from - spec.launch_date).days
        if days > final:
            found.append(
                f"{metric.name}: without exposure times no unit counts before {counts_from} "
                f"(data.accrual_end plus matures_after), and the final review at "
                f"{format_duration(final)} comes before it; review at {format_duration(days)} "
                "or later (with exposure times each unit counts once it has matured)"
            )
    return found


def plan(
    spec: LaunchSpec,
    *,
    daily_units: float,
    accrual_end: dt.date | None = None,
    total_units: float | None = None,
) -> Plan:
    """Units and days each decision metric needs at ``daily_units`` exposures per day.

    Args:
        spec: the launch spec.
        daily_units: eligible units exposed per day once launched (both arms).
        accrual_end: the first day without new units (default the spec's
            ``data.accrual_end``); None when units keep arriving.
        total_units: the most units accrual will bring (whichever of this and
            ``accrual_end`` stops it first).

    Raises:
        SpecError: the spec is not an experiment (a prepost review has no units to plan),
            or accrual ends before launch.
    """
    if spec.design != "experiment":
        raise SpecError(
            f"{spec.path}: impact plan sizes experiments; a {spec.design} review has no arms to "
            "plan. What it can detect depends on the pre-period's noise: the report's model "
            "checks show it"
        )
    primary = spec.metrics.primary
    assert primary is not None
    accrual_end = accrual_end or spec.data.accrual_end
    caps = [total_units] if total_units is not None else []
    if accrual_end is not None:
        accrual_days = (accrual_end - spec.launch_date).days
        if accrual_days <= 0:
            raise SpecError(
                f"{spec.path}: accrual ends on {accrual_end}, not after launch_date "
                f"{spec.launch_date}; give the first day without new units"
            )
        caps.append(daily_units * accrual_days)
    available = min(caps) if caps else None
    window = primary.window or primary.matures_after or 0
    final = spec.reviews[-1]

    def information(days: int) -> float:
        mature = daily_units * max(days - window, 0)
        return min(mature, available) if available is not None else mature

    at_final = max(information(final), 1e-9)
    # as a review does: an earlier look never spends all of alpha
    fractions = [min(information(days) / at_final, 0.99) for days in spec.reviews[:-1]]
    fractions.append(1.0)
    levels = sequential.nominal_levels(fractions, spec.decision.alpha)
    # the look that first sees all the units accrual brings is the one that can show it
    level = levels[next(k for k, t in enumerate(fractions) if t >= 0.99)]
    beta = 1 - spec.decision.power
    guardrail_power = 1 - beta / (len(spec.metrics.guardrails) + 1)
    plans = [_metric(spec, primary, "primary", spec.decision.power, level, daily_units, available)]
    plans += [
        _metric(spec, g, "guardrail", guardrail_power, level, daily_units, available)
        for g in spec.metrics.guardrails
    ]
    warnings = [
        f"{p.metric.name} needs {p.days} days but the final review is at "
        f"{format_duration(final)}: review later, widen the target, or raise traffic"
        for p in plans
        if p.days is not None and p.days > final
    ]
    warnings += [f"{p.metric.name} {p.note}" for p in plans if not p.reachable]
    warnings += _unmatured(spec, final)
    return Plan(daily_units, fractions, level, plans, warnings, available)
