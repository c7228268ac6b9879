"""Does an effect differ between groups? Cochran's Q over per-group effects and variances.

With k groups whose effects d_i have variances v_i, the weights are w_i = 1 / v_i, the
common effect is d = sum(w_i d_i) / sum(w_i), and Q = sum(w_i (d_i - d)^2) follows a
chi-square with k - 1 degrees of freedom when every group has the same true effect. I^2 =
max(0, (Q - (k - 1)) / Q) is the share of the spread beyond chance (Higgins & Thompson,
2002). This is what ``statsmodels.stats.meta_analysis.combine_effects`` reports as ``q``
and ``i2``; tests check it against that.

Examples:
    >>> result = cochran_q([0.03, -0.03], [0.01**2, 0.01**2])
    >>> round(result.statistic, 6), result.dof, round(result.p_value, 10)
    (18.0, 1, 2.20905e-05)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from impact.stats import distributions

__all__ = ["Heterogeneity", "cochran_q"]


class Heterogeneity(NamedTuple):
    """Cochran's Q test that every group has the same effect.

    Attributes:
        statistic: Cochran's Q (None with fewer than 2 groups with a variance).
        dof: its degrees of freedom, groups - 1.
        p_value: the chi-square p-value of Q (None with fewer than 2 groups).
        i2: the share of the spread between groups beyond chance, 0 to 1.
        common: the inverse-variance weighted common effect.
        groups: how many groups were compared.
    """

    statistic: float | None
    dof: int
    p_value: float | None
    i2: float | None
    common: float | None
    groups: int


def cochran_q(effects: Sequence[float], variances: Sequence[float]) -> Heterogeneity:
    """Cochran's Q over groups' effects and the variances of those effects.

    Groups with a variance that is not positive carry no weight and are left out.
    """
    pairs = [(d, v) for d, v in zip(effects, variances, strict=True) if v > 0]
    if len(pairs) < 2:
        return Heterogeneity(None, max(len(pairs) - 1, 0), None, None, None, len(pairs))
    weights = [1 / v for _, v in pairs]
    total = sum(weights)
    common = sum(w * d for w, (d, _) in zip(weights, pairs, strict=True)) / total
    q = sum(w * (d - common) ** 2 for w, (d, _) in zip(weights, pairs, strict=True))
    dof = len(pairs) - 1
    p_value = distributions.chi2_sf(q, dof)
    i2 = max(0.0, (q - dof) / q) if q > 0 else 0.0
    return Heterogeneity(q, dof, p_value, i2, common, len(pairs))
