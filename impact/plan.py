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

With ``rollout:``, the units and days each metric needs are those at which the effect
stratified over the stages reaches the power (the early stages' uneven splits cost
precision, so a ramp needs more units than its last split alone would); the plan also says
the units each stage contributes to the final look (per arm, by the stage's split) and the
primary's power for its target over those stages. With ``segments:``, it gives the power
for the target within a segment value holding 50%, 25% or 10% of the units (before the
q-value adjustment across cells, which lowers it).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from impact.errors import SpecError
from impact.spec import LaunchSpec, Metric, format_duration
from impact.stats import power as power_module
from impact.stats import sequential

__all__ = ["SEGMENT_SHARES", "MetricPlan", "Plan", "StagePlan", "plan", "sizable"]

SEGMENT_SHARES = (0.5, 0.25, 0.1)
"""The shares of units a segment value is planned at (a plan has no data to know them)."""


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
class StagePlan:
    """The units one rollout stage brings to the final look.

    Attributes:
        index: the stage's position, 0 first.
        start: the stage's first day.
        share: the treatment's share in the stage.
        units: units exposed in the stage whose window ends by the final look.
        control: of them, in the control arm (by the split).
        treatment: in the treatment arm.
    """

    index: int
    start: dt.date
    share: float
    units: float
    control: float
    treatment: float


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
    stages: list[StagePlan] = field(default_factory=list)
    stage_power: float | None = None
    segment_power: list[tuple[float, float]] = field(default_factory=list)


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
    accrual: float = math.ceil(total / daily)
    if spec.rollout:  # the ramp's early stages split unevenly: more units are needed
        spread = variances[0] / (1 - share) + variances[1] / share
        ramp = _ramp_accrual(spec, variances, spread / total, daily, available)
        if ramp is None:
            total = math.ceil(available) + 1 if available is not None else total
        else:
            accrual, units = ramp
            total = math.ceil(units)
    if available is not None and total > available:
        what = "target" if role == "primary" else "margin"
        note = (
            f"cannot reach its {what}: it needs {total:,} units and accrual stops at "
            f"{available:,.0f}; no review date helps. Widen the {what}, or keep accrual open"
        )
        return MetricPlan(metric, role, effect, wanted, total, None, note, reachable=False)
    days = math.ceil(accrual) + (metric.window or metric.matures_after or 0)
    return MetricPlan(metric, role, effect, wanted, total, days, "")


RAMP_DAYS = 3650
"""The longest accrual a rollout plan searches (ten years)."""


def _ramp_accrual(
    spec: LaunchSpec,
    variances: tuple[float, float],
    needed: float,
    daily: float,
    available: float | None,
) -> tuple[int, float] | None:
    """The fewest accrual days (and the units they bring) at which the effect stratified
    over the rollout's stages has at most the variance ``needed``; None when accrual stops
    first.

    With stage s bringing n_s units at treatment share p_s, and N = sum n_s, the
    stratified estimate's variance is sum (n_s / N)^2 (var_c / (n_s (1 - p_s)) + var_t /
    (n_s p_s)) = sum n_s c_s / N^2, with c_s = var_c / (1 - p_s) + var_t / p_s.
    """
    assert spec.rollout is not None
    var_c, var_t = variances
    starts = [(stage.start - spec.launch_date).days for stage in spec.rollout]
    costs = [
        var_c / (1 - stage.split[spec.treatment]) + var_t / stage.split[spec.treatment]
        for stage in spec.rollout
    ]
    cap = available if available is not None else math.inf
    for days in range(1, RAMP_DAYS + 1):
        left, units, weighted = cap, 0.0, 0.0
        for index, first in enumerate(starts):
            last = starts[index + 1] if index + 1 < len(starts) else days
            n = min(daily * max(min(last, days) - first, 0), left)
            left -= n
            units += n
            weighted += n * costs[index]
        if units and weighted / (units * units) <= needed:
            return days, units
        if units >= cap:
            return None
    return None


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


def sizable(spec: LaunchSpec) -> None:
    """Refuse a spec this module does not size: its design has no arms.

    Raises:
        SpecError: a prepost spec (``impact.plan_prepost`` plans it) or an adoption review.
    """
    if spec.design == "prepost":
        raise SpecError(
            f"{spec.path}: a before/after review is planned from its pre-period: "
            "impact.plan_prepost.plan (impact plan calls it for a prepost spec)"
        )
    if spec.design != "experiment":
        raise SpecError(
            f"{spec.path}: impact plan sizes experiments and before/after reviews; an adoption "
            "review has no arms to size: it judges the shares of eligible units that find, try "
            "and repeat the feature against adoption.thresholds"
        )


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
        SpecError: the spec is an adoption review (prepost specs are planned by
            ``impact.plan_prepost``), or accrual ends before launch.
    """
    sizable(spec)
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
    stages = _stages(spec, daily_units, max(final - window, 0), available)
    stage_power, segment_power = _stage_and_segment_power(
        spec, plans[0], stages, level, information(final)
    )
    return Plan(
        daily_units,
        fractions,
        level,
        plans,
        warnings,
        available,
        stages,
        stage_power,
        segment_power,
    )


def _stages(
    spec: LaunchSpec, daily: float, mature_days: int, available: float | None
) -> list[StagePlan]:
    """The units each rollout stage brings to the final look (units exposed by day
    ``mature_days``, within ``available`` in all)."""
    if not spec.rollout:
        return []
    found = []
    left = available if available is not None else math.inf
    for index, stage in enumerate(spec.rollout):
        first = (stage.start - spec.launch_date).days
        later = spec.rollout[index + 1].start if index + 1 < len(spec.rollout) else None
        last = (later - spec.launch_date).days if later else mature_days
        units = min(daily * max(min(last, mature_days) - first, 0), left)
        left -= units
        share = stage.split[spec.treatment]
        found.append(
            StagePlan(index, stage.start, share, units, units * (1 - share), units * share)
        )
    return found


def _stage_and_segment_power(
    spec: LaunchSpec, primary: MetricPlan, stages: list[StagePlan], level: float, units: float
) -> tuple[float | None, list[tuple[float, float]]]:
    """The primary's power at the final look over the stages (None without stages), and
    within a segment value holding each of SEGMENT_SHARES of the units."""
    if primary.effect is None or (not stages and not spec.segments):
        return None, []
    variances = _variances(primary.metric, primary.effect, null=False)
    if variances is None:
        return None, []
    var_c, var_t = variances
    if stages:
        total = sum(s.units for s in stages)
        parts = [s for s in stages if s.control > 0 and s.treatment > 0]
        variance = (
            sum((s.units / total) ** 2 * (var_c / s.control + var_t / s.treatment) for s in parts)
            if total
            else math.inf
        )
    else:
        assert spec.data.split is not None
        share = spec.data.split[spec.treatment]
        variance = var_c / (units * (1 - share)) + var_t / (units * share) if units else math.inf
    if not math.isfinite(variance) or variance <= 0:
        return None, []
    se = math.sqrt(variance)
    stage_power = (
        power_module.achieved_power(se=se, effect=primary.effect, alpha=level) if stages else None
    )
    segment_power = (
        [
            (
                q,
                power_module.achieved_power(
                    se=se / math.sqrt(q), effect=primary.effect, alpha=level
                ),
            )
            for q in SEGMENT_SHARES
        ]
        if spec.segments
        else []
    )
    return stage_power, segment_power
