"""Simulated daily series with known effects, for the prepost model's validation.

A grid of cells: a data-generating process (with the model fit to it, right or
misspecified) x days before launch x days after it. Each series is drawn once, fit once,
and judged twice: as drawn (true effect 0) and with +1 noise sd added to every day after
launch (true effect +1). The model is fit on the pre-period alone, so the second is the
first shifted by exactly 1; the placebo rank cap is what differs.

Beside our model, on the same series:

- *regression*: ordinary least squares of the response on the controls (an intercept only
  without controls), the post-period's average prediction error with its t interval;
- *plain UC*: statsmodels' UnobservedComponents with the same parts as ours, fit by plain
  maximum likelihood (its own start values and optimizer, no prior, no parameter
  uncertainty), with the same joint-forecast interval of the average.

Runs are seeded and deterministic.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from impact.prepost import RESIDUAL_ALPHA
from impact.stats import prepost, prepost_checks

ALPHA = 0.05
PRES = (70, 365, 730)
POSTS = (30, 56)
EFFECT = 1.0  # the +1 noise sd effect; every process has noise sd 1


Draw = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray | None]]


@dataclass(frozen=True)
class Scenario:
    """A data-generating process and the model fit to it.

    Attributes:
        name: a short label.
        draw: (rng, days, launch) -> (response, controls or None), noise sd 1.
        seasonality: the model's seasonal period (None for none).
        trend: whether the model has a trend.
        misspecified: whether the model leaves out part of the process.
        reference: the correct model fit by plain maximum likelihood ("regression" or "uc"),
            whose interval width ours is held to (None where no model is correct).
    """

    name: str
    draw: Draw
    seasonality: int | None = None
    trend: bool = False
    misspecified: bool = False
    reference: str | None = "uc"


WEEK = np.array([0.0, 0.5, 0.8, 0.6, 0.3, -1.2, -1.0])


def _ar1(rng: np.random.Generator, days: int, phi: float, sd: float) -> np.ndarray:
    shocks = rng.normal(0, sd * math.sqrt(1 - phi**2), days)
    values = np.empty(days)
    values[0] = rng.normal(0, sd)
    for day in range(1, days):
        values[day] = phi * values[day - 1] + shocks[day]
    return values


def _strong_control(
    rng: np.random.Generator, days: int, launch: int
) -> tuple[np.ndarray, np.ndarray]:
    control = 50 + _ar1(rng, days, 0.8, 10.0)
    return 10 + 1.2 * control + rng.normal(0, 1, days), control[:, None]


def _control_moves(
    rng: np.random.Generator, days: int, launch: int
) -> tuple[np.ndarray, np.ndarray]:
    """Something else moves at launch (a market-wide jump of one control sd); the response
    follows it through the control, so a model with the control must not call it an effect."""
    control = 50 + _ar1(rng, days, 0.8, 10.0)
    control[launch:] += 10.0
    return 10 + 1.2 * control + rng.normal(0, 1, days), control[:, None]


def _level(rng: np.random.Generator, days: int, launch: int) -> tuple[np.ndarray, None]:
    return 100 + np.cumsum(rng.normal(0, 0.3, days)) + rng.normal(0, 1, days), None


def _weekly(rng: np.random.Generator, days: int, launch: int) -> tuple[np.ndarray, None]:
    level = 100 + np.cumsum(rng.normal(0, 0.2, days))
    return level + 3 * WEEK[np.arange(days) % 7] + rng.normal(0, 1, days), None


def _trend(rng: np.random.Generator, days: int, launch: int) -> tuple[np.ndarray, None]:
    return 100 + 0.3 * np.arange(days) + rng.normal(0, 1, days), None


SCENARIOS = [
    Scenario("strong control", _strong_control, reference="regression"),
    Scenario("level random walk", _level),
    Scenario("weekly seasonality", _weekly, seasonality=7),
    Scenario("linear trend", _trend, trend=True),
    Scenario("control moves at launch", _control_moves, reference="regression"),
    Scenario("weekly, not modelled", _weekly, misspecified=True, reference=None),
]


@dataclass(frozen=True)
class Interval:
    """One method's average effect on one series (true effect 0)."""

    estimate: float
    low: float
    high: float

    def shifted(self, by: float) -> Interval:
        return Interval(self.estimate + by, self.low + by, self.high + by)


