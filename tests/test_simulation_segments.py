"""Small Monte Carlo checks of segments and rollout stages (full runs:
benchmarks/simulate_segments.py, figures in docs/validation.md).

Each rate must lie within 3 Monte Carlo standard errors of its target.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import simulate_segments as simulation

RUNS = 200
UNITS = 6000


def _bound(target: float, runs: int) -> float:
    return 3 * math.sqrt(target * (1 - target) / runs)


def test_no_segment_differences_flag_a_cell_at_most_alpha_of_the_time() -> None:
    result = simulation.segment_rates(RUNS, UNITS, seed=11, lift=0.0)
    assert result.any_flagged <= 0.05 + _bound(0.05, RUNS), result
    assert abs(result.coverage - 0.95) <= _bound(0.95, RUNS * 6), result


def test_a_ramp_with_a_trend_biases_the_pooled_estimate_not_the_stratified_one() -> None:
    result = simulation.ramp_rates(RUNS, UNITS, seed=12, effect=0.01, trend=0.2)
    assert abs(result.stratified_bias) < 3 * result.stratified_se / math.sqrt(RUNS), result
    assert result.pooled_bias > 0.5 * result.pooled_se, result  # late units are mostly treated
    assert abs(result.stratified_coverage - 0.95) <= _bound(0.95, RUNS), result


def test_the_per_stage_sample_ratio_check_fires_at_its_level_on_correct_ramps() -> None:
    rates = simulation.srm_rates(RUNS, UNITS, seed=13)
    assert abs(rates[0.05] - 0.05) <= _bound(0.05, 2 * RUNS), rates
