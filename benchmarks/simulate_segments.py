"""Monte Carlo validation of segment effects and of the stratified estimate over rollout stages.

Each run draws units (a platform each, a day of first exposure, an arm by the day's split, a
0/1 outcome and a per-unit revenue), sums them per arm and day as the engine does, and
reviews them with the library's own code: ``segments.analyse`` (every cell, q-values across
cells, Cochran's Q) and ``rollout.analyse_table`` (the stratified estimate, and the pooled one
beside it), ``rollout.phases`` (the sample ratio per stage). No summary statistic is drawn
directly. The level is a fixed alpha = 0.05 (no sequential look) so that rates read simply.

    .venv/bin/python benchmarks/simulate_segments.py            # 2,000 runs per cell
    .venv/bin/python benchmarks/simulate_segments.py --runs 1000 --no-write

It prints the figures and rewrites docs/validation-segments.md (a file of its own, as the
prepost grid has, so that the other benchmarks' rewrites of docs/validation.md keep it).

Cells:

- ``segments-null``: no effect anywhere; the share of runs with any segment cell flagged
  (q < alpha) must be at most alpha (BH at q = alpha is then a Simes test of the global null);
- ``segments-common``: the same effect in every segment (+2 pp conversion, no effect on the
  guardrail): the false discovery rate among flagged cells, and each cell's coverage;
- ``ramp``: 10% treatment in the first week and 50% after, a baseline that rises 20% over
  the 28 days of exposure and a constant +1 pp effect: the stratified estimate's bias (in
  its standard errors) and coverage, and the pooled estimate's bias beside it;
- ``srm``: correct ramps: the per-stage sample-ratio check's false alarm rate at 0.05, 0.01
  and 0.001.

Used by ``tests/test_simulation_segments.py`` with few runs and tolerances of 3 Monte Carlo
standard errors.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from impact import rollout, segments
from impact import spec as spec_module
from impact.metrics import MetricData, MetricTable, Population
from impact.stats.compare import CrossMoments

LAUNCH = dt.date(2026, 9, 1)
DAYS = 28
ALPHA = 0.05
PLATFORMS = ("ios", "android", "web")
SHARES = (0.45, 0.4, 0.15)
RAMP = ((0, 0.1), (7, 0.5))  # (first day, treatment share)


def build_spec(*, staged: bool) -> spec_module.LaunchSpec:
    """A two-metric experiment (conversion, revenue guardrail) with a platform segment."""
    document: dict[str, Any] = {
        "spec_version": 1,
        "id": "simulation",
        "title": "simulation",
        "owner": "nobody",
        "hypothesis": {"users": "u", "problem": "p", "solution": "s", "result": "r"},
        "launch_date": LAUNCH.isoformat(),
        "data": {"source": "data", "control": "control"},
        "metrics": {
            "primary": {
                "name": "conversion",
                "kind": "proportion",
                "event": "buy",
                "window": "14d",
                "target": 0.02,
                "direction": "increase",
            },
            "guardrails": [
                {
                    "name": "revenue",
                    "kind": "mean",
                    "event": "buy",
                    "value": "sum",
                    "window": "14d",
                    "direction": "increase",
                    "margin": 1.0,
                }
            ],
        },
        "segments": [{"column": "platform", "min_units": 30}],
        "decision": {"alpha": ALPHA},
    }
    if staged:
        document["rollout"] = [
            {
                "start": (LAUNCH + dt.timedelta(days=day)).isoformat(),
                "split": {"control": 1 - share, "treatment": share},
            }
            for day, share in RAMP
        ]
    else:
        document["data"]["split"] = {"control": 0.5, "treatment": 0.5}
    return spec_module.from_dict(document, Path("simulation.yaml"))


@dataclass(frozen=True)
class Units:
    """One run's units."""

    day: np.ndarray
    treated: np.ndarray
    platform: np.ndarray
    converted: np.ndarray
    revenue: np.ndarray


