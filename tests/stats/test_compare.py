"""Two-arm comparisons against published numbers and against scipy on raw data.

Reference numbers: ../shared/reference/README.md. V1 and V2 inputs come from
growthbook/growthbook packages/stats/tests/frequentist/test_tests.py; the "ours" values were
computed there with scipy from the stated formulas; the 19/53 vs 13/47 proportions come from
e10v/tea-tasting tests/metrics/test_proportion.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from impact.stats.compare import Moments, fieller, means, proportions

V1_CONTROL = Moments(3407, 1396.87, 52377.9767)
V1_TREATMENT = Moments(3461, 2422.7, 134698.29)


def test_v1_welch_against_reference() -> None:
    result = means(V1_CONTROL, V1_TREATMENT, alpha=0.05)
    assert result.effect == pytest.approx(0.29, abs=1e-6)
    assert result.ci_lower == pytest.approx(0.045378, abs=1e-6)
    assert result.ci_upper == pytest.approx(0.534622, abs=1e-6)
    assert result.se == pytest.approx(0.124784, abs=1e-6)
    assert result.p_value == pytest.approx(0.020158, abs=1e-6)
    assert result.dof == pytest.approx(5841.7, abs=0.05)


def test_v1_fieller_against_reference() -> None:
    result = means(V1_CONTROL, V1_TREATMENT, alpha=0.05)
    assert result.relative_ci_lower == pytest.approx(0.094062, abs=1e-6)
    assert result.relative_ci_upper == pytest.approx(1.708690, abs=1e-6)
    # The delta method's interval (-0.035, 1.450) contains 0 although the test rejects;
    # Fieller's excludes it, as the absolute interval does.
    assert result.relative_ci_lower > 0 and result.ci_lower > 0


def test_v2_proportions_against_reference() -> None:
    result = proportions(Moments(28, 14, 14), Moments(30, 16, 16), alpha=0.05)
    assert result.effect == pytest.approx(0.033333, abs=1e-6)
    assert result.ci_lower == pytest.approx(-0.223899, abs=1e-6)
    assert result.ci_upper == pytest.approx(0.290566, abs=1e-6)
    assert result.se == pytest.approx(0.131244, abs=1e-6)
    assert result.p_value == pytest.approx(0.799510, abs=1e-6)
    assert result.relative_ci_lower == pytest.approx(-0.361582, abs=1e-6)
    assert result.relative_ci_upper == pytest.approx(0.834138, abs=1e-6)


def test_unpooled_proportion_p_value_against_tea_tasting() -> None:
    result = proportions(Moments(53, 19, 19), Moments(47, 13, 13), alpha=0.05)
    assert result.p_value == pytest.approx(0.3770852411807805, rel=1e-12)


def _moments(values: np.ndarray) -> Moments:
    return Moments(len(values), float(values.sum()), float((values**2).sum()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_welch_equals_scipy_on_raw_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.lognormal(1.0, 1.0, 400)
    treatment = rng.lognormal(1.1, 1.2, 650)
    result = means(_moments(control), _moments(treatment), alpha=0.1)
    reference = stats.ttest_ind(treatment, control, equal_var=False)
    interval = reference.confidence_interval(confidence_level=0.9)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.dof == pytest.approx(reference.df, rel=1e-9)
    assert result.ci_lower == pytest.approx(interval.low, rel=1e-9)
    assert result.ci_upper == pytest.approx(interval.high, rel=1e-9)


def test_proportions_equal_a_direct_computation_on_raw_data() -> None:
    rng = np.random.default_rng(7)
    control = (rng.random(900) < 0.3).astype(float)
    treatment = (rng.random(1100) < 0.34).astype(float)
    result = proportions(_moments(control), _moments(treatment), alpha=0.05)
    se = np.sqrt(control.var() / control.size + treatment.var() / treatment.size)
    z = (treatment.mean() - control.mean()) / se
    assert result.se == pytest.approx(se, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_fieller_excludes_zero_exactly_when_the_test_rejects(seed: int) -> None:
    rng = np.random.default_rng(seed)
    control = rng.normal(10, 5, 200)
    treatment = rng.normal(10 + rng.normal(0, 0.8), 5, 200)
    result = means(_moments(control), _moments(treatment), alpha=0.05)
    assert result.relative_ci_lower is not None and result.relative_ci_upper is not None
    rejects = result.p_value is not None and result.p_value < 0.05
    excludes = result.relative_ci_lower > 0 or result.relative_ci_upper < 0
    assert rejects == excludes


def test_fieller_is_unbounded_when_control_is_indistinguishable_from_zero() -> None:
    assert fieller(0.1, 0.01, 0.5, 0.01, 1.96) is None
    result = means(Moments(10, 1.0, 40.0), Moments(10, 5.0, 40.0), alpha=0.05)
    assert result.relative_ci_lower is None
    assert "unbounded" in result.note


@pytest.mark.parametrize(
    ("control", "treatment", "note"),
    [
        (Moments(1, 1.0, 1.0), Moments(5, 2.0, 2.0), "fewer than 2 units"),
        (Moments(10, 0.0, 0.0), Moments(10, 0.0, 0.0), "does not vary"),
        (Moments(0, 0.0, 0.0), Moments(10, 3.0, 3.0), "fewer than 2 units"),
    ],
)
def test_means_degenerate_inputs_say_why(control: Moments, treatment: Moments, note: str) -> None:
    result = means(control, treatment, alpha=0.05)
    assert result.ci_lower is None and result.p_value is None
    assert note in result.note


@pytest.mark.parametrize(
    ("control", "treatment", "note"),
    [
        (Moments(0, 0.0, 0.0), Moments(10, 3.0, 3.0), "no units"),
        (Moments(10, 0.0, 0.0), Moments(12, 0.0, 0.0), "no variation"),
        (Moments(10, 10.0, 10.0), Moments(12, 12.0, 12.0), "no variation"),
    ],
)
def test_proportions_degenerate_inputs_say_why(
    control: Moments, treatment: Moments, note: str
) -> None:
    result = proportions(control, treatment, alpha=0.05)
    assert result.ci_lower is None and result.p_value is None
    assert note in result.note
