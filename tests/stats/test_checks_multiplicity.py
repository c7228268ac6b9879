"""Sample-ratio mismatch and Benjamini-Hochberg against published numbers.

Sources: e10v/tea-tasting tests (sample ratio, multiplicity); growthbook
packages/shared/test/experiments.test.ts (the second BH case); see
../shared/reference/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from impact.stats.checks import sample_ratio, sample_ratio_over_stages
from impact.stats.multiplicity import benjamini_hochberg


def test_sample_ratio_against_tea_tasting() -> None:
    result = sample_ratio({"a": 53, "b": 47}, {"a": 0.5, "b": 0.5})
    assert result.p_value == pytest.approx(0.5485062355001472, rel=1e-9)
    assert result.short_arm == "b"
    assert result.shortfall == pytest.approx(0.06)


def test_sample_ratio_unequal_split_equals_scipy() -> None:
    result = sample_ratio({"control": 2100, "treatment": 7900}, {"control": 0.2, "treatment": 0.8})
    reference = stats.chisquare([2100, 7900], [2000, 8000])
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-12)
    assert result.short_arm == "treatment"


RAMP = ({"control": 0.9, "treatment": 0.1}, {"control": 0.5, "treatment": 0.5})


def test_sample_ratio_over_stages_equals_the_exact_binomial_sum_test() -> None:
    """The control count is a sum of binomials: its z against scipy's norm, by hand."""
    stages = [
        ({"control": 8950, "treatment": 1050}, RAMP[0]),
        ({"control": 15120, "treatment": 14880}, RAMP[1]),
    ]
    result = sample_ratio_over_stages(stages)
    mean = 10_000 * 0.9 + 30_000 * 0.5
    sd = np.sqrt(10_000 * 0.9 * 0.1 + 30_000 * 0.25)
    z = (8950 + 15120 - mean) / sd
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert result.expected == {"control": mean, "treatment": 40_000 - mean}
    assert result.short_arm == "treatment"


def test_sample_ratio_over_stages_false_alarms_at_alpha_and_sees_a_spread_shortfall() -> None:
    """A/A ramps (20,000 units per stage): alarms at alpha = 0.01 in 1% of runs. A 3% loss
    of treatment units in both stages is found more often by the whole-launch test than by
    either stage's own test at the same alpha."""
    rng = np.random.default_rng(20261127)
    runs, alpha = 3000, 0.01

    def alarms(lost: float) -> tuple[float, list[float]]:
        whole, stage = 0, [0, 0]
        for _ in range(runs):
            found = []
            for split in RAMP:
                treated = rng.binomial(20_000, split["treatment"])
                kept = treated - rng.binomial(treated, lost)
                found.append(({"control": 20_000 - treated, "treatment": kept}, split))
            whole += sample_ratio_over_stages(found).p_value < alpha
            for k, (counts, split) in enumerate(found):
                stage[k] += sample_ratio(counts, split).p_value < alpha
        return whole / runs, [n / runs for n in stage]

    null, _ = alarms(0.0)
    assert abs(null - alpha) < 3 * np.sqrt(alpha * (1 - alpha) / runs)  # 0.0054
    found, per_stage = alarms(0.03)
    assert found > max(per_stage) + 0.05, (found, per_stage)


def test_sample_ratio_without_units() -> None:
    assert sample_ratio({}, {"a": 0.5, "b": 0.5}).p_value is None


@pytest.mark.parametrize(
    ("p_values", "expected"),
    [
        ([0.005, 0.06, 0.007, 0.04, 0.01, 0.03], [0.02, 0.06, 0.02, 0.048, 0.02, 0.045]),
        (
            [0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138],
            [0.964, 0.2415, 0.0245, 0.964, 0.7532, 0.0245, 0.2415],
        ),
        ([], []),
        ([0.5], [0.5]),
    ],
)
def test_benjamini_hochberg_against_reference(p_values: list[float], expected: list[float]) -> None:
    assert benjamini_hochberg(p_values) == pytest.approx(expected, abs=1e-4)


def test_benjamini_hochberg_equals_statsmodels() -> None:
    from statsmodels.stats.multitest import multipletests

    p_values = list(np.random.default_rng(3).random(25) ** 2)
    expected = multipletests(p_values, method="fdr_bh")[1]
    assert benjamini_hochberg(p_values) == pytest.approx(list(expected), rel=1e-12)
