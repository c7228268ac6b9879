"""Data-health checks over counts: sample-ratio mismatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from impact.stats import distributions

__all__ = ["SampleRatio", "sample_ratio", "sample_ratio_over_stages"]


class SampleRatio(NamedTuple):
    """Chi-square test of the units per arm against the planned split.

    Attributes:
        p_value: the chi-square goodness-of-fit p-value (None without units).
        observed: units per arm.
        expected: units per arm expected from the split.
        short_arm: the arm furthest below its expected count.
        shortfall: the short arm's relative shortfall, e.g. 0.03 for 3% fewer than expected.
    """

    p_value: float | None
    observed: dict[str, int]
    expected: dict[str, float]
    short_arm: str
    shortfall: float


def sample_ratio(observed: Mapping[str, int], split: Mapping[str, float]) -> SampleRatio:
    """Test whether units fell into the arms in the planned proportions.

    Examples:
        >>> round(sample_ratio({"a": 53, "b": 47}, {"a": 0.5, "b": 0.5}).p_value, 10)
        0.5485062355
    """
    arms = list(split)
    total = sum(observed.get(arm, 0) for arm in arms)
    expected = {arm: total * split[arm] for arm in arms}
    counts = {arm: int(observed.get(arm, 0)) for arm in arms}
    if total == 0:
        return SampleRatio(None, counts, expected, arms[0], 0.0)
    chi2 = sum((counts[arm] - expected[arm]) ** 2 / expected[arm] for arm in arms)
    p_value = distributions.chi2_sf(chi2, len(arms) - 1)
    short = min(arms, key=lambda arm: counts[arm] / expected[arm])
    return SampleRatio(p_value, counts, expected, short, 1 - counts[short] / expected[short])


def sample_ratio_over_stages(
    stages: list[tuple[Mapping[str, int], Mapping[str, float]]],
) -> SampleRatio:
    """Test the whole launch's units per arm when each stage had its own split.

    Given each stage's units, the control arm's count is a sum of binomials, with mean
    ``sum n_s p_s`` and variance ``sum n_s p_s (1 - p_s)`` (``p_s`` the stage's control
    share); the test is the two-sided normal test of that sum, whose square is a 1-degree
    chi-square. A shortfall spread thinly over the stages, too small for any one stage's
    test, shows here.

    Examples:
        >>> stages = [({"c": 900, "t": 100}, {"c": 0.9, "t": 0.1}),
        ...           ({"c": 500, "t": 500}, {"c": 0.5, "t": 0.5})]
        >>> sample_ratio_over_stages(stages).p_value
        1.0
    """
    arms = list(stages[0][1])
    counts = {arm: sum(int(found.get(arm, 0)) for found, _ in stages) for arm in arms}
    expected = {arm: 0.0 for arm in arms}
    variance = 0.0
    first = arms[0]
    for found, split in stages:
        n = sum(int(found.get(arm, 0)) for arm in arms)
        for arm in arms:
            expected[arm] += n * split[arm]
        variance += n * split[first] * (1 - split[first])
    if variance == 0:
        return SampleRatio(None, counts, expected, arms[0], 0.0)
    chi2 = (counts[first] - expected[first]) ** 2 / variance
    p_value = distributions.chi2_sf(chi2, 1)
    short = min(arms, key=lambda arm: counts[arm] / expected[arm] if expected[arm] else 1.0)
    return SampleRatio(p_value, counts, expected, short, 1 - counts[short] / expected[short])
