"""The before/after model's checks: placebo launches, a hold-out, residual autocorrelation.

Each asks of a fitted counterfactual (``impact.stats.prepost.fit``) whether it can be
trusted: fake launch dates inside the pre-period should find no effect, the pre-period's last
days should be forecast within their intervals from the days before, and the one-step
forecast errors should be white noise (Ljung-Box).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from impact.stats import distributions
from impact.stats.prepost import (
    MIN_FIT_DAYS,
    Effect,
    Fit,
    _model,
    _standardize,
    effect,
    forecast,
)

__all__ = [
    "GATE_FALSE_ALARM",
    "MIN_PLACEBOS",
    "RESIDUAL_LAGS",
    "Autocorrelation",
    "Holdout",
    "Placebos",
    "allowed_excluded",
    "holdout",
    "ljung_box",
    "miscalibrated",
    "placebo_starts",
    "placebos",
    "residual_autocorrelation",
]


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


MIN_PLACEBOS = 10  # fewer placebo windows cannot show miscalibration; it is stated instead
# The placebo gate stops a calibrated model in about 1% of reviews (at most this share of
# the simulated calibrated counts exceed what it allows).
GATE_FALSE_ALARM = 0.01
NULL_DRAWS = 20_000  # simulated counts behind that threshold (seeded: the same every run)


@functools.lru_cache(maxsize=256)
def allowed_excluded(
    starts: tuple[int, ...], steps: int, alpha: float, false_alarm: float = GATE_FALSE_ALARM
) -> int:
    """The most placebo windows whose intervals may exclude 0 before the model is called
    miscalibrated: the smallest k that a calibrated model's count exceeds in at most
    ``false_alarm`` of reviews.

    The windows overlap (20 windows of 30 days in 70 days of history share most of their
    days), so their verdicts are not independent and the count is not binomial: when one
    window excludes 0, its neighbours usually do too. The count's distribution is simulated
    from the windows' own overlap: each day's standardized forecast error independent and
    normal, a window's z its errors' sum over sqrt(``steps``), ``NULL_DRAWS`` seeded draws.

    Examples:
        >>> allowed_excluded(tuple(placebo_starts(365, 30)), 30, 0.05)
        4
        >>> allowed_excluded(tuple(placebo_starts(70, 30)), 30, 0.05)  # 13 windows in 70 days
        12
    """
    # A window's sum is the difference of a random walk at its two ends: the walk is drawn
    # only at the days where a window starts or ends, its steps independent with variance
    # the days between them.
    points = sorted(set(starts) | {start + steps for start in starts})
    where = {point: index for index, point in enumerate(points)}
    gaps = np.diff(np.asarray(points, dtype=float), prepend=float(points[0]))
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.standard_normal((NULL_DRAWS, len(points))) * np.sqrt(gaps), axis=1)
    ends = [where[start + steps] for start in starts]
    begins = [where[start] for start in starts]
    z = (walk[:, ends] - walk[:, begins]) / math.sqrt(steps)
    counts = np.sum(np.abs(z) > distributions.norm_ppf(1 - alpha / 2), axis=1)
    above = NULL_DRAWS - np.cumsum(np.bincount(counts, minlength=len(starts) + 1))  # # > k
    return int(np.argmax(above <= false_alarm * NULL_DRAWS))


def miscalibrated(starts: Sequence[int], steps: int, excluded: int, alpha: float) -> bool:
    """Whether ``excluded`` of the placebo windows starting on ``starts`` (each ``steps``
    days long, judged at level ``alpha``) excluding 0 show a miscalibrated model: at least
    ``MIN_PLACEBOS`` windows, and more exclude 0 than ``allowed_excluded``."""
    if len(starts) < MIN_PLACEBOS:
        return False
    return excluded > allowed_excluded(tuple(starts), steps, alpha)


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


RESIDUAL_LAGS = 14  # two weeks: a weekly pattern the model leaves out shows at lag 7


@dataclass(frozen=True)
class Autocorrelation:
    """Whether the one-step forecast errors of the pre-period are white noise.

    A model that leaves a pattern out (a weekly cycle, a trend) forecasts each day with
    errors that repeat: the Ljung-Box test on the standardized errors finds it.

    Attributes:
        lags: the number of lags tested.
        statistic: the Ljung-Box Q.
        p_value: its chi-squared p-value on ``lags`` degrees of freedom.
        worst_lag: the lag whose autocorrelation is furthest from 0.
        worst: that autocorrelation.
    """

    lags: int
    statistic: float
    p_value: float
    worst_lag: int
    worst: float


def ljung_box(residuals: np.ndarray, lags: int) -> Autocorrelation:
    """The Ljung-Box test of ``residuals`` (NaN left out) over lags 1..``lags``:
    Q = n (n + 2) sum r_k^2 / (n - k), chi-squared with ``lags`` degrees of freedom."""
    x = np.asarray(residuals, dtype=float)
    x = x[np.isfinite(x)] - np.nanmean(x)
    n = x.size
    denominator = float(x @ x)
    r = np.array([float(x[k:] @ x[:-k]) / denominator for k in range(1, lags + 1)])
    q = float(n * (n + 2) * np.sum(r**2 / (n - np.arange(1, lags + 1))))
    worst = int(np.argmax(np.abs(r)))
    return Autocorrelation(
        lags, q, float(distributions.chi2_sf(q, lags)), worst + 1, float(r[worst])
    )


def residual_autocorrelation(model_fit: Fit) -> Autocorrelation | None:
    """The Ljung-Box test of the pre-period's standardized one-step forecast errors at the
    fit's most probable parameters (the static model where it outweighs the mode), after
    the days that initialize the state; None for a pre-period too short for
    ``RESIDUAL_LAGS`` (five days per lag) or errors that are all alike (a constant series,
    forecast exactly: the fit's own checks speak for it)."""
    endog = _standardize(model_fit.y, model_fit.centre[0], model_fit.scale[0])
    exog = None
    if model_fit.controls is not None:
        exog = _standardize(
            model_fit.controls[: model_fit.days], model_fit.centre[1:], model_fit.scale[1:]
        )
    model = _model(endog, exog, model_fit.seasonality, model_fit.trend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        params = model_fit.draws[0][1] if model_fit.static_weight > 0.5 else model_fit.params
        results = model.filter(params).filter_results
    burn = max(int(getattr(results, "nobs_diffuse", 0)), model.k_states)
    errors = np.asarray(results.standardized_forecasts_error)[0, burn:]
    lags = min(RESIDUAL_LAGS, int(np.isfinite(errors).sum()) // 5)
    known = errors[np.isfinite(errors)]
    if lags < 2 or not np.any(known != known[0]):
        return None  # errors all alike (a constant series): no autocorrelation to measure
    return ljung_box(errors, lags)
