"""CUPED: regression adjustment on pre-period covariates, from sufficient statistics.

Each arm's :class:`~impact.stats.compare.CrossMoments` hold the outcome variables first (y for
means and proportions; the numerator a and denominator b for ratios) and the covariates
after them (the same metric in the pre-period window, and an indicator of having any
pre-period data). A ratio is linearized per arm as (a - R b) / mean(b), with every
cross-moment. With one slope for both arms (``per_arm=False``) the effect equals the
treatment coefficient of an ANCOVA regression y ~ T + z; with a slope per arm it equals Lin's
(2013) regression y ~ T + (z - mean z) + T (z - mean z), which stays consistent when the split
is unequal and the slopes differ.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import numpy as np

from impact.stats.compare import Comparison, CrossMoments, difference, welch_dof

__all__ = ["Adjustment", "adjust"]

MIN_CORRELATION = 0.05


class Adjustment(NamedTuple):
    """A CUPED-adjusted comparison, or why the adjustment was skipped.

    Attributes:
        comparison: the adjusted comparison (None when skipped).
        theta: the slope on each covariate (per arm: control then treatment).
        correlation: the multiple correlation of the outcome with the covariates, pooled
            within arms.
        variance_reduction: 1 - adjusted variance / unadjusted variance of the effect.
        note: why the adjustment was skipped ("" when applied).
        variances: the variance of each arm's adjusted mean, control then treatment (empty
            when skipped); a stratified combination over rollout stages weighs these.
    """

    comparison: Comparison | None
    theta: tuple[tuple[float, ...], ...]
    correlation: float | None
    variance_reduction: float | None
    note: str
    variances: tuple[float, ...] = ()


def _linear(arm: CrossMoments, kind: str, outcomes: int) -> np.ndarray:
    """Weights that turn the arm's variables into its linearized outcome."""
    weights = np.zeros(len(arm.sums))
    if kind == "ratio":
        mean_b = arm.sums[1] / arm.n
        ratio = arm.sums[0] / arm.sums[1]
        weights[0], weights[1] = 1 / mean_b, -ratio / mean_b
    else:
        weights[0] = 1.0
    return weights


def adjust(
    control: CrossMoments,
    treatment: CrossMoments,
    *,
    kind: Literal["proportion", "mean", "ratio"],
    per_arm: bool,
    alpha: float,
    min_correlation: float = MIN_CORRELATION,
) -> Adjustment:
    """Compare two arms after adjusting for pre-period covariates.

    Args:
        control: control moments: outcome variable(s), then covariates.
        treatment: treatment moments in the same order.
        kind: the metric's kind (ratios have two outcome variables).
        per_arm: one slope per arm (for unequal splits) instead of one pooled slope.
        alpha: the level of the interval and test.
        min_correlation: below this multiple correlation the adjustment is skipped.
    """
    outcomes = 2 if kind == "ratio" else 1
    if control.n < 3 or treatment.n < 3:
        return Adjustment(None, (), None, None, "fewer than 3 units in an arm")
    if kind == "ratio" and (control.sums[1] == 0 or treatment.sums[1] == 0):
        return Adjustment(None, (), None, None, "the denominator is zero in an arm")
    arms = [control, treatment]
    covs = [np.array(arm.covariance()) for arm in arms]
    weights = [_linear(arm, kind, outcomes) for arm in arms]
    dof = [arm.n - 1 for arm in arms]
    pooled = (dof[0] * covs[0] + dof[1] * covs[1]) / (dof[0] + dof[1])
    covariates = [
        j
        for j in range(outcomes, len(control.sums))
        if pooled[j, j] > 1e-12 * max(1.0, abs(pooled[j, j]))
    ]
    if not covariates:
        return Adjustment(None, (), None, None, "no unit had pre-period data to adjust with")
    z = np.array(covariates)
    # Var(l), Cov(l, z) and Var(z) per arm, l being the linearized outcome.
    var_l = [float(w @ c @ w) for w, c in zip(weights, covs, strict=True)]
    cov_lz = [c[z][:, :] @ w for w, c in zip(weights, covs, strict=True)]
    cov_zz = [c[np.ix_(z, z)] for c in covs]
    pooled_var_l = (dof[0] * var_l[0] + dof[1] * var_l[1]) / (dof[0] + dof[1])
    pooled_lz = (dof[0] * cov_lz[0] + dof[1] * cov_lz[1]) / (dof[0] + dof[1])
    pooled_zz = (dof[0] * cov_zz[0] + dof[1] * cov_zz[1]) / (dof[0] + dof[1])
    pooled_theta = np.linalg.lstsq(pooled_zz, pooled_lz, rcond=None)[0]
    explained = float(pooled_lz @ pooled_theta)
    correlation = math.sqrt(max(explained, 0.0) / pooled_var_l) if pooled_var_l > 0 else 0.0
    if correlation < min_correlation:
        return Adjustment(
            None,
            (),
            correlation,
            None,
            f"the correlation with the pre-period ({correlation:.3f}) is negligible",
        )
    thetas = (
        [np.linalg.lstsq(cov_zz[k], cov_lz[k], rcond=None)[0] for k in range(2)]
        if per_arm
        else [pooled_theta, pooled_theta]
    )
    total = control.n + treatment.n
    overall = np.array([(control.sums[j] + treatment.sums[j]) / total for j in covariates])
    adjusted, variances, plain = [], [], []
    for k, arm in enumerate(arms):
        means = np.array([arm.sums[j] / arm.n for j in covariates])
        start = arm.sums[0] / arm.sums[1] if kind == "ratio" else arm.sums[0] / arm.n
        theta = thetas[k]
        adjusted.append(start - float(theta @ (means - overall)))
        residual = var_l[k] - 2 * float(theta @ cov_lz[k]) + float(theta @ cov_zz[k] @ theta)
        variances.append(max(residual, 0.0) / arm.n)
        plain.append(var_l[k] / arm.n)
    if variances[0] + variances[1] == 0:
        return Adjustment(None, (), correlation, None, "the adjusted metric does not vary")
    dof_welch = (
        welch_dof(
            variances[0],
            control.n - 1 - len(covariates),
            variances[1],
            treatment.n - 1 - len(covariates),
        )
        if kind == "mean"
        else None
    )
    comparison = difference(
        adjusted[0], variances[0], adjusted[1], variances[1], alpha=alpha, dof=dof_welch
    )
    reduction = 1 - (variances[0] + variances[1]) / (plain[0] + plain[1])
    return Adjustment(
        comparison,
        tuple(tuple(float(v) for v in theta) for theta in thetas),
        correlation,
        reduction,
        "",
        (variances[0], variances[1]),
    )
