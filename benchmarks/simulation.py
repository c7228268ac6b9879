"""Monte Carlo validation of the statistics, from unit-level data with accrual and windows.

Each run draws units arriving over the launch's 56 days (weekday pattern, random arm), each
with a per-unit outcome (and pre-period covariate and history flag), then reviews the 28d
and 56d looks exactly as a review does: only units whose 14-day window has ended count,
the look's level comes from ``review.sequential_look`` on the units per exposure day, and the
comparison from ``analysis.analyse`` (CUPED included). Nothing here draws summary statistics
directly, so the formulas are not tested against themselves.

Used by ``benchmarks/simulate.py`` (full runs, figures for docs/validation.md) and by
``tests/test_simulation.py`` (small runs with tolerances of 3 Monte Carlo standard errors).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from impact import analysis, review
from impact import spec as spec_module
from impact.metrics import MetricData, MetricTable, Population
from impact.stats import checks
from impact.stats.compare import CrossMoments
from impact.verdict import Look

Kind = Literal["proportion", "mean", "ratio"]
LAUNCH = dt.date(2026, 9, 1)
WINDOW = 14
REVIEWS = (28, 56)
WEEKDAYS = np.array([0.85, 0.85, 0.9, 0.9, 1.0, 1.35, 1.25])


def _spec(kind: Kind, cuped: bool) -> spec_module.LaunchSpec:
    metric: dict[str, object] = {
        "name": "m",
        "kind": kind,
        "window": "14d",
        "target": 0.02,
        "direction": "increase",
        "cuped": cuped,
    }
    if kind == "ratio":
        metric |= {
            "numerator": {"event": "buy", "value": "sum"},
            "denominator": {"event": "buy", "value": "count"},
        }
    else:
        metric |= {"event": "buy"} | ({"value": "sum"} if kind == "mean" else {})
    document = {
        "spec_version": 1,
        "id": "simulation",
        "title": "simulation",
        "owner": "nobody",
        "hypothesis": {"users": "u", "problem": "p", "solution": "s", "result": "r"},
        "launch_date": LAUNCH,
        "reviews": [f"{d}d" for d in REVIEWS],
        "data": {"source": ".", "control": "control", "split": {"control": 0.5, "treatment": 0.5}},
        "metrics": {"primary": metric},
    }
    return spec_module.from_dict(document, Path("simulation.yaml"))


@dataclass(frozen=True)
class Units:
    """One run's units: exposure day, arm, outcome variables (outcomes then covariates)."""

    day: np.ndarray
    treated: np.ndarray
    columns: np.ndarray  # units x variables


def draw(rng: np.random.Generator, kind: Kind, units: int, effect: float) -> Units:
    """Units arriving over 56 days with a per-unit outcome; ``effect`` is additive and exact.

    proportion: p in [0.05, 0.75] per unit, the treatment adds ``effect`` to it.
    mean: lognormal spend (heavy right tail), the treatment adds ``effect``.
    ratio: revenue over orders; the treatment adds ``effect`` per order.
    Covariates: the same outcome in a 14-day pre-period from the same unit habits, and a
    history flag (20% of units are new: no pre-period data, covariate 0).
    """
    weights = WEEKDAYS[(LAUNCH.weekday() + np.arange(REVIEWS[-1])) % 7]
    day = rng.choice(REVIEWS[-1], size=units, p=weights / weights.sum())
    treated = rng.random(units) < 0.5
    history = (rng.random(units) < 0.8).astype(float)
    habit = rng.normal(0, 1, units)
    lift = np.where(treated, effect, 0.0)
    if kind == "proportion":
        p = 0.05 + 0.7 / (1 + np.exp(-1.5 * habit))
        y = (rng.random(units) < p + lift).astype(float)
        pre = history * (rng.random(units) < p).astype(float)
        columns = np.column_stack([y, pre, history])
    elif kind == "mean":
        scale = np.exp(2.0 + 0.8 * habit)
        y = rng.lognormal(np.log(scale), 1.0) + lift
        pre = history * rng.lognormal(np.log(scale), 1.0)
        columns = np.column_stack([y, pre, history])
    else:
        orders = 1.0 + rng.poisson(np.exp(0.5 * habit))
        basket = np.exp(3.5 + 0.5 * habit)
        revenue = orders * rng.gamma(4.0, basket / 4.0) + lift * orders
        pre_orders = history * (1.0 + rng.poisson(np.exp(0.5 * habit)))
        pre_revenue = pre_orders * rng.gamma(4.0, basket / 4.0)
        columns = np.column_stack([revenue, orders, pre_revenue, pre_orders, history])
    return Units(day, treated, columns)


def _cross(columns: np.ndarray) -> CrossMoments:
    return CrossMoments(
        columns.shape[0],
        tuple(float(v) for v in columns.sum(axis=0)),
        tuple(tuple(float(v) for v in row) for row in columns.T @ columns),
    )