@dataclass(frozen=True)
class Run:
    """What one series gave, by method, before the effect is added."""

    ours: Interval
    regression: Interval
    plain: Interval | None  # None when statsmodels' own fit failed
    placebo_starts: tuple[int, ...]  # the placebo windows' fake launch days
    placebo_steps: int  # their length (the post-period's)
    placebo_excluded: int  # how many of their intervals exclude 0
    placebo_z: tuple[float, ...]  # each window's effect over its sd
    degenerate: bool  # a failed model check (a variance at its bound, zero width)
    residual_p: float | None  # the one-day errors' Ljung-Box p-value (None: too short)
    capped_null: bool  # the rank cap holds a claim back (true effect 0)
    capped_effect: bool  # ... with the effect added

    @property
    def gated(self) -> bool:
        """Whether the placebo gate makes the verdict invalid (impact.prepost's rule)."""
        return prepost_checks.miscalibrated(
            self.placebo_starts, self.placebo_steps, self.placebo_excluded, ALPHA
        )

    @property
    def gated_by_twice_alpha(self) -> bool:
        """Whether DESIGN.md's first gate (more than 2 alpha of at least 10 windows excluding
        0, which ignored their overlap) would have made the verdict invalid."""
        count = len(self.placebo_starts)
        return count >= prepost_checks.MIN_PLACEBOS and self.placebo_excluded / count > 2 * ALPHA

    @property
    def repeats(self) -> bool:
        """Whether the one-day errors repeat (the residuals check fails)."""
        return self.residual_p is not None and self.residual_p < RESIDUAL_ALPHA


def _regression(y: np.ndarray, controls: np.ndarray | None, pre: int) -> Interval:
    days = y.size
    design = np.ones((days, 1)) if controls is None else np.column_stack([np.ones(days), controls])
    x, target = design[:pre], y[:pre]
    gram = np.linalg.inv(x.T @ x)
    coefficients = gram @ x.T @ target
    residual = target - x @ coefficients
    dof = pre - design.shape[1]
    s2 = float(residual @ residual) / dof
    post = design[pre:]
    steps = post.shape[0]
    average = float(np.mean(y[pre:] - post @ coefficients))
    mean_row = post.mean(axis=0)
    sd = math.sqrt(s2 / steps + s2 * float(mean_row @ gram @ mean_row))
    half = float(stats.t.ppf(1 - ALPHA / 2, dof)) * sd
    return Interval(average, average - half, average + half)


def _plain(
    scenario: Scenario, y: np.ndarray, controls: np.ndarray | None, pre: int
) -> Interval | None:
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    steps = y.size - pre
    centre, scale = float(np.mean(y[:pre])), float(np.std(y[:pre], ddof=1))
    endog = np.concatenate([(y[:pre] - centre) / scale, np.full(steps, np.nan)])
    exog = None
    if controls is not None:
        exog = (controls - controls[:pre].mean(axis=0)) / controls[:pre].std(axis=0, ddof=1)
    kwargs = {"level": "lltrend" if scenario.trend else "llevel", "seasonal": scenario.seasonality}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = UnobservedComponents(
            endog[:pre], exog=None if exog is None else exog[:pre], mle_regression=False, **kwargs
        ).fit(disp=False)  # type: ignore[arg-type]
        model = UnobservedComponents(endog, exog=exog, mle_regression=False, **kwargs)  # type: ignore[arg-type]
        mean, cov = prepost._forecast_at(model, np.asarray(fitted.params), pre, steps)
    total = float(np.sum(cov))
    if not np.all(np.isfinite(mean)) or not math.isfinite(total) or total < 0:
        return None
    average = float(np.mean(y[pre:] - (mean * scale + centre)))
    half = float(stats.norm.ppf(1 - ALPHA / 2)) * math.sqrt(total) * scale / steps
    return Interval(average, average - half, average + half)


def _capped(placebos: prepost_checks.Placebos, real: prepost.Effect) -> bool:
    found = placebos.effects
    if not found:
        return False
    extreme = sum(abs(e.z) >= abs(real.z) for e in found)
    rank = (1 + extreme) / (1 + len(found))
    return rank > max(ALPHA, 1 / (len(found) + 1))


def run_one(scenario: Scenario, pre: int, post: int, seed: int) -> Run:
    """Draw one series (true effect 0), fit every method, and judge it as impact does."""
    rng = np.random.default_rng(seed)
    y, controls = scenario.draw(rng, pre + post, pre)
    fitted = prepost.fit(y[:pre], controls, seasonality=scenario.seasonality, trend=scenario.trend)
    counterfactual = prepost.forecast(fitted, pre, post)
    null = prepost.effect(y[pre:], counterfactual, ALPHA)
    shifted = prepost.effect(y[pre:] + EFFECT, counterfactual, ALPHA)
    placebos = prepost_checks.placebos(fitted, post, ALPHA, null)
    degenerate = bool(fitted.problems) or not null.ci[1] > null.ci[0]
    residuals = prepost_checks.residual_autocorrelation(fitted)
    return Run(
        ours=Interval(null.average, *null.ci),
        regression=_regression(y, controls, pre),
        plain=_plain(scenario, y, controls, pre),
        placebo_starts=placebos.starts,
        placebo_steps=post,
        placebo_excluded=placebos.excluded,
        placebo_z=tuple(e.z for e in placebos.effects),
        degenerate=degenerate,
        residual_p=None if residuals is None else residuals.p_value,
        capped_null=_capped(placebos, null),
        capped_effect=_capped(placebos, shifted),
    )


