"""Launches without a control group: a structural time-series counterfactual, and its checks.

The model (statsmodels ``UnobservedComponents``) is a local level, with an optional local
linear trend and a stochastic weekly (or other) seasonal, and the control series as
regressors whose coefficients live in the state (``mle_regression=False``), so that their
uncertainty reaches the forecast. Its variances are fit by penalized maximum likelihood
on the pre-period, on standardized data, with a weak prior on the drift variances (level,
trend) scaled by what the controls (and a seasonal pattern) leave unexplained. The
counterfactual of the post-period is the forecast given the pre-period and the post-period's
controls, mixed over parameter points so that the variances' own uncertainty reaches the
interval: points along the level's standard deviation weighted by the penalized likelihood
itself (a quadrature of its posterior, whose long right tail is what a month-long forecast
must carry) and, for a model with controls or a trend, the static model (every drift
variance 0, weighted by its BIC posterior probability against the fitted one).

The average and cumulative effects use the joint forecast distribution: for a linear
Gaussian state space model the forecast errors of days i <= j have covariance
``Z_j T^(j-i) P_i Z_i'`` (plus the observation variance when i = j), with ``P_i`` the
predicted state covariance. Summing the full matrix, never the pointwise variances alone,
keeps the days' shared uncertainty (the level, the coefficients) in the interval.

Placebo-in-time: the same forecast, with the real fit's parameters, from fake launch dates
inside the pre-period. A calibrated model's placebo intervals exclude 0 about alpha of the
time; the rank of the real effect among the placebos gives a permutation-style p-value.

Everything is deterministic: one optimizer, fixed start values, no simulation. A fit
whose variances are all near 0, or at their ceiling, is reported as degenerate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from impact.stats import distributions

__all__ = [
    "Effect",
    "Fit",
    "Forecast",
    "effect",
    "fit",
    "forecast",
]

MIN_FIT_DAYS = 28  # days of data before a placebo launch date, at least
# Variance scales are set relative to what the controls leave unexplained: the residual
# variance of an ordinary regression of the response on the controls (and on the day of the
# seasonal period, with a seasonal) over the pre-period (the response's own variance
# without either). A weekly pattern is no more a level's wandering than a control's
# movement is: scaled by its variance too, the prior pushed a 70-day series' level variance
# up and its interval was 1.45x plain maximum likelihood's. A weak inverse-gamma prior on the
# variance of the level (and of the trend's slope), sigma2 ~ InvGamma(WEIGHT / 2,
# WEIGHT * GUESS^2 * unexplained / 2), a guess of 0.1 of the unexplained sd worth two
# observations, keeps a short pre-period from a level that wanders as much as the noise
# (when it is scaled by the response's total sd, a strong control lets the level wander:
# intervals six times too wide) and from a level frozen at 0 when the data cannot tell.
PRIOR_GUESS = 0.1
# With controls the whole inverse-gamma density shrinks the level (below), so its guess is
# where the prior peaks when the data cannot tell a still level from a slowly moving one,
# and a month's forecast carries that drift: at 0.1, a static regression on a strong control
# (70 days before, 56 after) got intervals 1.29x the regression's, covering 98.5% of 200
# series; at 0.05, 1.12x covering 98% (70/30: 1.15x to 1.06x, covering 95.5% and 95%).
# Without controls the guess only keeps the level off 0, and 0.05 let a 70-day weekly
# series' level sink: its intervals held the truth in 89% of 100 series.
CONTROLS_LEVEL_GUESS = 0.05
PRIOR_WEIGHT = 2.0
PRIOR_SHAPE = PRIOR_WEIGHT / 2
# Bounds of every variance, relative to the response's pre-period variance: a noise floor
# and a lower floor for the drift variances (a constant level is a fit, not a failure). A
# fit whose variances together are below DEGENERATE claims to predict each day to within 1%
# of the series' sd, and a variance at the ceiling explains nothing: both are failed model
# checks, never a silent "converged".
NOISE_FLOOR = 1e-8
DRIFT_FLOOR = 1e-10
DEGENERATE = 1e-4
CEILING = 1e3
NOISE = "sigma2.irregular"
DRIFTS = ("sigma2.level", "sigma2.trend")


@dataclass(frozen=True)
class Fit:
    """A model fit on the pre-period (data standardized by the pre-period's mean and sd).

    Attributes:
        y: the response over the pre-period, original units (NaN for a missing day).
        controls: the control series over the whole span, pre and post (days x k), or None.
        seasonality: the seasonal period in days, or None.
        trend: whether the model has a local linear trend.
        params: the fitted variances (of the standardized model): the posterior mode.
        converged: whether the optimizer reported convergence.
        warnings: what the optimizer warned about, in words (never silent).
        centre: the pre-period means of the response and each control.
        scale: the pre-period standard deviations of the response and each control.
        unexplained: the share of the response's pre-period variance that a regression on
            the controls (and the day of the seasonal period) leaves unexplained (1 without
            either): the scale of the prior and of the bounds.
        names: the names of ``params`` (statsmodels' ``param_names``).
        draws: weighted parameter points (a quadrature of the posterior along the level's
            standard deviation, or sigma points when the level is not free, and the static
            model) whose forecasts are mixed, so that the uncertainty of the variances
            reaches the intervals; empty when it cannot be measured.
        problems: what makes the fit degenerate (a variance at its bound): a failed model
            check, never a silent "converged".
        static_weight: the posterior weight of the static model (every drift variance 0)
            in ``draws``.
    """

    y: np.ndarray
    controls: np.ndarray | None
    seasonality: int | None
    trend: bool
    params: np.ndarray
    converged: bool
    warnings: tuple[str, ...]
    centre: np.ndarray
    scale: np.ndarray
    unexplained: float = 1.0
    names: tuple[str, ...] = ()
    draws: tuple[tuple[float, np.ndarray], ...] = ()
    problems: tuple[str, ...] = ()
    static_weight: float = 0.0
    cache: dict[int, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def days(self) -> int:
        """Days in the pre-period."""
        return int(self.y.size)

    def variances(self) -> dict[str, float]:
        """The fitted variances in the response's units squared, by statsmodels' names."""
        scale2 = float(self.scale[0]) ** 2
        return {name: float(v) * scale2 for name, v in zip(self.names, self.params, strict=True)}


@dataclass(frozen=True)
class Forecast:
    """The counterfactual over a stretch of days, in the response's units.

    Attributes:
        mean: the forecast per day.
        cov: the joint covariance of the days' counterfactual values (observation noise
            included): what the response would have been, not only its expected value.
    """

    mean: np.ndarray
    cov: np.ndarray

    @property
    def sd(self) -> np.ndarray:
        """The pointwise standard deviation per day."""
        return np.sqrt(np.clip(np.diag(self.cov), 0.0, None))


@dataclass(frozen=True)
class Effect:
    """Actual minus counterfactual over a stretch of days.

    Attributes:
        actual: the actual mean per day.
        counterfactual: the counterfactual mean per day.
        average: the average effect per day; ``ci`` its interval at level ``alpha``.
        sd: the standard deviation of the average effect.
        cumulative: the summed effect (meaningful for flows); ``cumulative_ci`` its interval.
        relative: the average effect as a share of the counterfactual mean; ``relative_ci``
            its interval, None when the counterfactual mean's interval contains 0.
        p_value: the two-sided p-value of "no effect".
        alpha: the two-sided level of the intervals.
    """

    actual: float
    counterfactual: float
    average: float
    sd: float
    ci: tuple[float, float]
    cumulative: float
    cumulative_ci: tuple[float, float]
    relative: float | None
    relative_ci: tuple[float, float] | None
    p_value: float
    alpha: float

    @property
    def z(self) -> float:
        """The standardized average effect."""
        return self.average / self.sd if self.sd > 0 else math.inf * np.sign(self.average)

    def excludes_zero(self) -> bool:
        """Whether the interval lies entirely on one side of 0."""
        return self.ci[0] > 0 or self.ci[1] < 0


def _model(endog: np.ndarray, exog: np.ndarray | None, seasonality: int | None, trend: bool):  # type: ignore[no-untyped-def]
    # Imported here: experiments never need statsmodels (0.2 s of every review's start-up).
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    return UnobservedComponents(
        endog,
        level="lltrend" if trend else "llevel",
        seasonal=seasonality,
        exog=exog,
        mle_regression=False,
    )


def _standardize(values: np.ndarray, centre: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (values - centre) / scale


def _unexplained(endog: np.ndarray, exog: np.ndarray | None, seasonality: int | None) -> float:
    """The residual variance of a regression of the standardized response on the controls
    (and on the day of the seasonal period, with a seasonal)."""
    columns = [] if exog is None else [exog]
    if seasonality:
        phase = np.arange(endog.size) % seasonality
        columns.append((phase[:, None] == np.arange(1, seasonality)).astype(float))
    if not columns:
        return 1.0
    regressors = np.column_stack(columns)
    known = np.isfinite(endog) & np.all(np.isfinite(regressors), axis=1)
    design = np.column_stack([np.ones(int(known.sum())), regressors[known]])
    if known.sum() <= design.shape[1] + 1:
        return 1.0
    coefficients, *_ = np.linalg.lstsq(design, endog[known], rcond=None)
    residual = endog[known] - design @ coefficients
    share = float(residual @ residual) / (known.sum() - design.shape[1]) / np.nanvar(endog, ddof=1)
    return min(max(share, DEGENERATE**2), 1.0)


def fit(
    y: np.ndarray,
    controls: np.ndarray | None = None,
    *,
    seasonality: int | None = None,
    trend: bool = False,
) -> Fit:
    """Fit the model on the pre-period by (penalized) maximum likelihood.

    Args:
        y: the response per day of the pre-period (NaN for a missing day).
        controls: the controls per day over the pre-period and after it (days x k): rows
            beyond ``y`` are kept for the forecasts; None without controls.
        seasonality: the seasonal period in days (7 for weekly), or None.
        trend: add a local linear trend.
    """
    y = np.asarray(y, dtype=float)
    days = y.size
    columns = [y]
    if controls is not None:
        controls = np.asarray(controls, dtype=float).reshape(controls.shape[0], -1)
        columns.extend(controls[:days].T)
    pre = np.column_stack(columns)
    centre = np.nanmean(pre, axis=0)
    scale = np.nanstd(pre, axis=0, ddof=1)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    endog = _standardize(y, centre[0], scale[0])
    exog = None if controls is None else _standardize(controls[:days], centre[1:], scale[1:])
    unexplained = _unexplained(endog, exog, seasonality) if np.nanvar(endog) > 0 else 1.0
    model = _model(endog, exog, seasonality, trend)
    names = tuple(model.param_names)
    drifts = [i for i, name in enumerate(names) if name in DRIFTS]
    guesses = [
        CONTROLS_LEVEL_GUESS if controls is not None and name == "sigma2.level" else PRIOR_GUESS
        for name in names
    ]
    prior_scale = [PRIOR_WEIGHT * guess**2 * unexplained / 2 for guess in guesses]
    # With controls the level competes with them for the same movement, and the whole
    # inverse-gamma density shrinks it (its -(shape + 1) log term); without controls the
    # level is all there is to carry the series' movement, and the prior only keeps it off 0.
    # The slope's variance is always shrunk: a prior that only keeps it off 0 lets a straight
    # line's slope wander.
    shrink = [
        PRIOR_SHAPE + 1 if controls is not None or names[i] != "sigma2.level" else 0.0
        for i in range(len(names))
    ]
    lower = np.log([NOISE_FLOOR if n == NOISE else DRIFT_FLOOR for n in names])
    upper = np.full(len(names), math.log(CEILING))

    def objective(log_params: np.ndarray) -> float:
        variances = np.exp(log_params)
        prior = sum(-shrink[i] * log_params[i] - prior_scale[i] / variances[i] for i in drifts)
        value = -(float(model.loglike(variances)) + prior)
        return value if math.isfinite(value) else 1e300

    start = np.log(np.clip(np.asarray(model.start_params, dtype=float), 1e-6, None))
    start = np.clip(start, lower + 1.0, upper - 1.0)
    bounds = list(zip(lower, upper, strict=True))
    # Imported here, as statsmodels is: experiments never need scipy.optimize (0.3 s).
    from scipy import optimize

    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for method in ("L-BFGS-B", "Powell"):
            result = optimize.minimize(objective, start, method=method, bounds=bounds)
            start = result.x
            if result.success:
                break
        mode = np.clip(result.x, lower, upper)
        draws = _sigma_points(objective, mode, upper, unexplained, names)
        measured = bool(draws)
        static_weight = 0.0
        if drifts and not seasonality and (controls is not None or trend):  # see _static
            static, static_weight = _static(model, mode, lower, upper, drifts, endog, names)
            fitted = draws or ((1.0, np.exp(mode)),)
            draws = ((static_weight, static), *((w * (1 - static_weight), p) for w, p in fitted))
    converged = bool(result.success)
    if not converged:
        caught.append(f"the optimizer did not converge: {result.message}")
    for record in records:
        caught.append(f"{record.category.__name__}: {str(record.message).splitlines()[0]}")
    if not measured:
        caught.append(
            "the likelihood's curvature could not be measured, so the intervals leave out "
            "the uncertainty of the fitted variances"
        )
    return Fit(
        y=y,
        controls=controls,
        seasonality=seasonality,
        trend=trend,
        params=np.exp(mode),
        converged=converged,
        warnings=tuple(dict.fromkeys(caught)),
        centre=centre,
        scale=scale,
        unexplained=unexplained,
        names=names,
        draws=draws,
        problems=_constant(y) + _problems(names, mode, upper),
        static_weight=static_weight,
    )


def _constant(y: np.ndarray) -> tuple[str, ...]:
    """A response with the same value on every day before launch: a stalled pipeline more
    often than a fact, and nothing a model can learn its noise from (its interval would be
    as narrow as the optimizer's floor)."""
    known = y[np.isfinite(y)]
    if known.size and np.all(known == known[0]):
        return (f"the series is {known[0]:g} on every day before launch: nothing varies to model",)
    return ()


AT_BOUND = 0.01  # a log variance this close to its bound is at it


def _static(  # type: ignore[no-untyped-def]
    model,
    mode: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    drifts: list[int],
    endog: np.ndarray,
    names: tuple[str, ...],
) -> tuple[np.ndarray, float]:
    """The static model (every drift variance 0) and its posterior weight against the fit.

    With the level, trend and seasonal fixed, the model is a regression on the controls
    with a constant level (and a fixed trend and seasonal pattern): often the truth when a
    strong control explains the response, and one a short pre-period cannot tell from a
    slowly moving level. Its weight is the Bayesian information criterion's approximation
    of its posterior probability, with even prior odds: ``1 / (1 + exp((BIC_s - BIC_d) / 2))``.

    Not for a seasonal model: with the seasonal fixed too, the criterion chose the static
    model on most 70-day series of a slowly moving level with a weekly pattern, and its
    intervals covered 75% (40 series; 100% without it, docs/validation-prepost.md).

    Nor for a local level alone (no controls, no trend): the static model is then a constant,
    whose forecast carries no drift at all, and on 70 days of a random walk (sd 0.3 a day,
    noise 1) the criterion gave it a weight above 0.5 in 8 of 60 series, and 4 of the first
    40 intervals missed the truth, each with a weight of 0.85-0.95 (the level's posterior
    alone covered 3 of them). The cost: a series that truly is a constant plus noise gets
    the level's interval, wider than the constant's.
    """
    noise = [names.index(NOISE)]
    static = lower.copy()

    def objective(log_noise: float) -> float:
        static[noise] = log_noise
        value = -float(model.loglike(np.exp(static)))
        return value if math.isfinite(value) else 1e300

    from scipy import optimize

    found = optimize.minimize_scalar(
        objective, bounds=(float(lower[noise[0]]), float(upper[noise[0]])), method="bounded"
    )
    static[noise] = found.x
    known = math.log(int(np.isfinite(endog).sum()))
    dynamic = -float(model.loglike(np.exp(mode)))
    if not math.isfinite(dynamic):
        return np.exp(static), 1.0
    gap = (2 * float(found.fun) + len(noise) * known) - (2 * dynamic + mode.size * known)
    return np.exp(static), 1 / (1 + math.exp(min(700.0, gap / 2)))


def _problems(names: tuple[str, ...], mode: np.ndarray, upper: np.ndarray) -> tuple[str, ...]:
    found = []
    if float(np.sum(np.exp(mode))) < DEGENERATE:
        found.append(
            "every variance is near 0: the model claims to predict each day almost exactly (a "
            "degenerate fit, as when the response is an exact function of a control)"
        )
    for name, value, high in zip(names, mode, upper, strict=True):
        if value >= high - AT_BOUND:
            found.append(f"the variance {name} is at its upper bound (a degenerate fit)")
    return tuple(found)


def _sigma_points(
    objective: Callable[[np.ndarray], float],
    mode: np.ndarray,
    upper: np.ndarray,
    unexplained: float,
    names: tuple[str, ...],
) -> tuple[tuple[float, np.ndarray], ...]:
    """Parameter points of the posterior of the standard deviations: a quadrature along the
    level's (``_level_quadrature``), or where the level is not free, sigma points.

    The slope's variance stays at its mode: its effect on a forecast grows with the cube of
    the horizon, so a point a few standard deviations out swamps the mixture (a straight
    line with 365 days of history gave intervals 100x too wide).

    The approximation is on the standard deviations (not the variances or their logs): the
    likelihood is even in each of them, so a level whose variance is near 0 still has a
    smooth, symmetric posterior there, and the points reach the positive values the data
    cannot rule out. The curvature is measured by central differences; the points are the
    mode and the mode +- the columns of sqrt((k + kappa) Cov), kappa = max(0, 3 - k) (the
    unscented transform), each standard deviation folded at 0. A variance at its ceiling
    stays fixed. Empty when the curvature is not positive definite. The curvature also
    places the level's quadrature, whose weights are the penalized likelihood itself.
    """
    sds = np.exp(mode / 2)
    free = [
        i for i in range(mode.size) if mode[i] < upper[i] - AT_BOUND and names[i] != "sigma2.trend"
    ]
    if not free:
        return ((1.0, np.exp(mode)),)
    k = len(free)
    steps = np.maximum(0.1 * sds[free], 0.02 * math.sqrt(unexplained))

    def at(changes: dict[int, float]) -> float:
        point = sds.copy()
        for index, change in changes.items():
            point[free[index]] += change
        return objective(np.log(np.maximum(point**2, 1e-300)))

    base = at({})
    hessian = np.empty((k, k))
    for a in range(k):
        ha = steps[a]
        hessian[a, a] = (at({a: ha}) - 2 * base + at({a: -ha})) / ha**2
        for b in range(a):
            hb = steps[b]
            value = (
                at({a: ha, b: hb})
                - at({a: ha, b: -hb})
                - at({a: -ha, b: hb})
                + at({a: -ha, b: -hb})
            ) / (4 * ha * hb)
            hessian[a, b] = hessian[b, a] = value
    try:
        np.linalg.cholesky(hessian)
        cov = np.linalg.inv(hessian)
        root = np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        return ()
    if "sigma2.level" in [names[i] for i in free]:
        return _level_quadrature(objective, sds, free, cov, names, unexplained, upper)
    kappa = max(0.0, 3.0 - k)
    spread = math.sqrt(k + kappa) * root
    points = [(kappa / (k + kappa), np.exp(mode))]
    for column in range(k):
        for sign in (1.0, -1.0):
            point = sds.copy()
            point[free] = np.abs(point[free] + sign * spread[:, column])
            variances = np.clip(point**2, np.exp(mode) * 0 + 1e-12 * unexplained, np.exp(upper))
            points.append((1 / (2 * (k + kappa)), variances))
    return tuple((w, p) for w, p in points if w > 0)


QUADRATURE = np.arange(-5.0, 12.0)  # nodes, in the normal approximation's sds of the level's sd
QUADRATURE_FLOOR = 1e-3  # a node with less weight than this share of the largest is left out


def _level_quadrature(
    objective: Callable[[np.ndarray], float],
    sds: np.ndarray,
    free: list[int],
    cov: np.ndarray,
    names: tuple[str, ...],
    unexplained: float,
    upper: np.ndarray,
) -> tuple[tuple[float, np.ndarray], ...]:
    """Points along the level's sd, weighted by the penalized likelihood itself.

    A 30-day forecast's variance grows with the level's variance times the horizon, so the
    right tail of that variance's posterior is what an interval must carry. Short series
    have a skewed posterior there, longer on the right than the curvature at the mode says;
    sigma points (two per direction, placed by the curvature) miss it. Here the level's sd
    takes evenly spaced values from 5 of the normal approximation's sds below the mode
    (folded at 0) to 11 above, the other sds follow the ridge (their conditional mean under
    the normal approximation), and each point's weight is the penalized likelihood there,
    evaluated, not approximated, read as a density on the sds (as the sigma points read
    it). The other sds' spread about the ridge is left out: the noise's and the seasonal's
    variances move a month's average far less than the level's.
    """
    level = [names[i] for i in free].index("sigma2.level")
    spread = math.sqrt(cov[level, level])
    ridge = cov[:, level] / cov[level, level]
    found = []
    for step in spread * QUADRATURE:  # evenly spaced: a node's weight is its density
        point = sds.copy()
        point[free] = np.abs(point[free] + ridge * step)
        variances = np.clip(point**2, 1e-12 * unexplained, np.exp(upper))
        value = objective(np.log(variances))
        if math.isfinite(value) and value < 1e299:
            found.append((value, variances))
    if not found:
        return ()
    best = min(v for v, _ in found)
    weights = np.array([math.exp(best - v) for v, _ in found])
    keep = weights >= QUADRATURE_FLOOR * weights.max()
    weights = weights[keep] / weights[keep].sum()
    kept = [p for (_, p), k in zip(found, keep, strict=True) if k]
    return tuple((float(w), p) for w, p in zip(weights, kept, strict=True))


def forecast(model_fit: Fit, start: int, steps: int) -> Forecast:
    """The counterfactual of days ``start .. start + steps - 1`` given the days before ``start``.

    ``start`` may be inside the pre-period (a placebo launch) or equal to its length (the
    real launch); the fit's parameters are reused either way. With the fit's parameter
    points the forecast is their mixture: the mean of their means, and the mean of their
    covariances plus the covariance of their means (the law of total variance).
    """
    points = model_fit.draws or ((1.0, model_fit.params),)
    found = [
        (w, *_propagate(_filtered(model_fit, index, start + steps), start, steps))
        for index, (w, _) in enumerate(points)
    ]
    mean = sum(w * m for w, m, _ in found)
    cov = sum(w * (c + np.outer(m - mean, m - mean)) for w, m, c in found)
    scale = model_fit.scale[0]
    return Forecast(np.asarray(mean) * scale + model_fit.centre[0], np.asarray(cov) * scale * scale)


class _Filtered(NamedTuple):
    """One Kalman filter pass at one parameter point, and the matrices to go on from it."""

    states: np.ndarray  # predicted state of each day given the days before it
    state_cov: np.ndarray
    transition: np.ndarray
    disturbance: np.ndarray  # R Q R': the state's added covariance per day
    design: np.ndarray  # states x days: each day's design row (it holds the controls)
    obs_var: float


def _filtered(model_fit: Fit, index: int, span: int) -> _Filtered:
    """The filter at parameter point ``index`` over at least ``span`` days, run once per fit.

    The predicted state of day t given the days before it does not depend on later days, so
    one pass over the pre-period (and the post-period, with no response) serves the real
    forecast and every placebo window.
    """
    cached = model_fit.cache.get(index)
    if cached is not None and cached.design.shape[1] >= span:
        return cached
    days = max(span, model_fit.days)
    y = model_fit.y
    endog = np.full(days, np.nan)
    endog[: y.size] = _standardize(y, model_fit.centre[0], model_fit.scale[0])
    exog = None
    if model_fit.controls is not None:
        if model_fit.controls.shape[0] < days:
            raise ValueError("the controls end before the forecast does")
        exog = _standardize(model_fit.controls[:days], model_fit.centre[1:], model_fit.scale[1:])
    model = _model(endog, exog, model_fit.seasonality, model_fit.trend)
    points = model_fit.draws or ((1.0, model_fit.params),)
    found = _filter(model, points[index][1])
    model_fit.cache[index] = found
    return found


def _propagate(filtered: _Filtered, start: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """The standardized forecast mean and joint covariance of ``steps`` days from ``start``.

    For forecast days i <= j the errors' covariance is ``Z_j T^(j-i) P_i Z_i'`` (plus the
    observation variance when i = j), with ``P_i`` propagated from the filter's prediction
    at ``start`` as ``P_(i+1) = T P_i T' + R Q R'``.
    """
    transition = filtered.transition
    state = filtered.states[:, start]
    state_cov = filtered.state_cov[:, :, start]
    z = filtered.design[:, start : start + steps]
    mean = np.empty(steps)
    carried = np.empty((transition.shape[0], steps))  # Cov(a_i, y_i) for each day i
    for day in range(steps):
        mean[day] = z[:, day] @ state
        carried[:, day] = state_cov @ z[:, day]
        state = transition @ state
        state_cov = transition @ state_cov @ transition.T + filtered.disturbance
    cov = np.zeros((steps, steps))
    for j in range(steps):  # carried[:, i] is T^(j-i) Cov(a_i, y_i) for i <= j
        cov[j, : j + 1] = z[:, j] @ carried[:, : j + 1]
        carried[:, : j + 1] = transition @ carried[:, : j + 1]
    cov = cov + np.tril(cov, -1).T + filtered.obs_var * np.eye(steps)
    return mean, cov


def _filter(model, params: np.ndarray) -> _Filtered:  # type: ignore[no-untyped-def]
    """One Kalman filter pass of a statsmodels model at one parameter point."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = model.filter(params).filter_results
    ssm = model.ssm
    selection = np.atleast_3d(ssm["selection"])[:, :, 0]
    design = np.atleast_3d(ssm["design"])
    return _Filtered(
        states=np.asarray(filtered.predicted_state),
        state_cov=np.asarray(filtered.predicted_state_cov),
        transition=np.atleast_3d(ssm["transition"])[:, :, 0],
        disturbance=selection @ np.atleast_3d(ssm["state_cov"])[:, :, 0] @ selection.T,
        design=design[0][:, np.minimum(np.arange(model.nobs), design.shape[2] - 1)],
        obs_var=float(np.atleast_3d(ssm["obs_cov"])[0, 0, 0]),
    )


def _forecast_at(  # type: ignore[no-untyped-def]
    model, params: np.ndarray, start: int, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The standardized forecast mean and joint covariance of a model at one parameter point
    (the benchmarks use it for statsmodels' own fits)."""
    return _propagate(_filter(model, params), start, steps)


def effect(actual: np.ndarray, counterfactual: Forecast, alpha: float) -> Effect:
    """Average, cumulative and relative effect of ``actual`` against the counterfactual."""
    actual = np.asarray(actual, dtype=float)
    steps = actual.size
    z = distributions.norm_ppf(1 - alpha / 2)
    total_var = float(np.sum(counterfactual.cov))
    sd_total = math.sqrt(max(total_var, 0.0))
    cumulative = float(np.sum(actual - counterfactual.mean))
    average = cumulative / steps
    sd = sd_total / steps
    baseline = float(np.mean(counterfactual.mean))
    mean_actual = float(np.mean(actual))
    if sd > 0:
        p_value = 2 * float(distributions.norm_sf(abs(average) / sd))
    else:
        p_value = 1.0 if average == 0 else 0.0
    relative: float | None = average / baseline if baseline != 0 else None
    relative_ci: tuple[float, float] | None = None
    low, high = baseline - z * sd, baseline + z * sd
    if low > 0 or high < 0:  # the counterfactual mean is told apart from 0
        bounds = sorted((mean_actual / high - 1, mean_actual / low - 1))
        relative_ci = (bounds[0], bounds[1])
    return Effect(
        actual=mean_actual,
        counterfactual=baseline,
        average=average,
        sd=sd,
        ci=(average - z * sd, average + z * sd),
        cumulative=cumulative,
        cumulative_ci=(cumulative - z * sd_total, cumulative + z * sd_total),
        relative=relative,
        relative_ci=relative_ci,
        p_value=p_value,
        alpha=alpha,
    )
