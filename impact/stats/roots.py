"""A root of a continuous function on a bracket, by Brent's method (bisection, secant and
inverse quadratic interpolation, always keeping a sign change).

The sequential boundaries need one root per look; this keeps scipy.optimize (0.3 s to
import: linear programming, sparse solvers, spatial transforms) out of every command.

Examples:
    >>> round(brent(lambda x: x * x - 2, 0.0, 2.0), 12)
    1.414213562373
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["brent"]

EPSILON = 2.220446049250313e-16  # the spacing of doubles at 1


def brent(
    f: Callable[[float], float], a: float, b: float, xtol: float = 1e-12, maxiter: int = 200
) -> float:
    """A point within ``xtol`` (plus a few ulps) of a root of ``f`` between ``a`` and ``b``.

    Raises:
        ValueError: ``f(a)`` and ``f(b)`` have the same sign, or no convergence in
            ``maxiter`` steps (not possible for a continuous function: each step at least
            halves the bracket within three steps).
    """
    fa, fb = f(a), f(b)
    if fa == 0:
        return a
    if fb == 0:
        return b
    if math.copysign(1, fa) == math.copysign(1, fb):
        raise ValueError(f"no sign change between {a} and {b}: f = {fa}, {fb}")
    c, fc = a, fa  # the other end of the bracket [b, c]
    d = e = b - a  # the last step, and the one before it
    for _ in range(maxiter):
        if math.copysign(1, fb) == math.copysign(1, fc):
            c, fc = a, fa
            d = e = b - a
        if abs(fc) < abs(fb):  # b is the best estimate so far
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tolerance = 2 * EPSILON * abs(b) + xtol / 2
        middle = (c - b) / 2
        if abs(middle) <= tolerance or fb == 0:
            return b
        if abs(e) >= tolerance and abs(fa) > abs(fb):
            s = fb / fa
            if a == c:  # secant
                p, q = 2 * middle * s, 1 - s
            else:  # inverse quadratic interpolation through a, b and c
                r, t = fa / fc, fb / fc
                p = s * (2 * middle * r * (r - t) - (b - a) * (t - 1))
                q = (r - 1) * (t - 1) * (s - 1)
            if p > 0:
                q = -q
            p = abs(p)
            if 2 * p < min(3 * middle * q - abs(tolerance * q), abs(e * q)):
                e, d = d, p / q  # accept the interpolation
            else:
                d = e = middle  # bisect
        else:
            d = e = middle
        a, fa = b, fb
        b += d if abs(d) > tolerance else math.copysign(tolerance, middle)
        fb = f(b)
    raise ValueError(f"no root found between {a} and {c} in {maxiter} steps")
