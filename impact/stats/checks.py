"""Data-health checks over counts: sample-ratio mismatch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from impact.stats import distributions

__all__ = ["SampleRatio", "sample_ratio"]


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
