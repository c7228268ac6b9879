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

from impact.stats import distributions

__all__ = [
    "Comparison",
    "CrossMoments",
    "Moments",
    "difference",
    "fieller",
    "means",
    "proportions",
    "ratio_of_means",
    "ratios",
    "unavailable",
    "welch_dof",
]


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


class CrossMoments(NamedTuple):
    """Sufficient statistics of several per-unit variables in one arm.

    Attributes:
        n: number of units.
        sums: the sum of each variable.
        products: the sums of products of each pair of variables (a symmetric matrix).
    """

    n: int
    sums: tuple[float, ...]
    products: tuple[tuple[float, ...], ...]

    def moments(self, index: int = 0) -> Moments:
        """The moments of one variable."""
        return Moments(self.n, self.sums[index], self.products[index][index])

    def covariance(self) -> list[list[float]]:
        """The sample covariance matrix (n - 1 in the denominator)."""
        k = len(self.sums)
        means = [total / self.n for total in self.sums]
        return [
            [(self.products[i][j] - self.n * means[i] * means[j]) / (self.n - 1) for j in range(k)]
            for i in range(k)
        ]


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

    def to_json(self) -> dict[str, Any]:
        """The comparison's keys in verdict.json (a metric's, a segment cell's, a stage's)."""
        return {
            "control": self.control,
            "treatment": self.treatment,
            "effect": self.effect,
            "ci": [self.ci_lower, self.ci_upper],
            "relative_effect": self.relative_effect,
            "relative_ci": [self.relative_ci_lower, self.relative_ci_upper],
            "p_value": self.p_value,
            "alpha": self.alpha,
            "note": self.note or None,
        }


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
        return unavailable(control.mean, treatment.mean, alpha, "fewer than 2 units in an arm")
    v_c, v_t = var_c / control.n, var_t / treatment.n
    if v_c + v_t == 0:
        return unavailable(
            control.mean, treatment.mean, alpha, "the metric does not vary in either arm"
        )
    dof = welch_dof(v_c, control.n - 1, v_t, treatment.n - 1)
    return difference(
        control.total / control.n, v_c, treatment.total / treatment.n, v_t, alpha=alpha, dof=dof
    )


def welch_dof(v_c: float, dof_c: int, v_t: float, dof_t: int) -> float:
    """Welch-Satterthwaite degrees of freedom from each arm's variance of the mean."""
    return (v_c + v_t) ** 2 / (
        (v_c * v_c / dof_c if v_c else 0.0) + (v_t * v_t / dof_t if v_t else 0.0)
    )


def proportions(control: Moments, treatment: Moments, *, alpha: float) -> Comparison:
    """Difference of proportions: unpooled normal interval and test, no continuity correction.

    ``total`` is the number of units with the event; ``total_sq`` equals it for 0/1 values.
    """
    if control.n == 0 or treatment.n == 0:
        return unavailable(control.mean, treatment.mean, alpha, "an arm has no units")
    p_c, p_t = control.total / control.n, treatment.total / treatment.n
    v_c, v_t = p_c * (1 - p_c) / control.n, p_t * (1 - p_t) / treatment.n
    if v_c + v_t == 0:
        return unavailable(
            p_c, p_t, alpha, "every unit has the same value in both arms (no variation)"
        )
    return difference(p_c, v_c, p_t, v_t, alpha=alpha)


def ratio_of_means(arm: CrossMoments) -> tuple[float, float] | None:
    """An arm's ratio sum(a) / sum(b) and the delta-method variance of it.

    Variables 0 and 1 of ``arm`` are the per-unit numerator a and denominator b. The variance
    is Var(a - R b) / (n * mean(b)^2), which includes the numerator-denominator covariance.
    None when the arm has fewer than 2 units or its denominator sums to 0.
    """
    if arm.n < 2 or arm.sums[1] == 0:
        return None
    ratio = arm.sums[0] / arm.sums[1]
    cov = arm.covariance()
    linear_var = cov[0][0] - 2 * ratio * cov[0][1] + ratio * ratio * cov[1][1]
    mean_b = arm.sums[1] / arm.n
    return ratio, max(linear_var, 0.0) / (arm.n * mean_b * mean_b)


def ratios(control: CrossMoments, treatment: CrossMoments, *, alpha: float) -> Comparison:
    """Difference of ratio metrics (sum of numerators over sum of denominators per arm).

    Delta method with the numerator-denominator covariance, normal quantile.
    """
    c, t = ratio_of_means(control), ratio_of_means(treatment)
    if c is None or t is None:
        zero = [arm for arm, r in (("control", c), ("treatment", t)) if r is None]
        return unavailable(
            control.sums[0] / control.sums[1] if control.sums[1] else None,
            treatment.sums[0] / treatment.sums[1] if treatment.sums[1] else None,
            alpha,
            f"the denominator is zero, or fewer than 2 units, in {' and '.join(zero)}",
        )
    if c[1] + t[1] == 0:
        return unavailable(c[0], t[0], alpha, "the metric does not vary in either arm")
    return difference(c[0], c[1], t[0], t[1], alpha=alpha)


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


def difference(
    mean_c: float,
    var_mean_c: float,
    mean_t: float,
    var_mean_t: float,
    *,
    alpha: float,
    dof: float | None = None,
) -> Comparison:
    """Treatment minus control from each arm's mean and the variance of that mean.

    The interval and test use the t distribution on ``dof`` degrees of freedom, or the
    normal when ``dof`` is None; the relative interval is Fieller's with the same quantile.
    """
    effect = mean_t - mean_c
    se = math.sqrt(var_mean_c + var_mean_t)
    if dof is None:
        quantile = distributions.norm_ppf(1 - alpha / 2)
        p_value = 2 * float(distributions.norm_sf(abs(effect) / se))
    else:
        quantile = distributions.t_ppf(1 - alpha / 2, dof)
        p_value = 2 * distributions.t_sf(abs(effect) / se, dof)
    relative = effect / mean_c if mean_c != 0 else None
    interval = fieller(mean_c, var_mean_c, mean_t, var_mean_t, quantile)
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


def unavailable(mean_c: float | None, mean_t: float | None, alpha: float, note: str) -> Comparison:
    """A comparison that cannot be computed, with the reason in words."""
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