@dataclass(frozen=True)
class Figures:
    """One method's figures over the runs of a cell at one true effect."""

    bias: float
    rmse: float
    width: float
    coverage: float
    claims: float  # intervals excluding 0 on the good side (detection, or false claims at 0)
    # what the intervals must be scaled by, about their estimates, to hold the truth in 95% of
    # the series (above 1: too narrow; below 1: wider than needed)
    scale_to_nominal: float


def figures(intervals: list[Interval], truth: float) -> Figures:
    estimates = np.array([i.estimate for i in intervals])
    lows = np.array([i.low for i in intervals])
    highs = np.array([i.high for i in intervals])
    reach = np.where(truth >= estimates, highs - estimates, estimates - lows)
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = np.where(reach > 0, np.abs(truth - estimates) / reach, np.inf)
    return Figures(
        bias=float(np.mean(estimates - truth)),
        rmse=float(np.sqrt(np.mean((estimates - truth) ** 2))),
        width=float(np.mean(highs - lows)),
        coverage=float(np.mean((lows <= truth) & (truth <= highs))),
        claims=float(np.mean((lows > 0) | (highs < 0))),
        scale_to_nominal=float(np.quantile(needed, 0.95)),
    )


@dataclass(frozen=True)
class Cell:
    """A cell of the grid at one true effect: every method's figures on the same series."""

    scenario: Scenario
    pre: int
    post: int
    effect: float
    runs: int
    ours: Figures
    regression: Figures
    plain: Figures
    plain_failed: int  # series where statsmodels' own fit gave no usable interval
    claims_after_checks: float  # ours, after the placebo gate, the rank cap, failed fits
    invalid: float  # runs the placebo gate, the residuals check or a failed fit made invalid
    gated: float  # runs the placebo gate alone made invalid
    gated_by_twice_alpha: float  # ... had it allowed 2 alpha of the windows (its first rule)
    repeats: float  # runs the residuals check (one-day errors that repeat) made invalid
    degenerate: int  # runs with a failed model check (a variance at its bound, zero width)
    zero_width: int  # runs whose interval has width 0

    @property
    def width_ratio(self) -> float | None:
        """Our interval's width over the correct model's (plain maximum likelihood)."""
        if self.scenario.reference is None:
            return None
        reference = self.regression if self.scenario.reference == "regression" else self.plain
        return self.ours.width / reference.width

    @property
    def nominal_ratio(self) -> float | None:
        """Our interval's width over the correct model's scaled to hold the truth in 95% of
        these series: where plain maximum likelihood covers too little (a short pre-period
        ignores its variances' uncertainty), a calibrated interval must be wider than it."""
        if self.scenario.reference is None:
            return None
        reference = self.regression if self.scenario.reference == "regression" else self.plain
        return self.ours.width / (reference.width * reference.scale_to_nominal)


def simulate(scenario: Scenario, pre: int, post: int, runs: int, seed: int) -> list[Run]:
    """``runs`` series of one cell, each with its own seed derived from ``seed``."""
    return [run_one(scenario, pre, post, seed * 100_003 + index) for index in range(runs)]


def cells(scenario: Scenario, pre: int, post: int, found: list[Run]) -> list[Cell]:
    """The cell's figures at true effect 0 and +1 from the same runs."""
    out = []
    for effect in (0.0, EFFECT):
        capped = [r.capped_effect if effect else r.capped_null for r in found]
        ours = [r.ours.shifted(effect) for r in found]
        plain = [r.plain.shifted(effect) for r in found if r.plain is not None]
        blocked = [r.gated or r.degenerate or r.repeats for r in found]
        claims = [
            (o.low > 0 or o.high < 0) and not b and not c
            for o, b, c in zip(ours, blocked, capped, strict=True)
        ]
        out.append(
            Cell(
                scenario=scenario,
                pre=pre,
                post=post,
                effect=effect,
                runs=len(found),
                ours=figures(ours, effect),
                regression=figures([r.regression.shifted(effect) for r in found], effect),
                plain=figures(plain, effect) if plain else Figures(*[math.nan] * 6),
                plain_failed=len(found) - len(plain),
                claims_after_checks=float(np.mean(claims)),
                invalid=float(np.mean(blocked)),
                gated=float(np.mean([r.gated for r in found])),
                gated_by_twice_alpha=float(np.mean([r.gated_by_twice_alpha for r in found])),
                repeats=float(np.mean([r.repeats for r in found])),
                degenerate=sum(r.degenerate for r in found),
                zero_width=sum(not r.ours.high > r.ours.low for r in found),
            )
        )
    return out