def draw(
    rng: np.random.Generator,
    n: int,
    *,
    staged: bool,
    lift: dict[str, float],
    trend: float = 0.0,
    base: float = 0.3,
) -> Units:
    """Units exposed evenly over 28 days; the baseline rises by ``trend`` (a share of it)
    from the first day to the last; treatment adds ``lift[platform]`` to conversion and
    nothing to revenue."""
    day = rng.integers(0, DAYS, n)
    share = np.full(n, 0.5)
    if staged:
        for first, value in RAMP:
            share[day >= first] = value
    treated = rng.random(n) < share
    platform = rng.choice(len(PLATFORMS), n, p=SHARES)
    effect = np.array([lift.get(name, 0.0) for name in PLATFORMS])[platform]
    chance = base * (1 + trend * day / (DAYS - 1)) + np.where(treated, effect, 0.0)
    converted = (rng.random(n) < chance).astype(float)
    # revenue does not depend on the arm: the guardrail's true effect is 0 in every segment
    revenue = (rng.random(n) < base) * rng.gamma(2.0, 10.0, n)
    return Units(day, treated, platform, converted, revenue)


def _moments(values: np.ndarray) -> CrossMoments:
    return CrossMoments(
        int(values.size), (float(values.sum()),), ((float(np.dot(values, values)),),)
    )


def table(
    spec: spec_module.LaunchSpec, units: Units, keep: np.ndarray | None = None
) -> MetricTable:
    """The metric table of some units, per arm and day, as the engine's sums give it."""
    if keep is None:
        keep = np.ones(units.day.size, dtype=bool)
    metrics: dict[str, MetricData] = {}
    arms_by_day: dict[dt.date, dict[str, int]] = {}
    by_day_units: dict[dt.date, int] = {}
    outcomes = {"conversion": units.converted, "revenue": units.revenue}
    days = np.unique(units.day[keep])
    for name, values in outcomes.items():
        by_day = {}
        for d in days:
            here = keep & (units.day == d)
            c, t = values[here & ~units.treated], values[here & units.treated]
            date = LAUNCH + dt.timedelta(days=int(d))
            by_day[date] = (_moments(c), _moments(t))
            arms_by_day[date] = {"control": int(c.size), "treatment": int(t.size)}
            by_day_units[date] = int(c.size + t.size)
        control = values[keep & ~units.treated]
        treatment = values[keep & units.treated]
        metric = spec.metrics.primary if name == "conversion" else spec.metrics.guardrails[0]
        assert metric is not None
        metrics[name] = MetricData(
            metric=metric,
            variables=("y",),
            control=_moments(control),
            treatment=_moments(treatment),
            minimum=None,
            maximum=None,
            by_day=by_day,
        )
    population = Population(
        units={
            "control": int((keep & ~units.treated).sum()),
            "treatment": int((keep & units.treated).sum()),
        },
        first_exposure=None,
        last_exposure=None,
        by_day=by_day_units,
        arms_by_day=arms_by_day,
    )
    return MetricTable(population, metrics)


def by_platform(spec: spec_module.LaunchSpec, units: Units) -> dict[str | None, MetricTable]:
    """Each platform's table, as ``metrics.compute_by`` gives them."""
    return {
        name: table(spec, units, units.platform == index) for index, name in enumerate(PLATFORMS)
    }


@dataclass(frozen=True)
class SegmentRates:
    """What the segment cells did over the runs."""

    runs: int
    any_flagged: float  # share of runs with at least one cell with q < alpha
    fdr: float  # mean share of flagged cells whose true effect is 0 (0 when none flagged)
    coverage: float  # share of cells whose interval holds the true effect
    heterogeneity_alarm: float  # share of Cochran's Q tests with p < alpha


def segment_rates(runs: int, n: int, *, seed: int, lift: float) -> SegmentRates:
    """``lift`` on conversion in every platform (0: nothing anywhere), none on revenue."""
    spec = build_spec(staged=False)
    rng = np.random.default_rng(seed)
    any_flagged = 0
    fdr = 0.0
    covered = cells = 0
    alarms = tests = 0
    lifts = dict.fromkeys(PLATFORMS, lift)
    for _ in range(runs):
        units = draw(rng, n, staged=False, lift=lifts)
        found = segments.analyse(spec, {"platform": by_platform(spec, units)}, alpha=ALPHA)
        flagged = [c for c in found.cells if c.significant(ALPHA)]
        if flagged:
            any_flagged += 1
            false = [c for c in flagged if c.metric.name == "revenue" or lift == 0]
            fdr += len(false) / len(flagged)
        for c in found.cells:
            truth = lift if c.metric.name == "conversion" else 0.0
            low, high = c.comparison.ci_lower, c.comparison.ci_upper
            if low is None or high is None:
                continue
            cells += 1
            covered += low <= truth <= high
        for t in found.tests:
            if t.test.p_value is not None:
                tests += 1
                alarms += t.test.p_value < ALPHA
    return SegmentRates(runs, any_flagged / runs, fdr / runs, covered / cells, alarms / tests)


