"""Simulated daily series with known effects, for the prepost model's validation.

Each scenario draws a pre-period of ``PRE`` days and a post-period of ``POST`` days from a
known process, adds nothing at launch (the true effect is 0), fits the model the scenario
names and records the interval of the average effect, the placebo gate and the rank cap.

Because the model is fit on the pre-period alone, adding a constant effect to the
post-period shifts the estimate and its interval by exactly that constant: the coverage of
the interval for any additive effect equals the share of null runs whose interval contains
0, and the false-positive rate is one minus it. Runs are seeded and deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from impact.stats import prepost

PRE, POST, ALPHA = 200, 28, 0.05
MIN_PLACEBOS = 10


@dataclass(frozen=True)
class Scenario:
    """A data-generating process and the model fit to it.

    Attributes:
        name: a short label.
        draw: (rng, days) -> (response, controls or None).
        seasonality: the model's seasonal period (None for none).
        trend: whether the model has a trend.
        misspecified: whether the model leaves out part of the process.
    """

    name: str
    draw: Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray | None]]
    seasonality: int | None = None
    trend: bool = False
    misspecified: bool = False


WEEK = np.array([0.0, 0.5, 0.8, 0.6, 0.3, -1.2, -1.0])


def _level(rng: np.random.Generator, days: int) -> tuple[np.ndarray, None]:
    return 100 + np.cumsum(rng.normal(0, 0.3, days)) + rng.normal(0, 1, days), None


def _weekly(rng: np.random.Generator, days: int) -> tuple[np.ndarray, None]:
    level = 100 + np.cumsum(rng.normal(0, 0.2, days))
    return level + 3 * WEEK[np.arange(days) % 7] + rng.normal(0, 1, days), None


def _controls(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
    drivers = 50 + np.cumsum(rng.normal(0, 1, (days, 3)), axis=0)
    noise = np.cumsum(rng.normal(0, 0.1, days)) + rng.normal(0, 1, days)
    response = 10 + drivers @ np.array([0.8, 0.5, 0.0]) + noise
    return response, drivers + rng.normal(0, 0.2, (days, 3))


def _trend(rng: np.random.Generator, days: int) -> tuple[np.ndarray, None]:
    return 100 + 0.3 * np.arange(days) + rng.normal(0, 2, days), None


def _ar1(rng: np.random.Generator, days: int) -> tuple[np.ndarray, None]:
    noise = np.zeros(days)
    shocks = rng.normal(0, 1, days)
    for day in range(1, days):
        noise[day] = 0.7 * noise[day - 1] + shocks[day]
    return 100 + noise, None


SCENARIOS = [
    Scenario("local level", _level),
    Scenario("weekly seasonality", _weekly, seasonality=7),
    Scenario("controls", _controls),
    Scenario("trend", _trend, trend=True),
    Scenario("weekly, not modelled", _weekly, misspecified=True),
    Scenario("AR(1) noise (0.7)", _ar1, misspecified=True),
    Scenario("trend, not modelled", _trend, misspecified=True),
]


@dataclass(frozen=True)
class Outcome:
    """What one null run found."""

    excludes_zero: bool
    gated: bool  # the placebo gate made the verdict invalid
    capped: bool  # the rank cap would turn a claim into inconclusive


def run_one(scenario: Scenario, seed: int) -> Outcome:
    """Draw one series (true effect 0) and review it as impact does."""
    rng = np.random.default_rng(seed)
    response, controls = scenario.draw(rng, PRE + POST)
    fitted = prepost.fit(
        response[:PRE], controls, seasonality=scenario.seasonality, trend=scenario.trend
    )
    effect = prepost.effect(response[PRE:], prepost.forecast(fitted, PRE, POST), ALPHA)
    placebos = prepost.placebos(fitted, POST, ALPHA, effect)
    share = placebos.share_excluded
    gated = placebos.count >= MIN_PLACEBOS and share is not None and share > 2 * ALPHA
    rank = placebos.rank_p
    capped = rank is not None and rank > max(ALPHA, 1 / (placebos.count + 1))
    return Outcome(effect.excludes_zero(), gated, capped)


@dataclass(frozen=True)
class Summary:
    """Rates over the runs of one scenario."""

    runs: int
    false_positive: float  # intervals excluding 0 (= 1 - coverage)
    after_gate: float  # ... of runs the placebo gate let through
    after_cap: float  # ... and that the rank cap left as a claim
    invalid: float  # runs the placebo gate made invalid

    @property
    def coverage(self) -> float:
        """The interval's coverage of the true effect."""
        return 1 - self.false_positive


def summarize(scenario: Scenario, runs: int, seed: int) -> Summary:
    """Run ``runs`` null series of a scenario."""
    found = [run_one(scenario, seed * 100_003 + index) for index in range(runs)]
    return Summary(
        runs=runs,
        false_positive=float(np.mean([o.excludes_zero for o in found])),
        after_gate=float(np.mean([o.excludes_zero and not o.gated for o in found])),
        after_cap=float(np.mean([o.excludes_zero and not o.gated and not o.capped for o in found])),
        invalid=float(np.mean([o.gated for o in found])),
    )
