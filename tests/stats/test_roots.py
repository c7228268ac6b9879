"""Brent's method against scipy's brentq on the same brackets."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from scipy import optimize

from impact.stats import roots, sequential

CASES: list[tuple[Callable[[float], float], float, float]] = [
    (lambda x: x * x - 2, 0.0, 2.0),
    (lambda x: math.cos(x) - x, 0.0, 1.0),
    (lambda x: x**3 - 2 * x - 5, 2.0, 3.0),
    (lambda x: math.exp(x) - 1e-6, -20.0, 5.0),
    (lambda x: x * abs(x) - 0.25, -1.0, 3.0),
    (lambda x: math.atan(x - 30), 0.0, 40.0),  # flat far from the root
    (lambda x: 1.0 if x > 0.3 else -1.0, 0.0, 1.0),  # a jump: bisection alone finds it
]


@pytest.mark.parametrize(("f", "a", "b"), CASES)
def test_brent_finds_the_root_scipy_finds(f: Callable[[float], float], a: float, b: float) -> None:
    ours = roots.brent(f, a, b, xtol=1e-12)
    theirs = optimize.brentq(f, a, b, xtol=1e-12)
    assert ours == pytest.approx(theirs, abs=4e-12)
    assert roots.brent(f, b, a, xtol=1e-12) == pytest.approx(theirs, abs=4e-12)


def test_brent_needs_a_sign_change() -> None:
    with pytest.raises(ValueError, match=r"no sign change between 0\.0 and 1\.0"):
        roots.brent(lambda x: x * x + 1, 0.0, 1.0)


def test_brent_returns_an_end_that_is_a_root() -> None:
    assert roots.brent(lambda x: x, 0.0, 1.0) == 0.0
    assert roots.brent(lambda x: x - 1, 0.0, 1.0) == 1.0


def test_sequential_boundaries_are_those_of_brentq(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five looks, unequal spacing: every boundary equal to scipy's root to 1e-11."""
    fractions = [0.2, 0.35, 0.6, 0.8, 1.0]
    ours = sequential.boundaries(fractions, 0.05)

    def brentq(f: Callable[[float], float], a: float, b: float, xtol: float = 1e-12) -> float:
        return float(optimize.brentq(f, a, b, xtol=xtol))

    monkeypatch.setattr(roots, "brent", brentq)
    theirs = sequential.boundaries(fractions, 0.05)
    assert theirs != pytest.approx([0.0] * len(fractions))
    assert ours == pytest.approx(theirs, abs=1e-11)
