"""Small Monte Carlo checks of the statistics (the full runs: benchmarks/simulate.py).

Each rate must lie within 3 Monte Carlo standard errors of its target.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import simulation

RUNS = 300
EFFECTS = {"proportion": 0.02, "mean": 1.0, "ratio": 1.0}


def _within(rate: float, target: float, runs: int) -> bool:
    return abs(rate - target) <= 3 * math.sqrt(target * (1 - target) / runs)


@pytest.mark.parametrize("cuped", [False, True])
@pytest.mark.parametrize("kind", ["proportion", "mean", "ratio"])
def test_false_positive_rate_over_both_looks(kind: simulation.Kind, cuped: bool) -> None:
    result = simulation.false_positive_rate(kind, cuped, RUNS, 3000, seed=10)
    assert _within(result.rate, 0.05, RUNS), result


@pytest.mark.parametrize("cuped", [False, True])
@pytest.mark.parametrize("kind", ["proportion", "mean", "ratio"])
def test_interval_coverage(kind: simulation.Kind, cuped: bool) -> None:
    result = simulation.coverage(kind, cuped, RUNS, 3000, seed=20, effect=EFFECTS[kind])
    assert _within(result.rate, 0.95, RUNS), result
    if cuped and kind == "ratio":
        assert result.variance_reduction is not None and result.variance_reduction > 0.05


def test_power_at_the_planned_sample_size() -> None:
    result, planned = simulation.power_at_plan(RUNS, seed=30)
    assert planned > 1000
    assert _within(result.rate, 0.80, RUNS), result


def test_sample_ratio_p_values_are_uniform() -> None:
    assert simulation.srm_uniformity(2000, 1_000_000, seed=40) > 0.01
