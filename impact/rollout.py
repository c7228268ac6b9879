"""A staged release: each unit's stage, the sample ratio per stage, the stratified effect.

A unit belongs to the stage of its first exposure (its ``exposed_at`` day). Within a stage
the split is fixed, so the arms are comparable there; across stages they are not: with a
ramp from 10% to 50% treatment, the treatment arm holds more late units than the control
arm, and anything that drifts over the launch (a rising baseline, a season) shows up as an
effect in a pooled comparison. So the effect is combined over stages, each stage compared
within itself (with CUPED where the spec asks for it), weighted by the stage's share of the
units: the average effect over the units the launch reached (docs/methods.md says why these
weights rather than inverse-variance ones). The pooled comparison is kept beside it, and
shown only where the two differ enough to matter.

Without ``rollout:`` in the spec, a review has one stage and nothing here changes it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from impact import analysis
from impact.analysis import Analysis
from impact.metrics import MetricData, MetricTable, add_moments
from impact.spec import LaunchSpec, Stage
from impact.stats import checks as stat_checks
from impact.stats import compare, cuped
from impact.stats.compare import Comparison, CrossMoments, Moments
from impact.verdict import Check

__all__ = [
    "MATTERS",
    "Phase",
    "StageEstimate",
    "analyse_table",
    "by_day",
    "differs",
    "novelty",
    "phases",
    "sample_ratio_checks",
    "stage_data",
    "stratify",
]

MATTERS = 0.5
"""The pooled estimate is shown beside the stratified one when they differ by at least this
many standard errors of the stratified estimate."""


@dataclass(frozen=True)
class Phase:
    """One rollout stage as the data show it.

    Attributes:
        index: the stage's position, 0 first.
        stage: the registered stage (start and split).
        end: the day after its last day (the next stage's start; None for the last stage).
        units: units per arm whose first exposure falls in the stage (control first).
        sample_ratio: the chi-square test of those units against the stage's split.
    """

    index: int
    stage: Stage
    end: dt.date | None
    units: dict[str, int]
    sample_ratio: stat_checks.SampleRatio

    def to_json(self) -> dict[str, Any]:
        """verdict.json's entry in ``phases`` (``n`` per role, ``arms`` names them)."""
        control, treatment = list(self.units)
        return {
            "start": self.stage.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "split": dict(self.stage.split),
            "n": {"control": self.units[control], "treatment": self.units[treatment]},
            "arms": {"control": control, "treatment": treatment},
            "sample_ratio_p_value": self.sample_ratio.p_value,
        }


def sample_ratio_checks(spec: LaunchSpec, found: list[Phase]) -> list[Check]:
    """One sample-ratio check per stage, against that stage's split, at ``srm_alpha``.

    The ramp itself never fires it: each stage is held to its own split. A stage without
    units yet passes (nothing to test).
    """
    alpha = spec.decision.srm_alpha
    checks = []
    for phase in found:
        ratio = phase.sample_ratio
        label = f"stage {phase.index + 1} (from {phase.stage.start}"
        label += f" to {phase.end - dt.timedelta(days=1)})" if phase.end else " on)"
        planned = ", ".join(f"{arm} {share:.0%}" for arm, share in phase.stage.split.items())
        observed = ", ".join(f"{arm} {n:,}" for arm, n in ratio.observed.items())
        if ratio.p_value is None:
            checks.append(
                Check("sample_ratio", True, None, f"{label}: no units yet", blocking=False)
            )
            continue
        p = ratio.p_value
        if p < alpha:
            detail = (
                f"sample ratio mismatch in {label} (p = {p:.2g} < {alpha:g}): units per arm "
                f"{observed} do not match the stage's split {planned}; {ratio.short_arm} is "
                f"{ratio.shortfall:.1%} short. Find the cause (assignment, logging, filtering) "
                "before trusting any effect"
            )
        elif p < 0.01:
            detail = (
                f"warning: the sample ratio of {label} is unusual (p = {p:.2g}): units per arm "
                f"{observed} against the stage's {planned}; {ratio.short_arm} is "
                f"{ratio.shortfall:.1%} short"
            )
        else:
            detail = (
                f"{label}: units per arm {observed} match the stage's split {planned} (p = {p:.2g})"
            )
        checks.append(Check("sample_ratio", p >= 0.01, p, detail, blocking=p < alpha))
    counted = [phase for phase in found if phase.sample_ratio.p_value is not None]
    if len(counted) >= 2:
        checks.append(_whole_launch(counted, alpha))
    return checks


def _whole_launch(found: list[Phase], alpha: float) -> Check:
    """The sample ratio over all stages, each stage's units held to its own split."""
    ratio = stat_checks.sample_ratio_over_stages(
        [(phase.units, phase.stage.split) for phase in found]
    )
    assert ratio.p_value is not None
    p = ratio.p_value
    observed = ", ".join(f"{arm} {n:,}" for arm, n in ratio.observed.items())
    expected = ", ".join(f"{arm} {n:,.0f}" for arm, n in ratio.expected.items())
    label = f"the whole launch ({len(found)} stages, each held to its own split)"
    if p < alpha:
        detail = (
            f"sample ratio mismatch over {label} (p = {p:.2g} < {alpha:g}): units per arm "
            f"{observed} where the stages' splits expect {expected}; {ratio.short_arm} is "
            f"{ratio.shortfall:.1%} short. Find the cause (assignment, logging, filtering) "
            "before trusting any effect"
        )
    elif p < 0.01:
        detail = (
            f"warning: the sample ratio over {label} is unusual (p = {p:.2g}): units per arm "
            f"{observed} where the stages' splits expect {expected}"
        )
    else:
        detail = (
            f"{label}: units per arm {observed} match the {expected} the stages' splits "
            f"expect (p = {p:.2g})"
        )
    return Check("sample_ratio", p >= 0.01, p, detail, blocking=p < alpha)


def _days(spec: LaunchSpec, index: int) -> tuple[dt.date, dt.date | None]:
    assert spec.rollout is not None
    stages = spec.rollout
    end = stages[index + 1].start if index + 1 < len(stages) else None
    return stages[index].start, end


def phases(spec: LaunchSpec, table: MetricTable) -> list[Phase]:
    """Each stage's units per arm and its sample-ratio test (empty without a rollout)."""
    if not spec.rollout:
        return []
    found = []
    arms = (spec.control, spec.treatment)
    for index, stage in enumerate(spec.rollout):
        counts = dict.fromkeys(arms, 0)
        for day, per_arm in table.population.arms_by_day.items():
            if spec.stage_of(day) == index:
                for arm in arms:
                    counts[arm] += per_arm.get(arm, 0)
        ratio = stat_checks.sample_ratio(counts, stage.split)
        found.append(Phase(index, stage, _days(spec, index)[1], counts, ratio))
    return found


def stage_data(spec: LaunchSpec, data: MetricData) -> list[MetricData]:
    """A metric's data per rollout stage, from its per-day moments."""
    assert spec.rollout is not None
    found = []
    for index in range(len(spec.rollout)):
        control: CrossMoments | None = None
        treatment: CrossMoments | None = None
        for day, (c, t) in data.by_day.items():
            if spec.stage_of(day) == index:
                control, treatment = add_moments(control, c), add_moments(treatment, t)
        empty = CrossMoments(
            0, (0.0,) * len(data.variables), ((0.0,) * len(data.variables),) * len(data.variables)
        )
        found.append(
            dataclasses.replace(
                data,
                control=control or empty,
                treatment=treatment or empty,
                by_day={},
                weeks=[],
            )
        )
    return found


@dataclass(frozen=True)
class StageEstimate:
    """One stage's comparison of a metric and its weight in the combination.

    Attributes:
        index: the stage's position.
        analysis: the stage's comparison (CUPED-adjusted where applied).
        weight: the stage's share of the metric's units (0 when left out).
        note: why the stage is left out ("" otherwise).
        units: the stage's units the metric counts at this look, both arms (its mature
            units, where the stage's exposed units are in :class:`Phase`).
    """

    index: int
    analysis: Analysis
    weight: float
    note: str
    units: int = 0


def _arm_variances(data: MetricData, result: Analysis) -> tuple[float, float] | None:
    """The variance of each arm's mean behind a stage's comparison."""
    if result.cuped_applied:
        assert result.adjustment is not None
        variances = result.adjustment.variances
        return (variances[0], variances[1]) if len(variances) == 2 else None
    kind = data.metric.kind
    found = []
    for arm in (data.control, data.treatment):
        if kind == "ratio":
            ratio = compare.ratio_of_means(arm)
            if ratio is None:
                return None
            found.append(ratio[1])
            continue
        moments = arm.moments(0)
        if moments.n < 2:
            return None
        if kind == "proportion":
            share = moments.total / moments.n
            found.append(share * (1 - share) / moments.n)
        else:
            variance = moments.variance()
            assert variance is not None
            found.append(variance / moments.n)
    return found[0], found[1]


def stratify(
    spec: LaunchSpec, data: MetricData, *, alpha: float
) -> tuple[Analysis, list[StageEstimate]]:
    """A metric's effect combined over rollout stages, each compared within itself.

    The weights are the stages' shares of the metric's units (both arms). The combined
    interval uses the normal quantile, or for means the t quantile on
    Welch-Satterthwaite degrees of freedom pooled over stages. A stage that cannot be
    compared (an arm without units, or with fewer than 2) is left out and named.
    """
    assert spec.rollout is not None
    stages = stage_data(spec, data)
    results = []
    for index, stage in enumerate(stages):
        split = spec.rollout[index].split
        per_arm = len(set(split.values())) > 1
        results.append(analysis.analyse(stage, alpha=alpha, per_arm=per_arm))
    estimates, comparison = _combine(stages, results, alpha, adjusted=True)
    plain = _combine(stages, results, alpha, adjusted=False)[1]
    metric = data.metric
    applied = any(r.cuped_applied for r in results)
    notes = [r.cuped_note for r in results if r.cuped_note]
    note = notes[0] if metric.cuped and not applied and notes else ""
    adjustment = None
    if applied:
        reduction = 1 - (comparison.se / plain.se) ** 2 if comparison.se and plain.se else None
        # the stages' correlations with the pre-period, weighted as the stages are
        weighted = [
            (e.weight, r.adjustment.correlation)
            for e, r in zip(estimates, results, strict=True)
            if r.adjustment is not None and r.adjustment.correlation is not None and e.weight
        ]
        total = sum(w for w, _ in weighted)
        correlation = sum(w * c for w, c in weighted) / total if total else None
        adjustment = cuped.Adjustment(comparison, (), correlation, reduction, "")
    return Analysis(metric, comparison, plain, adjustment, note), estimates


class _Part(NamedTuple):
    """A stage's arms, as the combination weighs them."""

    n: int
    mean_c: float
    var_c: float
    mean_t: float
    var_t: float
    dof: float | None


def _combine(
    stages: list[MetricData], results: list[Analysis], alpha: float, *, adjusted: bool
) -> tuple[list[StageEstimate], Comparison]:
    parts: list[_Part] = []
    estimates = []
    for index, (stage, result) in enumerate(zip(stages, results, strict=True)):
        chosen = result if adjusted else dataclasses.replace(result, adjustment=None)
        c = result.comparison if adjusted else result.unadjusted
        variances = _arm_variances(stage, chosen)
        n = stage.control.n + stage.treatment.n
        if n == 0:
            note = "no mature units in this stage yet (none whose window has ended)"
            estimates.append(StageEstimate(index, result, 0.0, note))
            continue
        if variances is None or c.control is None or c.treatment is None or c.se is None:
            why = c.note or "its arms cannot be compared"
            estimates.append(StageEstimate(index, result, 0.0, f"left out: {why}", n))
            continue
        parts.append(_Part(n, c.control, variances[0], c.treatment, variances[1], c.dof))
        estimates.append(StageEstimate(index, result, float(n), "", n))
    total = sum(part.n for part in parts)
    estimates = [
        dataclasses.replace(e, weight=e.weight / total if total else 0.0) for e in estimates
    ]
    if not parts:
        return estimates, compare.unavailable(None, None, alpha, "no stage can be compared")
    weights = [part.n / total for part in parts]
    pairs = list(zip(weights, parts, strict=True))
    mean_c = math.fsum(w * part.mean_c for w, part in pairs)
    mean_t = math.fsum(w * part.mean_t for w, part in pairs)
    var_c = math.fsum(w * w * part.var_c for w, part in pairs)
    var_t = math.fsum(w * w * part.var_t for w, part in pairs)
    if var_c + var_t == 0:
        return estimates, compare.unavailable(mean_c, mean_t, alpha, "no variation")
    dof = None
    dofs = [part.dof for part in parts]
    if all(d is not None and d > 0 for d in dofs):  # Welch-Satterthwaite over stages
        shares = [w * w * (part.var_c + part.var_t) for w, part in pairs]
        spread = math.fsum(s * s / d for s, d in zip(shares, dofs, strict=True) if d)
        dof = math.fsum(shares) ** 2 / spread if spread > 0 else None
    return estimates, compare.difference(mean_c, var_c, mean_t, var_t, alpha=alpha, dof=dof)


def analyse_table(
    spec: LaunchSpec, table: MetricTable, *, alpha: float
) -> tuple[dict[str, Analysis], dict[str, Analysis], dict[str, list[StageEstimate]]]:
    """Every metric's comparison at a look: stratified over stages with a rollout.

    Returns the comparisons the verdict uses, the pooled ones (the same without a
    rollout) and, with a rollout, each metric's per-stage estimates.
    """
    assert spec.data.split is not None
    if not spec.rollout:
        per_arm = len(set(spec.data.split.values())) > 1  # a CUPED slope per arm if unequal
        plain = {
            name: analysis.analyse(data, alpha=alpha, per_arm=per_arm)
            for name, data in table.metrics.items()
        }
        return plain, plain, {}
    chosen, pooled, stages = {}, {}, {}
    for name, data in table.metrics.items():
        chosen[name], stages[name] = stratify(spec, data, alpha=alpha)
        pooled[name] = analysis.analyse(data, alpha=alpha, per_arm=True)
    return chosen, pooled, stages


def differs(stratified: Comparison, pooled: Comparison) -> bool:
    """Whether the pooled estimate is far enough from the stratified one to show it: at
    least ``MATTERS`` standard errors of the stratified estimate apart."""
    if stratified.effect is None or pooled.effect is None or not stratified.se:
        return False
    return abs(pooled.effect - stratified.effect) >= MATTERS * stratified.se


def _arm_mean(kind: str | None, arm: Moments) -> tuple[float, float] | None:
    """An arm's mean and the variance of that mean (None below 2 units)."""
    if arm.n < 2:
        return None
    mean = arm.total / arm.n
    if kind == "proportion":
        return mean, mean * (1 - mean) / arm.n
    variance = arm.variance()
    return (mean, variance / arm.n) if variance is not None else None


def novelty(spec: LaunchSpec, data: MetricData, *, alpha: float) -> list[Comparison]:
    """The effect counted in each week since exposure, stratified over stages as the
    verdict's effect is (size weights; normal intervals): the pooled weeks of
    :func:`impact.analysis.novelty` would read the ramp's drift as an effect."""
    assert spec.rollout is not None
    count = len(data.weeks)
    found = []
    for week in range(count):
        parts = []
        for index in range(len(spec.rollout)):
            control = treatment = Moments(0, 0.0, 0.0)
            for day, weeks in data.weeks_by_day.items():
                if spec.stage_of(day) == index:
                    c, t = weeks[week]
                    control = Moments(
                        control.n + c.n, control.total + c.total, control.total_sq + c.total_sq
                    )
                    treatment = Moments(
                        treatment.n + t.n,
                        treatment.total + t.total,
                        treatment.total_sq + t.total_sq,
                    )
            arms = _arm_mean(data.metric.kind, control), _arm_mean(data.metric.kind, treatment)
            if arms[0] is not None and arms[1] is not None:
                parts.append((control.n + treatment.n, arms[0], arms[1]))
        total = sum(n for n, _, _ in parts)
        if not total:
            found.append(compare.unavailable(None, None, alpha, "no stage can be compared"))
            continue
        pairs = [(n / total, c, t) for n, c, t in parts]
        mean_c = math.fsum(w * c[0] for w, c, _ in pairs)
        mean_t = math.fsum(w * t[0] for w, _, t in pairs)
        var_c = math.fsum(w * w * c[1] for w, c, _ in pairs)
        var_t = math.fsum(w * w * t[1] for w, _, t in pairs)
        if var_c + var_t == 0:
            note = "every unit has the same value in both arms (no variation)"
            found.append(compare.unavailable(mean_c, mean_t, alpha, note))
            continue
        found.append(compare.difference(mean_c, var_c, mean_t, var_t, alpha=alpha, dof=None))
    return found


def by_day(spec: LaunchSpec, data: MetricData, *, alpha: float) -> list[analysis.Day]:
    """The effect by day of first exposure under a rollout: each day alone (one stage, so a
    plain comparison), and among the units exposed up to that day stratified over stages
    without CUPED (on the last day, the verdict's effect before CUPED)."""
    plain = analysis.by_day(data, alpha=alpha)
    found = []
    for day in plain:
        upto = dataclasses.replace(
            data, by_day={d: pair for d, pair in data.by_day.items() if d <= day.day}
        )
        combined = stratify(spec, upto, alpha=alpha)[0].unadjusted
        found.append(day._replace(up_to=combined))
    return found
