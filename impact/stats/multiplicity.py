"""Multiple-testing adjustments."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["benjamini_hochberg"]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg q-values (false-discovery-rate adjusted p-values), input order.

    Examples:
        >>> [round(q, 4) for q in benjamini_hochberg([0.005, 0.06, 0.007, 0.04, 0.01, 0.03])]
        [0.02, 0.06, 0.02, 0.048, 0.02, 0.045]
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i], reverse=True)
    q_values = [0.0] * m
    running = 1.0
    for rank_from_top, index in enumerate(order):
        rank = m - rank_from_top
        running = min(running, p_values[index] * m / rank)
        q_values[index] = running
    return q_values
