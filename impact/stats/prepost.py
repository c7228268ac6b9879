"""Launches without a control group: a structural time-series counterfactual, and its checks.

The model (statsmodels ``UnobservedComponents``) is a local level, with an optional local
linear trend and a stochastic weekly (or other) seasonal, and the control series as
regressors whose coefficients live in the state (``mle_regression=False``), so that their
uncertainty reaches the forecast. Its variances are fit by maximum likelihood on the
pre-period, on standardized data, with a weak prior on the level's variance (penalized
likelihood: the posterior mode); the counterfactual of the post-period is the forecast
given the pre-period and the post-period's controls.

The average and cumulative effects use the joint forecast distribution: for a linear
Gaussian state space model the forecast errors of days i <= j have covariance
``Z_j T^(j-i) P_i Z_i'`` (plus the observation variance when i = j), with ``P_i`` the
predicted state covariance. Summing the full matrix, never the pointwise variances alone,
keeps the days' shared uncertainty (the level, the coefficients) in the interval.

Placebo-in-time: the same forecast, with the real fit's parameters, from fake launch dates
inside the pre-period. A calibrated model's placebo intervals exclude 0 about alpha of the
time; the rank of the real effect among the placebos gives a permutation-style p-value.

Everything is deterministic: one optimizer, fixed start values, no simulation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from impact.stats import distributions

__all__ = [
    "Effect",
    "Fit",
    "Forecast",
    "Holdout",
    "Placebos",
    "effect",
    "fit",
    "forecast",
    "holdout",
    "placebo_starts",
    "placebos",
]

MIN_FIT_DAYS = 28  # days of data before a placebo launch date, at least
# A weakly informative prior on the variance of the level (and of the trend's slope), on the
# standardized scale: sigma2 ~ InvGamma(WEIGHT / 2, WEIGHT * GUESS^2 / 2), a guess of 0.1 of
# the response's sd (R CausalImpact's setting for series with level changes) worth two
# observations. It keeps a short pre-period from putting the variance on either edge: at 0
# (a frozen level, intervals too narrow) or so large that the band balloons. The estimate
# is the posterior mode; docs/methods.md shows both reference series with and without it.
PRIOR_GUESS = 0.1
PRIOR_WEIGHT = 2.0
PRIOR_SHAPE = PRIOR_WEIGHT / 2
PRIOR_SCALE = PRIOR_WEIGHT * PRIOR_GUESS**2 / 2


@dataclass(frozen=True)
class Fit:
    """A model fit on the pre-period (data standardized by the pre-period's mean and sd).

    Attributes:
        y: the response over the pre-period, original units (NaN for a missing day).
        controls: the control series over the whole span, pre and post (days x k), or None.
        seasonality: the seasonal period in days, or None.
        trend: whether the model has a local linear trend.
        params: the fitted variances (of the standardized model).
        converged: whether the optimizer reported convergence.
        warnings: what the optimizer warned about, in words (never silent).
        centre: the pre-period means of the response and each control.
        scale: the pre-period standard deviations of the response and each control.
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

    @property
    def days(self) -> int:
        """Days in the pre-period."""
        return int(self.y.size)


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
    model = _model(endog, exog, seasonality, trend)
    names = list(model.param_names)
    drifts = [i for i, name in enumerate(names) if name in ("sigma2.level", "sigma2.trend")]

    def objective(log_params: np.ndarray) -> float:
        variances = np.exp(log_params)
        prior = sum(-(PRIOR_SHAPE + 1) * log_params[i] - PRIOR_SCALE / variances[i] for i in drifts)
        value = -(float(model.loglike(variances)) + prior)
        return value if math.isfinite(value) else 1e300

    start = np.log(np.clip(np.asarray(model.start_params, dtype=float), 1e-6, None))
    bounds = [(-30.0, 10.0)] * start.size
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        for method in ("L-BFGS-B", "Powell"):
            result = optimize.minimize(objective, start, method=method, bounds=bounds)
            start = result.x
            if result.success:
                break
    converged = bool(result.success)
    if not converged:
        caught.append(f"the optimizer did not converge: {result.message}")
    for record in records:
        caught.append(f"{record.category.__name__}: {str(record.message).splitlines()[0]}")
    params = np.exp(result.x)
    return Fit(
        y=y,
        controls=controls,
        seasonality=seasonality,
        trend=trend,
        params=params,
        converged=converged,
        warnings=tuple(dict.fromkeys(caught)),
        centre=centre,
        scale=scale,
    )


def forecast(model_fit: Fit, start: int, steps: int) -> Forecast:
    """The counterfactual of days ``start .. start + steps - 1`` given the days before ``start``.

    ``start`` may be inside the pre-period (a placebo launch) or equal to its length (the
    real launch); the fit's parameters are reused either way.
    """
    y = model_fit.y[:start]
    endog = np.concatenate(
        [_standardize(y, model_fit.centre[0], model_fit.scale[0]), np.full(steps, np.nan)]
    )
    exog = None
    if model_fit.controls is not None:
        if model_fit.controls.shape[0] < start + steps:
            raise ValueError("the controls end before the forecast does")
        exog = _standardize(
            model_fit.controls[: start + steps], model_fit.centre[1:], model_fit.scale[1:]
        )
    model = _model(endog, exog, model_fit.seasonality, model_fit.trend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filtered = model.filter(model_fit.params)
    ssm = model.ssm
    transition = np.atleast_3d(ssm["transition"])[:, :, 0]
    design = np.atleast_3d(ssm["design"])
    obs_var = float(np.atleast_3d(ssm["obs_cov"])[0, 0, 0])
    states = filtered.filter_results.predicted_state
    state_cov = filtered.filter_results.predicted_state_cov
    z = [design[0, :, min(start + i, design.shape[2] - 1)] for i in range(steps)]
    mean = np.array([z[i] @ states[:, start + i] for i in range(steps)])
    cov = np.empty((steps, steps))
    for i in range(steps):
        carried = state_cov[:, :, start + i] @ z[i]  # Cov(a_i, y_i) for day i
        for j in range(i, steps):
            cov[j, i] = cov[i, j] = z[j] @ carried
            carried = transition @ carried
        cov[i, i] += obs_var
    scale = model_fit.scale[0]
    return Forecast(mean * scale + model_fit.centre[0], cov * scale * scale)


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


def placebo_starts(
    days: int, steps: int, *, count: int = 20, min_fit: int | None = None
) -> list[int]:
    """Up to ``count`` fake launch days inside a pre-period of ``days`` days, evenly spaced.

    A placebo window of ``steps`` days must end inside the pre-period, and at least
    ``min_fit`` days (default: 28, or two seasonal periods) must come before it.

    Examples:
        >>> placebo_starts(90, 18)[:3], len(placebo_starts(90, 18)), placebo_starts(61, 30)
        ([28, 30, 33], 20, [28, 29, 30, 31])
    """
    first = MIN_FIT_DAYS if min_fit is None else min_fit
    last = days - steps
    if last < first:
        return []
    spots = np.linspace(first, last, num=min(count, last - first + 1))
    return sorted({int(np.rint(spot)) for spot in spots})


@dataclass(frozen=True)
class Placebos:
    """The placebo-in-time windows and what they say about the model.

    Attributes:
        starts: the fake launch days (indices into the pre-period).
        effects: each window's effect at the spec's level.
        excluded: how many placebo intervals exclude 0.
        rank_p: the share of placebos at least as extreme as the real effect (by |z|),
            counting the real one: (1 + k) / (1 + n).
    """

    starts: tuple[int, ...]
    effects: tuple[Effect, ...]
    excluded: int
    rank_p: float | None

    @property
    def count(self) -> int:
        """The number of placebo windows."""
        return len(self.starts)

    @property
    def share_excluded(self) -> float | None:
        """The share of placebo intervals that exclude 0."""
        return self.excluded / self.count if self.count else None


def placebos(model_fit: Fit, steps: int, alpha: float, real: Effect | None = None) -> Placebos:
    """Run the placebo windows of ``steps`` days with the real fit's parameters."""
    min_fit = max(MIN_FIT_DAYS, 2 * (model_fit.seasonality or 0))
    starts = placebo_starts(model_fit.days, steps, min_fit=min_fit)
    found = [
        effect(model_fit.y[start : start + steps], forecast(model_fit, start, steps), alpha)
        for start in starts
    ]
    found = [e for e in found if np.isfinite(e.average)]
    excluded = sum(e.excludes_zero() for e in found)
    rank_p = None
    if real is not None and found:
        extreme = sum(abs(e.z) >= abs(real.z) for e in found)
        rank_p = (1 + extreme) / (1 + len(found))
    return Placebos(tuple(starts), tuple(found), excluded, rank_p)


@dataclass(frozen=True)
class Holdout:
    """How well the model forecasts the last stretch of the pre-period from the days before.

    Attributes:
        days: the length of the held-back stretch.
        mape: the mean absolute percentage error (None when a day's value is 0).
        coverage: the share of held-back days inside their pointwise interval.
        alpha: the level of those intervals.
    """

    days: int
    mape: float | None
    coverage: float
    alpha: float


def holdout(model_fit: Fit, steps: int, alpha: float) -> Holdout | None:
    """Forecast the pre-period's last ``steps`` days from the rest; None when too short."""
    start = model_fit.days - steps
    if start < MIN_FIT_DAYS or steps < 1:
        return None
    predicted = forecast(model_fit, start, steps)
    actual = model_fit.y[start:]
    known = np.isfinite(actual)
    z = distributions.norm_ppf(1 - alpha / 2)
    inside = np.abs(actual[known] - predicted.mean[known]) <= z * predicted.sd[known]
    mape = None
    if np.all(actual[known] != 0):
        mape = float(np.mean(np.abs((actual[known] - predicted.mean[known]) / actual[known])))
    return Holdout(steps, mape, float(np.mean(inside)) if inside.size else math.nan, alpha)
