"""Hit rates, Brier scores and calibration against independent computations."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import proportion_confint

from impact.stats import calibration


@pytest.mark.parametrize(
    ("k", "n"), [(0, 1), (1, 1), (4, 10), (0, 12), (12, 12), (7, 9), (33, 100)]
)
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert calibration.wilson(k, n) == pytest.approx((low, high), abs=1e-12)
    low90, high90 = proportion_confint(k, n, alpha=0.10, method="wilson")
    assert calibration.wilson(k, n, level=0.9) == pytest.approx((low90, high90), abs=1e-12)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        calibration.wilson(3, 2)
    assert calibration.share(0, 0) is None


def test_brier_by_hand() -> None:
    stated = [0.9, 0.8, 0.8, 0.7, 0.6, 0.5]
    met = [True, False, True, False, True, False]
    by_hand = (0.01 + 0.64 + 0.04 + 0.49 + 0.16 + 0.25) / 6
    assert calibration.brier(stated, met) == pytest.approx(by_hand, abs=1e-15)
    perfect = (0.09 + 0.16 + 0.16 + 0.21 + 0.24 + 0.25) / 6
    assert calibration.perfect_brier(stated) == pytest.approx(perfect, abs=1e-15)
    assert calibration.brier([], []) is None


def test_the_decomposition_adds_up_exactly() -> None:
    stated = [0.9, 0.8, 0.8, 0.8, 0.7, 0.7, 0.6, 0.5, 0.5, 0.95]
    met = [True, False, True, False, True, True, False, False, True, True]
    parts = calibration.decomposition(stated, met)
    assert parts is not None
    score = calibration.brier(stated, met)
    assert score == pytest.approx(parts.reliability - parts.resolution + parts.uncertainty)
    # by hand: overall 6 of 10; at 0.8, 1 of 3 met; at 0.7, 2 of 2; at 0.5, 1 of 2
    reliability = (
        (0.9 - 1) ** 2
        + 3 * (0.8 - 1 / 3) ** 2
        + 2 * (0.7 - 1) ** 2
        + (0.6 - 0) ** 2
        + 2 * (0.5 - 0.5) ** 2
        + (0.95 - 1) ** 2
    ) / 10
    resolution = (
        (1 - 0.6) ** 2
        + 3 * (1 / 3 - 0.6) ** 2
        + 2 * (1 - 0.6) ** 2
        + (0 - 0.6) ** 2
        + 2 * (0.5 - 0.6) ** 2
        + (1 - 0.6) ** 2
    ) / 10
    assert parts.reliability == pytest.approx(reliability)
    assert parts.resolution == pytest.approx(resolution)
    assert parts.uncertainty == pytest.approx(0.24)


def test_hits_distribution_is_binomial_when_confidences_agree() -> None:
    expected = scipy_stats.binom.pmf(range(11), 10, 0.8)
    assert calibration.hits_distribution([0.8] * 10) == pytest.approx(list(expected), abs=1e-12)


def test_hits_distribution_by_enumeration() -> None:
    stated = [0.9, 0.6, 0.75, 0.5]
    exact = [0.0] * 5
    for outcome in itertools.product([0, 1], repeat=4):
        exact[sum(outcome)] += math.prod(
            p if y else 1 - p for p, y in zip(stated, outcome, strict=True)
        )
    assert calibration.hits_distribution(stated) == pytest.approx(exact, abs=1e-12)


def test_stated_80_met_4_of_10_is_overconfident() -> None:
    """The issue's case: told plainly, with the interval that says how sure that is."""
    found = calibration.calibration([0.8] * 10, [True] * 4 + [False] * 6)
    assert found.judgement == "overconfident"
    assert found.observed is not None
    assert (found.observed.low, found.observed.high) == pytest.approx(
        proportion_confint(4, 10, method="wilson")
    )
    assert found.p_value == pytest.approx(scipy_stats.binom.cdf(4, 10, 0.8))  # 0.0064


@pytest.mark.parametrize(
    ("stated", "k", "n", "judgement"),
    [
        (0.8, 8, 10, "consistent"),
        (0.7, 5, 10, "consistent"),  # 0.7 is inside [0.237, 0.763]
        (0.5, 10, 10, "underconfident"),
        (0.9, 1, 4, "overconfident"),
    ],
)
def test_judgements(stated: float, k: int, n: int, judgement: str) -> None:
    found = calibration.calibration([stated] * n, [True] * k + [False] * (n - k))
    assert found.judgement == judgement


def test_bins_hold_their_launches() -> None:
    stated = [0.5, 0.55, 0.7, 0.79, 0.8, 1.0, 0.95]
    met = [False, True, True, False, True, True, True]
    bins = calibration.reliability_bins(stated, met)
    assert [(b.low, b.high, b.calibration.n) for b in bins] == [
        (0.5, 0.6, 2),
        (0.7, 0.8, 2),
        (0.8, 0.9, 1),
        (0.9, 1.0, 2),
    ]
    assert bins[1].calibration.stated == pytest.approx(0.745)
    assert bins[1].calibration.observed is not None and bins[1].calibration.observed.rate == 0.5


def test_estimate_errors() -> None:
    found = calibration.estimate_errors([0.02, 0.01, 0.05], [0.01, 0.015, 0.0])
    assert found.mean_ratio == pytest.approx((0.5 + 1.5 + 0.0) / 3)
    assert found.median_ratio == pytest.approx(0.5)
    assert found.overestimated is not None and (found.overestimated.k, found.overestimated.n) == (
        2,
        3,
    )
    with pytest.raises(ValueError):
        calibration.estimate_errors([-0.01], [0.0])
