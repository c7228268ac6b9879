"""Are a team's bets any good? Hit rates, calibration and estimate errors over plain numbers.

Pure functions: stated confidences (0.5 to 1) and whether each target was met go in, small
typed results come out. ``impact.quarter`` feeds them the published verdicts.

- A hit rate's interval is Wilson's score interval (no continuity correction): unlike the
  normal ("Wald") interval it stays inside [0, 1] and keeps close to its level with the few
  launches of a quarter (Brown, Cai and DasGupta 2001).
- The Brier score is the mean of (stated - met)^2, met being 1 or 0. A perfectly calibrated
  team stating the same confidences would score the mean of stated x (1 - stated) on
  average: the score calibration alone cannot beat. Murphy's decomposition over the distinct
  stated values, Brier = reliability - resolution + uncertainty, holds exactly.
- Whether a team is overconfident: the chance of meeting as few targets as it did (or as
  many, for underconfident) if every stated confidence were right, from the exact
  distribution of the number of hits (a Poisson binomial: independent launches, each with its
  own stated chance), and the Wilson interval of the observed share beside the mean stated one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

from scipy import stats as scipy_stats

__all__ = [
    "EDGES",
    "Bin",
    "Calibration",
    "Decomposition",
    "EstimateErrors",
    "Share",
    "brier",
    "calibration",
    "decomposition",
    "estimate_errors",
    "hits_distribution",
    "perfect_brier",
    "reliability_bins",
    "share",
    "wilson",
]

EDGES = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # reliability bins of stated confidence; the last is closed
LEVEL = 0.95

Judgement = Literal["overconfident", "underconfident", "consistent", "no launches"]


def wilson(k: int, n: int, *, level: float = LEVEL) -> tuple[float, float]:
    """Wilson's score interval for k successes in n trials (no continuity correction).

    Examples:
        >>> [round(x, 4) for x in wilson(4, 10)]
        [0.1682, 0.6873]
    """
    if n <= 0 or not 0 <= k <= n:
        raise ValueError(f"{k} of {n} is not a count of successes in trials")
    z = float(scipy_stats.norm.ppf(0.5 + level / 2))
    rate = k / n
    centre = (rate + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


class Share(NamedTuple):
    """k of n, its rate and its Wilson interval.

    Attributes:
        k: successes (targets met).
        n: trials (launches).
        rate: k / n.
        low: the interval's lower bound.
        high: the interval's upper bound.
    """

    k: int
    n: int
    rate: float
    low: float
    high: float


def share(k: int, n: int, *, level: float = LEVEL) -> Share | None:
    """k of n with Wilson's interval; None when n is 0."""
    if n == 0:
        return None
    low, high = wilson(k, n, level=level)
    return Share(k, n, k / n, low, high)


def _check(stated: Sequence[float], met: Sequence[bool]) -> None:
    if len(stated) != len(met):
        raise ValueError(f"{len(stated)} confidences but {len(met)} outcomes")
    for value in stated:
        if not 0 <= value <= 1:
            raise ValueError(f"confidence {value:g} is not a probability")


def brier(stated: Sequence[float], met: Sequence[bool]) -> float | None:
    """The Brier score: the mean of (stated - met)^2; None without launches.

    Examples:
        >>> brier([0.8, 0.8, 0.6], [True, False, True])
        0.28
    """
    _check(stated, met)
    if not stated:
        return None
    return round(sum((p - float(y)) ** 2 for p, y in zip(stated, met, strict=True)) / len(met), 15)


def perfect_brier(stated: Sequence[float]) -> float | None:
    """What a perfectly calibrated team stating these confidences would score on average:
    the mean of p(1 - p) (each target met with exactly its stated chance)."""
    if not stated:
        return None
    return sum(p * (1 - p) for p in stated) / len(stated)


class Decomposition(NamedTuple):
    """Murphy's decomposition of the Brier score over the distinct stated values.

    Attributes:
        reliability: the mean squared gap between each stated value and the share met
            among the launches that stated it (0 when calibrated; lower is better).
        resolution: how far those shares spread around the overall share met (higher is
            better: the stated values tell launches apart).
        uncertainty: overall share met x (1 - it): what stating that share for every
            launch would score.
    """

    reliability: float
    resolution: float
    uncertainty: float


def decomposition(stated: Sequence[float], met: Sequence[bool]) -> Decomposition | None:
    """Brier = reliability - resolution + uncertainty, exactly; None without launches."""
    _check(stated, met)
    if not stated:
        return None
    total = len(stated)
    overall = sum(met) / total
    groups: dict[float, list[bool]] = {}
    for p, y in zip(stated, met, strict=True):
        groups.setdefault(p, []).append(bool(y))
    reliability = resolution = 0.0
    for p, outcomes in groups.items():
        observed = sum(outcomes) / len(outcomes)
        reliability += len(outcomes) * (p - observed) ** 2 / total
        resolution += len(outcomes) * (observed - overall) ** 2 / total
    return Decomposition(reliability, resolution, overall * (1 - overall))


