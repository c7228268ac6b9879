"""Sample-ratio mismatch and Benjamini-Hochberg against published numbers.

Sources: e10v/tea-tasting tests (sample ratio, multiplicity); growthbook
packages/shared/test/experiments.test.ts (the second BH case); see
../shared/reference/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from impact.stats.checks import sample_ratio
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
