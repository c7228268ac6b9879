"""Two-arm comparisons over sufficient statistics: means, proportions, relative lift.

Every function takes per-arm moments (n, sum, sum of squares) and returns a
:class:`Comparison`. Effects are treatment minus control in the metric's units. The relative
interval is Fieller's, computed with the same quantile as the absolute interval, so it
excludes 0 exactly when the absolute test rejects.

Examples:
    >>> control = Moments(n=28, total=14, total_sq=14)
    >>> treatment = Moments(n=30, total=16, total_sq=16)
    >>> result = proportions(control, treatment, alpha=0.05)
    >>> round(result.effect, 6), round(result.p_value, 6)
    (0.033333, 0.79951)
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from scipy import stats as scipy_stats

__all__ = ["Comparison", "Moments", "fieller", "means", "proportions"]


class Moments(NamedTuple):
    """Sufficient statistics of one arm.

    Attributes:
        n: number of units.
        total: sum of the per-unit values.
        total_sq: sum of the squared per-unit values.
    """

    n: int
    total: float
    total_sq: float

    @property
    def mean(self) -> float | None:
        """The mean per unit, or None without units."""
        return self.total / self.n if self.n > 0 else None

    def variance(self, *, ddof: int = 1) -> float | None:
        """The variance of the per-unit values, or None with too few units."""
        if self.n - ddof <= 0:
            return None
        mean = self.total / self.n
        return max(self.total_sq - self.n * mean * mean, 0.0) / (self.n - ddof)


class Comparison(NamedTuple):
    """Treatment against control for one metric.

    Attributes:
        control: the control mean (a share for proportions).
        treatment: the treatment mean.
        effect: treatment minus control.
        ci_lower: lower bound of the two-sided interval at level 1 - alpha.
        ci_upper: upper bound of that interval.
        se: standard error of the effect.
        p_value: two-sided p-value of no difference.
        dof: degrees of freedom of the t quantile (None for the normal).
        relative_effect: effect / control.
        relative_ci_lower: lower bound of Fieller's interval for the relative effect.
        relative_ci_upper: upper bound of Fieller's interval.
        alpha: the level used.
        note: why a value is None, in words ("" when every value is present).
    """

    control: float | None
    treatment: float | None
    effect: float | None
    ci_lower: float | None
    ci_upper: float | None
    se: float | None
    p_value: float | None
    dof: float | None
    relative_effect: float | None
    relative_ci_lower: float | None
    relative_ci_upper: float | None
    alpha: float
    note: str


def means(control: Moments, treatment: Moments, *, alpha: float) -> Comparison:
    """Welch's comparison of means, with a t quantile on Welch-Satterthwaite dof.

    Examples:
        >>> c = Moments(3407, 1396.87, 52377.9767)
        >>> t = Moments(3461, 2422.7, 134698.29)
        >>> r = means(c, t, alpha=0.05)
        >>> round(r.ci_lower, 6), round(r.ci_upper, 6), round(r.dof, 1)
        (0.045378, 0.534622, 5841.7)
    """
    var_c, var_t = control.variance(), treatment.variance()
    if var_c is None or var_t is None:
        return _unavailable(control, treatment, alpha, "fewer than 2 units in an arm")
    v_c, v_t = var_c / control.n, var_t / treatment.n
    if v_c + v_t == 0:
        return _unavailable(control, treatment, alpha, "the metric does not vary in either arm")
    dof = (v_c + v_t) ** 2 / (
        (v_c * v_c / (control.n - 1) if v_c else 0.0)
        + (v_t * v_t / (treatment.n - 1) if v_t else 0.0)
    )
    return _compare(control, treatment, v_c, v_t, scipy_stats.t(dof), alpha, dof)


def proportions(control: Moments, treatment: Moments, *, alpha: float) -> Comparison:
    """Difference of proportions: unpooled normal interval and test, no continuity correction.

    ``total`` is the number of units with the event; ``total_sq`` equals it for 0/1 values.
    """
    if control.n == 0 or treatment.n == 0:
        return _unavailable(control, treatment, alpha, "an arm has no units")
    p_c, p_t = control.total / control.n, treatment.total / treatment.n
    v_c, v_t = p_c * (1 - p_c) / control.n, p_t * (1 - p_t) / treatment.n
    if v_c + v_t == 0:
        return _unavailable(
            control, treatment, alpha, "every unit has the same value in both arms (no variation)"
        )
    return _compare(control, treatment, v_c, v_t, scipy_stats.norm(), alpha, None)


def fieller(
    mean_c: float, var_mean_c: float, mean_t: float, var_mean_t: float, quantile: float
) -> tuple[float, float] | None:
    """Fieller's interval for mean_t / mean_c - 1 from independent arms.

    Args:
        mean_c: control mean.
        var_mean_c: variance of the control mean (se squared).
        mean_t: treatment mean.
        var_mean_t: variance of the treatment mean.
        quantile: the two-sided critical value (normal or t).

    Returns:
        The interval, or None when it is unbounded: the control mean is not distinguishable
        from 0 at this level (mean_c**2 <= quantile**2 * var_mean_c).
    """
    q2 = quantile * quantile
    a = mean_c * mean_c - q2 * var_mean_c
    if a <= 0:
        return None
    half_disc = q2 * (mean_t * mean_t * var_mean_c + mean_c * mean_c * var_mean_t) - (
        q2 * q2 * var_mean_c * var_mean_t
    )
    root = math.sqrt(max(half_disc, 0.0))
    low, high = (mean_t * mean_c - root) / a, (mean_t * mean_c + root) / a
    return low - 1, high - 1


def _compare(
    control: Moments,
    treatment: Moments,
    v_c: float,
    v_t: float,
    distribution: Any,
    alpha: float,
    dof: float | None,
) -> Comparison:
    """The comparison given each arm's variance of the mean and the reference distribution."""
    mean_c, mean_t = control.total / control.n, treatment.total / treatment.n
    effect = mean_t - mean_c
    se = math.sqrt(v_c + v_t)
    quantile = float(distribution.ppf(1 - alpha / 2))
    p_value = float(2 * distribution.sf(abs(effect) / se))
    relative = effect / mean_c if mean_c != 0 else None
    interval = fieller(mean_c, v_c, mean_t, v_t, quantile)
    note = ""
    if interval is None:
        note = (
            "the control mean is not distinguishable from 0, so the relative interval is unbounded"
        )
    return Comparison(
        control=mean_c,
        treatment=mean_t,
        effect=effect,
        ci_lower=effect - quantile * se,
        ci_upper=effect + quantile * se,
        se=se,
        p_value=p_value,
        dof=dof,
        relative_effect=relative,
        relative_ci_lower=interval[0] if interval else None,
        relative_ci_upper=interval[1] if interval else None,
        alpha=alpha,
        note=note,
    )


def _unavailable(control: Moments, treatment: Moments, alpha: float, note: str) -> Comparison:
    mean_c, mean_t = control.mean, treatment.mean
    effect = mean_t - mean_c if mean_c is not None and mean_t is not None else None
    return Comparison(
        control=mean_c,
        treatment=mean_t,
        effect=effect,
        ci_lower=None,
        ci_upper=None,
        se=None,
        p_value=None,
        dof=None,
        relative_effect=effect / mean_c if effect is not None and mean_c else None,
        relative_ci_lower=None,
        relative_ci_upper=None,
        alpha=alpha,
        note=note,
    )
