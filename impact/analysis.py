"""A metric's comparison at a look: plain or CUPED-adjusted, its power, and its weeks.

This is the glue between the metric data (``metrics.MetricData``) and the pure statistics
(``impact.stats``): it picks the comparison a metric's kind calls for, applies CUPED when the
spec asks for it and it helps, and says in words why when it does not.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple

from impact.metrics import MetricData
from impact.spec import Metric
from impact.stats import compare, cuped, power
from impact.stats.compare import Comparison, CrossMoments

__all__ = ["Analysis", "Day", "Power", "analyse", "by_day", "novelty", "power_at"]


@dataclass(frozen=True)
class Analysis:
    """A metric's comparison at a look, and how it was computed.

    Attributes:
        metric: the metric's definition.
        comparison: the comparison the verdict uses (CUPED-adjusted when applied).
        unadjusted: the comparison without CUPED.
        adjustment: the CUPED adjustment when the spec asked for it (None otherwise).
        cuped_note: why CUPED was not applied although asked for ("" otherwise).
    """

    metric: Metric
    comparison: Comparison
    unadjusted: Comparison
    adjustment: cuped.Adjustment | None
    cuped_note: str

    @property
    def cuped_applied(self) -> bool:
        """Whether the comparison is CUPED-adjusted."""
        return self.adjustment is not None and self.adjustment.comparison is not None

    def cuped_json(self) -> dict[str, Any] | None:
        """verdict.json's ``cuped`` block (None when the spec did not ask for CUPED)."""
        if not self.metric.cuped:
            return None
        adjustment = self.adjustment
        return {
            "applied": self.cuped_applied,
            "variance_reduction": adjustment.variance_reduction if adjustment else None,
            "correlation": adjustment.correlation if adjustment else None,
            "note": self.cuped_note or None,
        }


def _compare(
    metric: Metric, control: CrossMoments, treatment: CrossMoments, alpha: float
) -> Comparison:
    if metric.window is not None and (control.n == 0 or treatment.n == 0):
        # Only mature units count: before the first window ends, units were exposed, but
        # none counts yet ("an arm has no units" read as if nobody was exposed).
        return compare.unavailable(
            None, None, alpha, f"an arm has no unit whose {metric.window}-day window has ended"
        )
    if metric.kind == "ratio":
        return compare.ratios(control, treatment, alpha=alpha)
    test = compare.proportions if metric.kind == "proportion" else compare.means
    return test(control.moments(0), treatment.moments(0), alpha=alpha)


def _plain(data: MetricData, alpha: float) -> Comparison:
    return _compare(data.metric, data.control, data.treatment, alpha)


def analyse(data: MetricData, *, alpha: float, per_arm: bool) -> Analysis:
    """Compare a metric's arms at level ``alpha``.

    Args:
        data: the metric's sufficient statistics.
        alpha: the look's two-sided level.
        per_arm: CUPED with one slope per arm (the split is unequal).
    """
    metric = data.metric
    plain = _plain(data, alpha)
    if not metric.cuped:
        return Analysis(metric, plain, plain, None, "")
    if metric.column is not None:
        note = "CUPED skipped: a column metric has no pre-period window to adjust with"
        return Analysis(metric, plain, plain, None, note)
    assert metric.kind is not None
    adjustment = cuped.adjust(
        data.control, data.treatment, kind=metric.kind, per_arm=per_arm, alpha=alpha
    )
    if adjustment.comparison is None:
        return Analysis(metric, plain, plain, adjustment, f"CUPED skipped: {adjustment.note}")
    return Analysis(metric, adjustment.comparison, plain, adjustment, "")


def novelty(data: MetricData, *, alpha: float) -> list[Comparison]:
    """The effect counted in each week since exposure, among the metric's mature units."""
    test = compare.proportions if data.metric.kind == "proportion" else compare.means
    return [test(control, treatment, alpha=alpha) for control, treatment in data.weeks]


class Day(NamedTuple):
    """The effect by day of first exposure (a chart's points; the verdict pools every day).

    Attributes:
        day: the day of first exposure (UTC).
        that_day: the effect among the mature units first exposed that day.
        up_to: the effect among the mature units first exposed that day or before: on the
            last day, the unadjusted effect of the whole look.
    """

    day: dt.date
    that_day: Comparison
    up_to: Comparison


def _add(one: CrossMoments, other: CrossMoments) -> CrossMoments:
    return CrossMoments(
        one.n + other.n,
        tuple(a + b for a, b in zip(one.sums, other.sums, strict=True)),
        tuple(
            tuple(a + b for a, b in zip(row, other_row, strict=True))
            for row, other_row in zip(one.products, other.products, strict=True)
        ),
    )


def by_day(data: MetricData, *, alpha: float) -> list[Day]:
    """The effect by day of first exposure, each day alone and cumulated, without CUPED.

    Args:
        data: the metric's sufficient statistics (``by_day`` is empty without exposure times);
            days without a mature unit are left out.
        alpha: the two-sided level of the intervals.
    """
    found: list[Day] = []
    pooled: tuple[CrossMoments, CrossMoments] | None = None
    for day in sorted(data.by_day):
        control, treatment = data.by_day[day]
        if control.n + treatment.n == 0:
            continue  # no unit exposed that day is mature yet
        pooled = (
            (control, treatment)
            if pooled is None
            else (_add(pooled[0], control), _add(pooled[1], treatment))
        )
        that_day = _compare(data.metric, control, treatment, alpha)
        found.append(Day(day, that_day, _compare(data.metric, *pooled, alpha)))
    return found


@dataclass(frozen=True)
class Power:
    """What the primary comparison could detect.

    Attributes:
        target: the target in metric units (a relative target times the control mean).
        achieved: the power the test had to detect the target at this look's level.
        mde: the smallest effect detectable with the spec's power at this look's level.
    """

    target: float | None
    achieved: float | None
    mde: float | None


def power_at(analysis: Analysis, *, alpha: float, wanted: float) -> Power:
    """Achieved power for the target and the MDE, from the comparison's standard error."""
    comparison = analysis.comparison
    target = analysis.metric.target
    if comparison.se is None or target is None:
        return Power(None, None, None)
    if target.relative:
        if comparison.control is None:
            return Power(None, None, None)
        size = target.magnitude * abs(comparison.control)
    else:
        size = target.magnitude
    return Power(
        target=size,
        achieved=power.achieved_power(se=comparison.se, effect=size, alpha=alpha),
        mde=power.mde(se=comparison.se, alpha=alpha, power=wanted),
    )
