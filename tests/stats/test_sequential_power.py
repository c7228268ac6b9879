"""Alpha spending and sample sizes against published numbers and simulation.

Spending: zalando/expan tests/tests_core/test_early_stopping.py. Sample sizes:
spotify/confidence tests/samplesize/test_samplesizecalculator.py (and G*Power), tolerance
0.5% as stated there. See ../shared/reference/README.md.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from impact.stats import power, sequential


@pytest.mark.parametrize(
    ("t", "spent"),
    [
        (0.2, 1.17264468e-05),
        (0.4, 1.94191300e-03),
        (0.6, 1.13964185e-02),
        (0.8, 2.84296308e-02),
        (1.0, 0.05),
        (0.5, 0.005574596680784305),
    ],
)
def test_spending_against_expan(t: float, spent: float) -> None:
    assert sequential.spending(t, 0.05) == pytest.approx(spent, rel=1e-6)


def test_two_equal_looks() -> None:
    first, _ = sequential.boundaries([0.5, 1.0], 0.05)
    assert first == pytest.approx(2.7718, abs=1e-4)
    levels = sequential.nominal_levels([0.5, 1.0], 0.05)
    assert levels[1] == pytest.approx(0.0478, abs=1e-4)
    # not the leftover spend and not alpha
    assert levels[1] != pytest.approx(0.05 - 0.00557, abs=1e-3) and levels[1] < 0.05


def _crossing_rate(fractions: list[float], bounds: list[float], runs: int = 400_000) -> float:
    rng = np.random.default_rng(5)
    steps = np.diff([0.0, *fractions])
    paths = np.cumsum(rng.normal(size=(runs, len(steps))) * np.sqrt(steps), axis=1)
    z = paths / np.sqrt(fractions)
    return float(np.mean(np.any(np.abs(z) >= np.array(bounds), axis=1)))


@pytest.mark.parametrize(
    "fractions", [[0.5, 1.0], [0.3, 0.6, 1.0], [0.25, 0.5, 0.75, 1.0], [0.7, 1.0]]
)
def test_total_false_positive_rate_is_alpha(fractions: list[float]) -> None:
    bounds = sequential.boundaries(fractions, 0.05)
    rate = _crossing_rate(fractions, bounds)
    se = np.sqrt(0.05 * 0.95 / 400_000)
    assert abs(rate - 0.05) < 4 * se


def test_two_looks_equal_the_bivariate_normal() -> None:
    t1 = 0.4
    c1, c2 = sequential.boundaries([t1, 1.0], 0.05)
    rho = np.sqrt(t1)
    inside = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf(
        [c1, c2], lower_limit=[-c1, -c2]
    )
    assert 1 - inside == pytest.approx(0.05, abs=2e-5)


def test_an_interim_look_spends_only_its_share() -> None:
    (level,) = sequential.nominal_levels([0.5], 0.05)
    assert level == pytest.approx(0.005574596680784305, rel=1e-6)


@pytest.mark.parametrize(
    ("baseline", "effect", "alpha", "wanted", "expected"),
    [
        (0.34, 0.003, 0.05, 0.85, 897_348),
        (0.34, 0.003, 0.14, 0.85, 630_710),
        (0.34, 0.003, 0.14, 0.67, 366_424),
    ],
)
def test_proportion_sample_sizes_against_spotify(
    baseline: float, effect: float, alpha: float, wanted: float, expected: int
) -> None:
    vc, vt = power.proportion_variances(baseline, effect)
    total = power.sample_size(
        variance_control=vc, variance_treatment=vt, effect=effect, alpha=alpha, power=wanted
    )
    assert total == pytest.approx(expected, rel=0.005)


def test_continuous_sample_size_against_spotify() -> None:
    total = power.sample_size(
        variance_control=100, variance_treatment=100, effect=0.3, alpha=0.05, power=0.85
    )
    assert total == pytest.approx(39_906, rel=0.005)


def test_power_and_mde_are_inverse() -> None:
    se = 0.01
    detectable = power.mde(se=se, alpha=0.05, power=0.8)
    assert power.achieved_power(se=se, effect=detectable, alpha=0.05) == pytest.approx(
        0.8, abs=1e-4
    )


def test_unequal_split_needs_more_units() -> None:
    equal = power.sample_size(
        variance_control=1, variance_treatment=1, effect=0.1, alpha=0.05, power=0.8
    )
    skewed = power.sample_size(
        variance_control=1,
        variance_treatment=1,
        effect=0.1,
        alpha=0.05,
        power=0.8,
        treatment_share=0.2,
    )
    assert skewed == pytest.approx(equal * (1 / 0.8 + 1 / 0.2) / 4, rel=1e-3)
