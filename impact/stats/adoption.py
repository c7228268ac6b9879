"""The adoption funnel over counts: shares with intervals, thresholds, the diagnosis.

eligible -> exposed -> tried -> repeat, each a share of eligible units with a Wilson score
interval. The diagnosis names the first step whose share falls short of its own threshold,
the same comparison as ``met``: the steps before it met theirs, so the shortfall is this
step's. (It once compared conditional shares, tried / exposed against the thresholds' ratio,
which called a funnel whose every threshold was met "communication", and blamed trying when
only coming back fell short.) The problems told apart:

- discoverability: people never see the feature;
- communication: they see it and do not try it;
- value: they try it and do not come back;
- discoverability_or_communication: without an exposure event the first two look alike;
- none: every threshold is met.

Examples:
    >>> thresholds = {"exposed": 0.5, "tried": 0.3, "repeat": 0.15}
    >>> diagnose(1000, 620, 400, 120, thresholds)
    'value'
    >>> diagnose(1000, None, 200, 100, thresholds)
    'discoverability_or_communication'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, NamedTuple

from impact.stats import distributions

__all__ = ["Diagnosis", "Share", "diagnose", "met", "share"]

Diagnosis = Literal[
    "discoverability", "communication", "value", "discoverability_or_communication", "none"
]


class Share(NamedTuple):
    """A count out of a total, its share and the share's Wilson interval.

    Attributes:
        units: units in the step.
        total: units it is a share of.
        value: units / total (None without units).
        lower: the interval's lower bound.
        upper: the interval's upper bound.
    """

    units: int
    total: int
    value: float | None
    lower: float | None
    upper: float | None


def share(count: int, total: int, alpha: float = 0.05) -> Share:
    """The share ``count / total`` with its Wilson score interval at level 1 - alpha.

    Examples:
        >>> s = share(31, 100)
        >>> round(s.value, 2), round(s.lower, 4), round(s.upper, 4)
        (0.31, 0.2278, 0.4063)
    """
    if total <= 0:
        return Share(count, total, None, None, None)
    z = distributions.norm_ppf(1 - alpha / 2)
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Share(count, total, p, max(centre - half, 0.0), min(centre + half, 1.0))


def met(
    eligible: int,
    exposed: int | None,
    tried: int,
    repeat: int,
    thresholds: Mapping[str, float],
) -> bool:
    """Whether every point estimate reaches its threshold (exposure only with its event)."""
    if eligible <= 0:
        return False
    shares = {"tried": tried / eligible, "repeat": repeat / eligible}
    if exposed is not None:
        shares["exposed"] = exposed / eligible
    return all(value >= thresholds[step] for step, value in shares.items())


def diagnose(
    eligible: int,
    exposed: int | None,
    tried: int,
    repeat: int,
    thresholds: Mapping[str, float],
) -> Diagnosis:
    """The first step of the funnel that falls short (see the module docstring).

    ``exposed`` is None when the spec has no exposure event.
    """
    if eligible <= 0:
        return "discoverability" if exposed is not None else "discoverability_or_communication"
    if exposed is not None and exposed / eligible < thresholds["exposed"]:
        return "discoverability"
    if tried / eligible < thresholds["tried"]:
        return "communication" if exposed is not None else "discoverability_or_communication"
    if repeat / eligible < thresholds["repeat"]:
        return "value"
    return "none"
