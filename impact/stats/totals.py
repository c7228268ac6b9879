"""What several launches moved together: the sum of their effects on one metric.

Each launch's deciding review measured an effect on its primary metric with an interval at
its own level (1 - alpha, after any correction). Launches are independent experiments, so
the standard error of the sum is the square root of the sum of squared standard errors,
each read back from its interval as half its width over the normal quantile of its level;
the sum's interval is normal, at 95%. The sum reads as "what these launches moved in
total" only where the effects add up: the same metric, in the same units, on the same
population, the launches not undoing or overlapping one another. The caller groups them so.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["LEVEL", "Total", "total"]

LEVEL = 0.95


class Total(NamedTuple):
    """The sum of launches' effects and its interval.

    Attributes:
        n: launches summed.
        total: the sum of their effects.
        low: the interval's lower bound; None when a launch had no interval.
        high: the interval's upper bound; None likewise.
        level: the interval's level.
    """

    n: int
    total: float
    low: float | None
    high: float | None
    level: float


def _z(level: float) -> float:
    return statistics.NormalDist().inv_cdf(0.5 + level / 2)


def total(
    effects: Sequence[float],
    intervals: Sequence[tuple[float, float] | None],
    levels: Sequence[float | None],
    *,
    level: float = LEVEL,
) -> Total | None:
    """The sum of independent effects, with a normal interval at ``level``; None for none.

    Examples:
        >>> found = total([0.02, 0.01], [(0.01, 0.03), (0.0, 0.02)], [0.95, 0.95])
        >>> round(found.total, 4), round(found.low, 4), round(found.high, 4)
        (0.03, 0.0159, 0.0441)
    """
    if not len(effects) == len(intervals) == len(levels):
        raise ValueError(
            f"{len(effects)} effects, {len(intervals)} intervals, {len(levels)} levels"
        )
    if not effects:
        return None
    summed = math.fsum(effects)
    variance = 0.0
    for interval, its_level in zip(intervals, levels, strict=True):
        if interval is None or its_level is None:
            return Total(len(effects), summed, None, None, level)
        low, high = interval
        variance += ((high - low) / (2 * _z(its_level))) ** 2
    half = _z(level) * math.sqrt(variance)
    return Total(len(effects), summed, summed - half, summed + half, level)
