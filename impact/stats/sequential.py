"""Alpha spending over the pre-registered looks: Lan-DeMets with O'Brien-Fleming's shape.

A look at information fraction t may have spent at most alpha(t) = 2 (1 - Phi(z / sqrt(t)))
with z the two-sided critical value of alpha. Boundaries are found so that, under the null,
the probability of crossing at any look up to k is exactly alpha(t_k): the looks' z
statistics are jointly normal with corr(Z_i, Z_j) = sqrt(t_i / t_j), which the recursion
below integrates numerically on a grid (deterministic, no Monte Carlo).

Examples:
    >>> round(spending(0.5, 0.05), 10)
    0.0055745967
    >>> [round(level, 4) for level in nominal_levels([0.5, 1.0], 0.05)]
    [0.0056, 0.0478]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from impact.stats import distributions, roots

__all__ = ["boundaries", "boundary", "level", "nominal_levels", "spending", "split_levels"]

GRID = 401  # points per look: levels agree with 3201 points to 1e-10


def spending(t: float, alpha: float) -> float:
    """O'Brien-Fleming-type spending: the alpha spent by information fraction t."""
    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    z = distributions.norm_ppf(1 - alpha / 2)
    return float(2 * distributions.norm_sf(z / math.sqrt(t)))


def _simpson(count: int) -> np.ndarray:
    weights = np.ones(count)
    weights[1:-1:2], weights[2:-1:2] = 4, 2
    return weights / 3


def _excess(
    c: float, t: float, sd: float, grid: np.ndarray | None, density: np.ndarray | None, goal: float
) -> float:
    """How much more than ``goal`` a boundary at ``c`` would spend (the root is the boundary)."""
    return _crossing(c, t, sd, grid, density) - goal


def _crossing(
    c: float, t: float, sd: float, grid: np.ndarray | None, density: np.ndarray | None
) -> float:
    """P(not stopped before, and |Z| >= c at fraction t), with W's density on ``grid``."""
    edge = c * math.sqrt(t)
    if grid is None or density is None:
        return float(2 * distributions.norm_sf(edge / sd))
    weights = _simpson(grid.size) * (grid[1] - grid[0])
    tails = distributions.norm_cdf((-edge - grid) / sd) + distributions.norm_sf((edge - grid) / sd)
    return float(np.sum(weights * density * tails))


def boundaries(
    fractions: Sequence[float],
    alpha: float,
    used: Sequence[float | None] | None = None,
) -> list[float]:
    """Two-sided z boundaries for looks at the given information fractions.

    Args:
        fractions: increasing information fractions in (0, 1]; the last may be below 1 at an
            interim analysis.
        alpha: the total two-sided level, spent fully at t = 1.
        used: for each look, the boundary it actually used (infinity for a look that never
            ran, which spends nothing), or None to solve it here. A later look is solved given
            the earlier boundaries as they were used, so the total probability of crossing
            under the null is alpha(t) of the last look whatever the earlier looks assumed.

    Returns:
        One boundary per look (infinity for a look that may spend nothing).

    Examples:
        >>> [round(c, 4) for c in boundaries([0.5, 1.0], 0.05)]
        [2.7718, 1.9793]
        >>> round(boundaries([0.5, 1.0], 0.05, used=[math.inf, None])[1], 4)  # never ran
        1.96
    """
    given = list(used) if used is not None else [None] * len(fractions)
    if len(given) != len(fractions):
        raise ValueError("used needs one entry per look")
    result: list[float] = []
    spent = 0.0
    # The density of W(t) = Z sqrt(t) on a grid, over paths that have not stopped yet.
    grid: np.ndarray | None = None
    density: np.ndarray | None = None
    previous = 0.0
    for fraction, fixed in zip(fractions, given, strict=True):
        t = min(float(fraction), 1.0)
        target = spending(t, alpha) - spent
        step = t - previous
        if fixed is not None and (math.isinf(fixed) or step <= 0):
            result.append(math.inf)  # a look that never ran: the path goes on unobserved
            continue
        if fixed is None and (target <= 1e-15 or step <= 0):
            result.append(math.inf)
            continue
        sd = math.sqrt(step)
        if fixed is not None:
            c = float(fixed)
        else:
            excess = functools.partial(_excess, t=t, sd=sd, grid=grid, density=density, goal=target)
            c = roots.brent(excess, 0.0, 40.0, xtol=1e-12)
        result.append(c)
        spent += _crossing(c, t, sd, grid, density)
        edge = c * math.sqrt(t)
        new_grid = np.linspace(-edge, edge, GRID)
        if grid is None or density is None:
            new_density = distributions.norm_pdf(new_grid / sd) / sd
        else:
            weights = _simpson(grid.size) * (grid[1] - grid[0])
            kernel = distributions.norm_pdf((new_grid[:, None] - grid[None, :]) / sd) / sd
            new_density = kernel @ (weights * density)
        grid, density, previous = new_grid, new_density, t
    return result


def nominal_levels(
    fractions: Sequence[float], alpha: float, used: Sequence[float | None] | None = None
) -> list[float]:
    """The two-sided nominal level of each look's boundary: every interval at a look uses it.

    ``used`` is as in :func:`boundaries`.
    """
    return [level(c) for c in boundaries(fractions, alpha, used)]


def level(boundary: float) -> float:
    """The two-sided nominal level of a z boundary (0 for an infinite one)."""
    return 0.0 if math.isinf(boundary) else float(2 * distributions.norm_sf(boundary))


def boundary(nominal: float) -> float:
    """The z boundary of a two-sided nominal level (infinity for level 0)."""
    if nominal <= 0:
        return math.inf
    return -distributions.norm_ppf(nominal / 2)


def split_levels(fractions: Sequence[float], alpha: float) -> list[float]:
    """Each look's share of alpha as the spending function allots it: alpha(t_k) - alpha(t_k-1).

    Used where the looks' statistics are not a running sum of independent data (a prepost
    forecast over a growing window): the levels add up to alpha, so by Bonferroni the total
    false-positive rate is at most alpha (conservative).

    Examples:
        >>> [round(level, 4) for level in split_levels([0.5, 1.0], 0.05)]
        [0.0056, 0.0444]
    """
    levels, spent = [], 0.0
    for fraction in fractions:
        total = spending(fraction, alpha)
        levels.append(max(total - spent, 0.0))
        spent = max(spent, total)
    return levels