def hits_distribution(stated: Sequence[float]) -> list[float]:
    """P(exactly j targets met), j = 0..n, if each launch met its target with its stated
    chance, independently (the Poisson binomial distribution, by convolution).

    Examples:
        >>> [round(x, 2) for x in hits_distribution([0.5, 0.5])]
        [0.25, 0.5, 0.25]
    """
    probabilities = [1.0]
    for p in stated:
        step = [0.0] * (len(probabilities) + 1)
        for j, mass in enumerate(probabilities):
            step[j] += mass * (1 - p)
            step[j + 1] += mass * p
        probabilities = step
    return probabilities


class Calibration(NamedTuple):
    """Stated confidence against how often targets were met.

    Attributes:
        n: launches.
        stated: the mean stated confidence.
        observed: the share of targets met, with its Wilson interval.
        judgement: overconfident (the mean stated confidence is above the interval),
            underconfident (below it), consistent, or no launches.
        p_value: the chance, were every stated confidence right, of meeting as few targets
            as observed (overconfident) or as many (underconfident); the smaller of the two
            tails otherwise.
    """

    n: int
    stated: float | None
    observed: Share | None
    judgement: Judgement
    p_value: float | None


def calibration(stated: Sequence[float], met: Sequence[bool]) -> Calibration:
    """Whether stated confidences match the share of targets met, and how sure that is."""
    _check(stated, met)
    if not stated:
        return Calibration(0, None, None, "no launches", None)
    k, n = sum(bool(y) for y in met), len(met)
    mean = sum(stated) / n
    observed = share(k, n)
    assert observed is not None
    distribution = hits_distribution(stated)
    at_most, at_least = sum(distribution[: k + 1]), sum(distribution[k:])
    judgement: Judgement
    if mean > observed.high:
        judgement, p_value = "overconfident", at_most
    elif mean < observed.low:
        judgement, p_value = "underconfident", at_least
    else:
        judgement, p_value = "consistent", min(at_most, at_least)
    return Calibration(n, mean, observed, judgement, min(1.0, p_value))


class Bin(NamedTuple):
    """One reliability bin: launches whose stated confidence fell in [low, high).

    Attributes:
        low: the bin's lower edge.
        high: the bin's upper edge (the last bin includes it).
        calibration: stated against observed within the bin.
    """

    low: float
    high: float
    calibration: Calibration


def reliability_bins(
    stated: Sequence[float], met: Sequence[bool], *, edges: Sequence[float] = EDGES
) -> list[Bin]:
    """The launches in bins of stated confidence (empty bins left out)."""
    _check(stated, met)
    found = []
    for index, (low, high) in enumerate(itertools.pairwise(edges)):
        last = index == len(edges) - 2
        inside = [i for i, p in enumerate(stated) if low <= p < high or (last and p == high)]
        if inside:
            found.append(
                Bin(low, high, calibration([stated[i] for i in inside], [met[i] for i in inside]))
            )
    return found


class EstimateErrors(NamedTuple):
    """How far impact estimates ran from what was measured, across launches.

    Attributes:
        n: launches with a predicted and a measured effect.
        mean_ratio: the mean of measured / predicted (1: on the mark; 0.5: half of it).
        median_ratio: the median of measured / predicted.
        overestimated: launches whose measured effect fell short of the prediction, as a
            share with its Wilson interval.
    """

    n: int
    mean_ratio: float | None
    median_ratio: float | None
    overestimated: Share | None


def estimate_errors(predicted: Sequence[float], measured: Sequence[float]) -> EstimateErrors:
    """Measured against predicted effects, both oriented so that positive is good and the
    predictions positive; the ratios are unitless, so launches of any metric pool."""
    if len(predicted) != len(measured):
        raise ValueError(f"{len(predicted)} predictions but {len(measured)} measurements")
    if any(p <= 0 for p in predicted):
        raise ValueError("a predicted effect must be positive (in the good direction)")
    if not predicted:
        return EstimateErrors(0, None, None, None)
    ratios = sorted(m / p for p, m in zip(predicted, measured, strict=True))
    middle = len(ratios) // 2
    median = ratios[middle] if len(ratios) % 2 else (ratios[middle - 1] + ratios[middle]) / 2
    short = sum(m < p for p, m in zip(predicted, measured, strict=True))
    return EstimateErrors(len(ratios), sum(ratios) / len(ratios), median, share(short, len(ratios)))