def look(
    spec: spec_module.LaunchSpec, units: Units, days: int, cuped: bool
) -> tuple[float, analysis.Analysis]:
    """Review one look: (its level, the primary's analysis) from mature units only."""
    exposed = units.day < days  # exposed before as_of
    mature = units.day < days - WINDOW  # whole window ended by as_of
    outcomes = 2 if spec.metrics.primary and spec.metrics.primary.kind == "ratio" else 1
    keep = units.columns if cuped else units.columns[:, :outcomes]
    arms = [mature & ~units.treated, mature & units.treated]
    metric = spec.metrics.primary
    assert metric is not None
    names = (
        ("num", "den", "pre_num", "pre_den", "history")
        if outcomes == 2
        else ("y", "pre_y", "history")
    )
    data = MetricData(
        metric, names[: keep.shape[1]], _cross(keep[arms[0]]), _cross(keep[arms[1]]), None, None
    )
    counts = np.bincount(units.day[exposed], minlength=REVIEWS[-1])
    population = Population(
        units={
            "control": int((exposed & ~units.treated).sum()),
            "treatment": int((exposed & units.treated).sum()),
        },
        first_exposure=None,
        last_exposure=None,
        by_day={LAUNCH + dt.timedelta(days=int(d)): int(n) for d, n in enumerate(counts) if n},
    )
    table = MetricTable(population, {metric.name: data})
    later = [d for d in REVIEWS if d > days]
    start = Look(
        days=days,
        as_of=spec.as_of(days),
        registered=True,
        final=days == REVIEWS[-1],
        next_review=spec.as_of(later[0]).date() if later else None,
        alpha=spec.decision.alpha,
    )
    sequenced = review.sequential_look(spec, start, table)
    return sequenced.alpha, analysis.analyse(data, alpha=sequenced.alpha, per_arm=False)


@dataclass(frozen=True)
class Result:
    """Rates over the runs, with their Monte Carlo standard errors."""

    kind: str
    cuped: bool
    runs: int
    rate: float
    se: float
    variance_reduction: float | None


def _summary(kind: str, cuped: bool, hits: list[bool], reductions: list[float]) -> Result:
    rate = float(np.mean(hits))
    se = math.sqrt(max(rate * (1 - rate), 1e-12) / len(hits))
    return Result(
        kind, cuped, len(hits), rate, se, float(np.mean(reductions)) if reductions else None
    )


def false_positive_rate(kind: Kind, cuped: bool, runs: int, units: int, seed: int) -> Result:
    """A/A: the share of runs in which any look's interval excludes 0."""
    spec = _spec(kind, cuped)
    rng = np.random.default_rng(seed)
    hits, reductions = [], []
    for _ in range(runs):
        drawn = draw(rng, kind, units, 0.0)
        crossed = False
        for days in REVIEWS:
            _, found = look(spec, drawn, days, cuped)
            c = found.comparison
            crossed |= c.ci_lower is not None and (c.ci_lower > 0 or c.ci_upper < 0)  # type: ignore[operator]
            if (
                found.adjustment
                and found.adjustment.variance_reduction is not None
                and days == REVIEWS[-1]
            ):
                reductions.append(found.adjustment.variance_reduction)
        hits.append(crossed)
    return _summary(kind, cuped, hits, reductions)


def coverage(kind: Kind, cuped: bool, runs: int, units: int, seed: int, effect: float) -> Result:
    """A/B: the share of runs whose 95% interval at the final look covers the true effect."""
    spec = _spec(kind, cuped)
    rng = np.random.default_rng(seed)
    hits, reductions = [], []
    metric = spec.metrics.primary
    assert metric is not None
    for _ in range(runs):
        drawn = draw(rng, kind, units, effect)
        exposed = drawn.day < REVIEWS[-1] - WINDOW
        keep = drawn.columns if cuped else drawn.columns[:, : (2 if kind == "ratio" else 1)]
        names = (
            ("num", "den", "pre_num", "pre_den", "history")
            if kind == "ratio"
            else ("y", "pre_y", "history")
        )
        data = MetricData(
            metric,
            names[: keep.shape[1]],
            _cross(keep[exposed & ~drawn.treated]),
            _cross(keep[exposed & drawn.treated]),
            None,
            None,
        )
        found = analysis.analyse(data, alpha=0.05, per_arm=False)
        c = found.comparison
        hits.append(c.ci_lower is not None and c.ci_lower <= effect <= c.ci_upper)  # type: ignore[operator]
        if found.adjustment and found.adjustment.variance_reduction is not None:
            reductions.append(found.adjustment.variance_reduction)
    return _summary(kind, cuped, hits, reductions)


def power_at_plan(runs: int, seed: int, target: float = 0.02) -> tuple[Result, int]:
    """Proportions at the planned sample size: the share of runs in which a look rejects.

    Returns the result and the planned number of units whose window ends by the final look.
    """
    from impact.stats import power, sequential

    level = sequential.nominal_levels([(REVIEWS[0] - WINDOW) / (REVIEWS[-1] - WINDOW), 1.0], 0.05)[
        -1
    ]
    # the control share of the simulated units, E[p] over their habits
    habits = np.random.default_rng(0).normal(0, 1, 1_000_000)
    base = float(np.mean(0.05 + 0.7 / (1 + np.exp(-1.5 * habits))))
    var_c, var_t = power.proportion_variances(base, target)
    planned = power.sample_size(
        variance_control=var_c, variance_treatment=var_t, effect=target, alpha=level, power=0.8
    )
    spec = _spec("proportion", False)
    rng = np.random.default_rng(seed)
    # mature units at the final look are those exposed in its first 42 days
    units = math.ceil(planned * REVIEWS[-1] / (REVIEWS[-1] - WINDOW))
    hits = []
    for _ in range(runs):
        drawn = draw(rng, "proportion", units, target)
        crossed = False
        for days in REVIEWS:
            _, found = look(spec, drawn, days, False)
            c = found.comparison
            crossed |= c.ci_lower is not None and c.ci_lower > 0  # type: ignore[operator]
        hits.append(crossed)
    return _summary("proportion", False, hits, []), planned


def srm_uniformity(runs: int, units: int, seed: int) -> float:
    """The Kolmogorov-Smirnov p-value of sample-ratio p-values under a true 50/50 split."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    treated = rng.binomial(units, 0.5, size=runs)
    p_values = [
        checks.sample_ratio({"a": int(units - t), "b": int(t)}, {"a": 0.5, "b": 0.5}).p_value
        for t in treated
    ]
    return float(stats.kstest(p_values, "uniform").pvalue)
