"""The sum of independent launches' effects and its interval."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from impact.stats import totals


def test_one_launch_gives_back_its_own_interval() -> None:
    found = totals.total([0.02], [(0.01, 0.03)], [0.95])
    assert found == totals.Total(1, 0.02, pytest.approx(0.01), pytest.approx(0.03), 0.95)


def test_the_standard_errors_add_in_squares_each_at_its_own_level() -> None:
    z95, z90 = scipy_stats.norm.ppf(0.975), scipy_stats.norm.ppf(0.95)
    se = [0.004, 0.003]
    found = totals.total(
        [0.02, 0.01],
        [(0.02 - z95 * se[0], 0.02 + z95 * se[0]), (0.01 - z90 * se[1], 0.01 + z90 * se[1])],
        [0.95, 0.90],
    )
    half = z95 * math.hypot(*se)
    assert found.n == 2 and found.total == pytest.approx(0.03)
    assert (found.low, found.high) == pytest.approx((0.03 - half, 0.03 + half))


def test_the_interval_covers_the_true_sum_at_its_level() -> None:
    rng = np.random.default_rng(20261127)
    truth, se = np.array([0.01, -0.005, 0.02]), np.array([0.004, 0.006, 0.005])
    z = scipy_stats.norm.ppf(0.975)
    covered = 0
    trials = 2000
    for _ in range(trials):
        seen = rng.normal(truth, se)
        found = totals.total(
            list(seen), [(s - z * e, s + z * e) for s, e in zip(seen, se, strict=True)], [0.95] * 3
        )
        assert found.low is not None and found.high is not None
        covered += found.low <= truth.sum() <= found.high
    assert abs(covered / trials - 0.95) < 0.015


def test_an_effect_without_an_interval_leaves_the_total_without_one() -> None:
    found = totals.total([0.02, 0.01], [(0.01, 0.03), None], [0.95, None])
    assert (found.total, found.low, found.high) == (pytest.approx(0.03), None, None)


def test_nothing_sums_to_none() -> None:
    assert totals.total([], [], []) is None
