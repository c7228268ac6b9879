"""Sample size, achieved power and minimum detectable effect for a two-sided test.

Examples:
    >>> sample_size(variance_control=100, variance_treatment=100, effect=0.3,
    ...             alpha=0.05, power=0.85)
    39904
"""

from __future__ import annotations

import math

from impact.stats import distributions

__all__ = ["achieved_power", "mde", "proportion_variances", "sample_size"]


def proportion_variances(baseline: float, effect: float) -> tuple[float, float]:
    """Per-unit variances of a 0/1 metric in control (baseline) and treatment."""
    treated = min(max(baseline + effect, 0.0), 1.0)
    return baseline * (1 - baseline), treated * (1 - treated)


def sample_size(
    *,
    variance_control: float,
    variance_treatment: float,
    effect: float,
    alpha: float,
    power: float,
    treatment_share: float = 0.5,
) -> int:
    """Total units (both arms) to detect ``effect`` with a two-sided test at level alpha.

    n = (z_{1-alpha/2} + z_{power})^2 (var_c / (1 - s) + var_t / s) / effect^2, with s the
    treatment's share of units.
    """
    if effect == 0:
        raise ValueError("the effect to detect must not be zero")
    z = distributions.norm_ppf(1 - alpha / 2) + distributions.norm_ppf(power)
    spread = variance_control / (1 - treatment_share) + variance_treatment / treatment_share
    return math.ceil(z * z * spread / (effect * effect))


def achieved_power(*, se: float, effect: float, alpha: float) -> float:
    """The power a test with standard error ``se`` had to detect ``effect`` (both tails)."""
    if se <= 0:
        return 1.0
    z = distributions.norm_ppf(1 - alpha / 2)
    shift = abs(effect) / se
    return float(distributions.norm_sf(z - shift) + distributions.norm_cdf(-z - shift))


def mde(*, se: float, alpha: float, power: float) -> float:
    """The smallest effect detectable with the given power at standard error ``se``."""
    return float((distributions.norm_ppf(1 - alpha / 2) + distributions.norm_ppf(power)) * se)