@dataclass(frozen=True)
class RampRates:
    """The stratified and pooled estimates over the runs (true effect ``effect``)."""

    runs: int
    effect: float
    stratified_bias: float
    stratified_se: float  # mean standard error
    stratified_coverage: float
    pooled_bias: float
    pooled_se: float
    pooled_coverage: float
    shown: float  # share of runs where the pooled estimate is shown beside


def ramp_rates(runs: int, n: int, *, seed: int, effect: float, trend: float) -> RampRates:
    """A 10% -> 50% ramp with the baseline rising by ``trend`` over the launch."""
    spec = build_spec(staged=True)
    rng = np.random.default_rng(seed)
    lifts = dict.fromkeys(PLATFORMS, effect)
    stratified, pooled = [], []
    shown = 0
    for _ in range(runs):
        units = draw(rng, n, staged=True, lift=lifts, trend=trend)
        chosen, naive, _ = rollout.analyse_table(spec, table(spec, units), alpha=ALPHA)
        s, p = chosen["conversion"].comparison, naive["conversion"].comparison
        stratified.append((s.effect, s.se, s.ci_lower, s.ci_upper))
        pooled.append((p.effect, p.se, p.ci_lower, p.ci_upper))
        shown += rollout.differs(s, p)

    def summary(rows: list[tuple[Any, ...]]) -> tuple[float, float, float]:
        effects = np.array([r[0] for r in rows])
        ses = np.array([r[1] for r in rows])
        cover = np.mean([r[2] <= effect <= r[3] for r in rows])
        return float(effects.mean() - effect), float(ses.mean()), float(cover)

    sb, sse, scov = summary(stratified)
    pb, pse, pcov = summary(pooled)
    return RampRates(runs, effect, sb, sse, scov, pb, pse, pcov, shown / runs)


def srm_rates(runs: int, n: int, *, seed: int) -> dict[float, float]:
    """The per-stage sample-ratio check's false alarm rate on correct ramps, per level."""
    spec = build_spec(staged=True)
    rng = np.random.default_rng(seed)
    levels = (0.05, 0.01, 0.001)
    alarms = dict.fromkeys(levels, 0)
    checks = 0
    for _ in range(runs):
        units = draw(rng, n, staged=True, lift={})
        for phase in rollout.phases(spec, table(spec, units)):
            p = phase.sample_ratio.p_value
            assert p is not None
            checks += 1
            for level in levels:
                alarms[level] += p < level
    return {level: count / checks for level, count in alarms.items()}


DOC = Path(__file__).resolve().parent.parent / "docs" / "validation-segments.md"


