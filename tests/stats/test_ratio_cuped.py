"""Ratio and CUPED estimates against direct regressions on unit-level rows (statsmodels)."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from impact.stats import cuped
from impact.stats.compare import CrossMoments, ratio_of_means, ratios


def _cross(columns: list[np.ndarray]) -> CrossMoments:
    matrix = np.column_stack(columns)
    return CrossMoments(
        matrix.shape[0],
        tuple(float(v) for v in matrix.sum(axis=0)),
        tuple(tuple(float(v) for v in row) for row in matrix.T @ matrix),
    )


def _arm(rng: np.random.Generator, n: int, lift: float) -> dict[str, np.ndarray]:
    habit = rng.gamma(2.0, 1.0, n)
    history = (rng.random(n) < 0.8).astype(float)
    pre = history * rng.poisson(habit * 2)
    y = rng.poisson(habit * 2 * (1 + lift)) + 0.3 * pre
    basket = rng.gamma(3.0, 15.0, n)  # each unit's usual order size carries over
    orders = rng.poisson(habit) + 1.0
    revenue = orders * basket * rng.gamma(20.0, (1 + lift) / 20.0, n)
    pre_orders = history * (rng.poisson(habit) + 1.0)
    pre_revenue = pre_orders * basket * rng.gamma(20.0, 1 / 20.0, n)
    return {
        "y": y,
        "pre": pre,
        "history": history,
        "num": revenue,
        "den": orders,
        "pre_num": pre_revenue,
        "pre_den": pre_orders,
    }


@pytest.fixture(scope="module")
def arms() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(11)
    return _arm(rng, 3000, 0.0), _arm(rng, 2000, 0.05)


def test_ratio_equals_weighted_regression_and_delta_method(
    arms: tuple[dict[str, np.ndarray], ...],
) -> None:
    control = arms[0]
    ratio, variance = ratio_of_means(_cross([control["num"], control["den"]]))  # type: ignore[misc]
    fit = sm.WLS(control["num"], control["den"], weights=1 / control["den"]).fit()
    assert ratio == pytest.approx(fit.params[0], rel=1e-12)
    # delta method written out on the rows: Var(a - R b) / (n mean(b)^2)
    linear = control["num"] - ratio * control["den"]
    expected = linear.var(ddof=1) / (len(linear) * control["den"].mean() ** 2)
    assert variance == pytest.approx(expected, rel=1e-9)


def test_ratio_comparison_uses_both_arms(arms: tuple[dict[str, np.ndarray], ...]) -> None:
    c, t = (_cross([arm["num"], arm["den"]]) for arm in arms)
    result = ratios(c, t, alpha=0.05)
    rc, vc = ratio_of_means(c)  # type: ignore[misc]
    rt, vt = ratio_of_means(t)  # type: ignore[misc]
    assert result.effect == pytest.approx(rt - rc)
    assert result.se == pytest.approx(np.sqrt(vc + vt))


def test_ratio_with_zero_denominator_says_why() -> None:
    empty = CrossMoments(5, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0)))
    full = _cross([np.arange(5.0), np.ones(5)])
    result = ratios(empty, full, alpha=0.05)
    assert result.ci_lower is None and "denominator is zero" in result.note


def _rows(
    arms: tuple[dict[str, np.ndarray], ...], names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = np.concatenate([arm[names[0]] for arm in arms])
    z = np.column_stack([np.concatenate([arm[n] for arm in arms]) for n in names[1:]])
    treated = np.concatenate([np.zeros(len(arms[0][names[0]])), np.ones(len(arms[1][names[0]]))])
    return y, z, treated


def test_pooled_cuped_equals_ancova(arms: tuple[dict[str, np.ndarray], ...]) -> None:
    names = ["y", "pre", "history"]
    c, t = (_cross([arm[n] for n in names]) for arm in arms)
    result = cuped.adjust(c, t, kind="mean", per_arm=False, alpha=0.05)
    y, z, treated = _rows(arms, names)
    fit = sm.OLS(y, sm.add_constant(np.column_stack([treated, z]))).fit(cov_type="HC2")
    assert result.comparison is not None
    assert result.comparison.effect == pytest.approx(fit.params[1], rel=1e-9)
    assert result.comparison.se == pytest.approx(fit.bse[1], rel=0.02)
    assert result.variance_reduction is not None and result.variance_reduction > 0.1


def test_per_arm_cuped_equals_lin_regression(arms: tuple[dict[str, np.ndarray], ...]) -> None:
    names = ["y", "pre", "history"]
    c, t = (_cross([arm[n] for n in names]) for arm in arms)
    result = cuped.adjust(c, t, kind="mean", per_arm=True, alpha=0.05)
    y, z, treated = _rows(arms, names)
    centred = z - z.mean(axis=0)
    design = sm.add_constant(np.column_stack([treated, centred, treated[:, None] * centred]))
    fit = sm.OLS(y, design).fit(cov_type="HC2")
    assert result.comparison is not None
    assert result.comparison.effect == pytest.approx(fit.params[1], rel=1e-9)
    assert result.comparison.se == pytest.approx(fit.bse[1], rel=0.02)


def test_ratio_cuped_reduces_variance_and_stays_centred(
    arms: tuple[dict[str, np.ndarray], ...],
) -> None:
    names = ["num", "den", "pre_num", "pre_den", "history"]
    c, t = (_cross([arm[n] for n in names]) for arm in arms)
    plain = ratios(
        _cross([arms[0]["num"], arms[0]["den"]]),
        _cross([arms[1]["num"], arms[1]["den"]]),
        alpha=0.05,
    )
    result = cuped.adjust(c, t, kind="ratio", per_arm=False, alpha=0.05)
    assert result.comparison is not None and plain.se is not None
    assert result.comparison.se is not None and result.comparison.se <= plain.se
    assert abs(result.comparison.effect - plain.effect) < 2 * plain.se  # type: ignore[operator]


@pytest.mark.parametrize(
    ("columns", "note"),
    [
        (
            lambda arm: [arm["y"], np.zeros_like(arm["y"]), np.zeros_like(arm["y"])],
            "no unit had pre-period data",
        ),
        (
            lambda arm: [
                arm["y"],
                np.random.default_rng(0).normal(size=arm["y"].size),
                np.ones_like(arm["y"]),
            ],
            "is negligible",
        ),
    ],
)
def test_cuped_fallbacks_say_why(
    arms: tuple[dict[str, np.ndarray], ...], columns: object, note: str
) -> None:
    c, t = (_cross(columns(arm)) for arm in arms)  # type: ignore[operator]
    result = cuped.adjust(c, t, kind="mean", per_arm=False, alpha=0.05)
    assert result.comparison is None and note in result.note
