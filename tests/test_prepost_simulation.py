"""A small Monte Carlo check of the prepost model (the full run: benchmarks/simulate_prepost.py).

30 null series of each well-specified scenario, seeded: the goal of issue 5 is coverage of the
average-effect interval of at least 90% and false positives of at most 10%. With 30 series a
rate's standard error is about 4 points, so the bounds here allow 3 of them on top of the goal
(coverage >= 80%, false positives after the placebo gate <= 20%).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import prepost_simulation as simulation

RUNS = 30
RIGHT = [s for s in simulation.SCENARIOS if not s.misspecified]


@pytest.mark.parametrize("scenario", RIGHT, ids=[s.name for s in RIGHT])
def test_coverage_and_false_positives(scenario: simulation.Scenario) -> None:
    found = simulation.summarize(scenario, RUNS, seed=7)
    assert found.coverage >= 0.80
    assert found.after_gate <= 0.20
    assert found.after_cap <= found.after_gate <= found.false_positive


def test_an_unmodelled_trend_is_caught_more_often_than_a_modelled_one() -> None:
    trend = next(s for s in simulation.SCENARIOS if s.name == "trend")
    unmodelled = next(s for s in simulation.SCENARIOS if s.name == "trend, not modelled")
    assert (
        simulation.summarize(unmodelled, RUNS, seed=9).invalid
        > simulation.summarize(trend, RUNS, seed=9).invalid
    )