def document(
    runs: int,
    n: int,
    null: SegmentRates,
    common: SegmentRates,
    ramp: RampRates,
    srm: dict[float, float],
    minutes: float,
) -> str:
    """docs/validation-segments.md from the figures."""
    mc = math.sqrt(0.05 * 0.95 / runs)
    mc_cover = math.sqrt(0.05 * 0.95 / (runs * 6))
    mc_srm = math.sqrt(0.05 * 0.95 / (runs * 2))
    return f"""# Validation: segments and rollout stages

Figures from `benchmarks/simulate_segments.py` (this file is rewritten by it). Each run draws
{n:,} units exposed over 28 days, each on a platform (ios 45%, android 40%, web 15%) with a
0/1 conversion and an independent revenue, sums them per arm and day as the engine does,
and reviews them with the library's own code: `segments.analyse` (every cell, q-values
across the 6 cells, Cochran's Q), `rollout.analyse_table` (stratified and pooled) and
`rollout.phases` (the sample ratio per stage). Level alpha = 0.05 (one look).
`make test` runs small versions (`tests/test_simulation_segments.py`) at 3 Monte Carlo
standard errors.

Run on {dt.date.today()} with {runs:,} runs per cell; {minutes:.1f} minutes on this machine
(2 cores, shared). Monte Carlo standard error of a 5% rate: {mc:.4f}.

## Segment cells

| case | runs with any cell flagged (q < 0.05) | false discovery rate | cell coverage (95% CI) | Cochran's Q alarms (p < 0.05) |
|---|---|---|---|---|
| no effect anywhere | {null.any_flagged:.2%} | {null.fdr:.2%} | {null.coverage:.2%} | {null.heterogeneity_alarm:.2%} |
| +2 pp conversion in every segment, revenue unchanged | {common.any_flagged:.2%} | {common.fdr:.2%} | {common.coverage:.2%} | {common.heterogeneity_alarm:.2%} |

Goals: with no true differences between segments, flagged cells are controlled by
Benjamini-Hochberg at q = alpha. With no effect anywhere, every flagged cell is a false
discovery, so the false discovery rate equals the share of runs with any cell flagged, and
BH over independent cells is then exactly a Simes test: {null.any_flagged:.2%} against 5%
(Monte Carlo standard error {mc:.2%}). With a common effect, the false discoveries are the
revenue cells flagged: {common.fdr:.2%}, at most 5%. Cell coverage 95 +/- 1.5 pp (Monte
Carlo standard error {mc_cover:.2%}); Cochran's Q fires at its level when segments do not
differ.

## A ramp from 10% to 50% treatment with a baseline that rises 20%

| estimate | bias | bias in standard errors | mean standard error | coverage (95% CI) |
|---|---|---|---|---|
| stratified over stages (the verdict's) | {ramp.stratified_bias:+.5f} | {ramp.stratified_bias / ramp.stratified_se:+.3f} | {ramp.stratified_se:.5f} | {ramp.stratified_coverage:.2%} |
| pooled naively | {ramp.pooled_bias:+.5f} | {ramp.pooled_bias / ramp.pooled_se:+.3f} | {ramp.pooled_se:.5f} | {ramp.pooled_coverage:.2%} |

A constant +1 pp effect; 10% of units treated in the first 7 days, 50% after; the baseline
rises from 30% to 36% over the 28 days. Goals: the stratified estimate's bias under a tenth
of its standard error and its coverage 95 +/- 1.5 pp; the pooled estimate reads the rising
baseline as effect. The report shows the pooled estimate beside the stratified one when
they differ by at least half a standard error: in {ramp.shown:.1%} of these runs.

## The sample-ratio check per stage, on correct ramps

| level | false alarm rate |
|---|---|
{chr(10).join(f"| {level:g} | {rate:.2%} |" for level, rate in srm.items())}

Two stages per run, each tested against its own split ({runs * 2:,} checks; Monte Carlo
standard error at 5%: {mc_srm:.2%}). Goal: the rate equals the level. Against one fixed
50/50 split the same correct ramps would fire in every run.
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--units", type=int, default=8000)
    parser.add_argument(
        "--no-write", action="store_true", help="print only; leave docs/validation-segments.md"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    runs, n = args.runs, args.units
    null = segment_rates(runs, n, seed=1, lift=0.0)
    common = segment_rates(runs, n, seed=2, lift=0.02)
    ramp = ramp_rates(runs, n, seed=3, effect=0.01, trend=0.2)
    srm = srm_rates(runs, n, seed=4)
    mc = math.sqrt(0.05 * 0.95 / runs)
    print(f"runs per cell: {runs}, units per run: {n}, alpha {ALPHA} (Monte Carlo se {mc:.4f})")
    print(
        f"segments-null: any cell flagged {null.any_flagged:.4f}; coverage {null.coverage:.4f}; "
        f"Cochran's Q alarms {null.heterogeneity_alarm:.4f}"
    )
    print(
        f"segments-common (+2 pp everywhere): any flagged {common.any_flagged:.4f}; false "
        f"discovery rate {common.fdr:.4f}; coverage {common.coverage:.4f}; Cochran's Q alarms "
        f"{common.heterogeneity_alarm:.4f}"
    )
    print(
        f"ramp 10%->50%, baseline +20%, effect +1 pp: stratified bias {ramp.stratified_bias:+.5f} "
        f"({ramp.stratified_bias / ramp.stratified_se:+.3f} se), coverage "
        f"{ramp.stratified_coverage:.4f}; pooled bias {ramp.pooled_bias:+.5f} "
        f"({ramp.pooled_bias / ramp.pooled_se:+.3f} se), coverage {ramp.pooled_coverage:.4f}; "
        f"pooled shown beside in {ramp.shown:.1%} of runs"
    )
    print(
        "per-stage sample-ratio false alarms: "
        + ", ".join(f"{rate:.4f} at {level:g}" for level, rate in srm.items())
    )
    seconds = time.perf_counter() - started
    print(f"seconds: {seconds:.0f}", file=sys.stderr)
    if not args.no_write:
        DOC.write_text(document(runs, n, null, common, ramp, srm, seconds / 60))


if __name__ == "__main__":
    main()
