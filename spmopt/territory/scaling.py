"""Safe conversion of real coefficients to the integers CP-SAT needs."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

ROW_LIMIT = 10**9
"""Largest total a scaled constraint row may reach."""

COST_LIMIT = 10**6
"""Largest scaled objective coefficient."""


def row_scale(values: NDArray[np.float64], limit: int = ROW_LIMIT) -> float:
    """Factor turning ``values`` into integers whose sum stays below ``limit``.

    Integral values whose sum fits are kept exact (factor 1). Otherwise the
    total maps to ``limit``, so the rounding error of any partial sum is at
    most ``n / (2 * limit)`` of the total.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Non-negative coefficients, user units.
    limit : int
        Bound on the scaled total.

    Returns
    -------
    float
        Multiply real values by it, then round.
    """
    total = float(np.sum(values))
    if total <= 0:
        return 1.0
    if _integral(values) and total <= limit:
        return 1.0
    return limit / total


def cost_scale(costs: NDArray[np.float64], limit: int = COST_LIMIT) -> float:
    """Factor turning objective ``costs`` into integers at most ``limit``.

    Integral costs at most ``limit`` are kept exact (factor 1), so integer
    benchmark distances are solved without rounding.
    """
    finite = costs[np.isfinite(costs)]
    top = float(finite.max()) if finite.size else 0.0
    if top <= 0:
        return 1.0
    if _integral(finite) and top <= limit:
        return 1.0
    return limit / top


def to_int(values: NDArray[np.float64], factor: float) -> NDArray[np.int64]:
    """Round ``values * factor`` to the nearest integers."""
    return np.rint(np.asarray(values, dtype=float) * factor).astype(np.int64)


def band_to_int(low: float, high: float, factor: float) -> tuple[int, int]:
    """Integer band of scaled sums that lie in ``[low, high]``.

    Bounds round inward (with a relative slack of 1e-9 against floating
    noise), so integral data keep their exact meaning: a band of
    ``[24.5, 36.7]`` units becomes ``[25, 36]``.
    """
    lo = math.ceil(low * factor * (1 - 1e-9) - 1e-9) if math.isfinite(low) else -(2**62)
    hi = math.floor(high * factor * (1 + 1e-9) + 1e-9) if math.isfinite(high) else 2**62
    return lo, hi


def _integral(values: NDArray[np.float64]) -> bool:
    return bool(np.all(np.equal(np.mod(values, 1.0), 0.0)))
