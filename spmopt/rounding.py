"""Rounding amounts to a currency unit so that they still add up to a total.

Rule (largest remainder, also called Hamilton's method): each value is
rounded down to a whole number of units; the units still missing to reach
the total go one each to the values with the largest remainders, ties to
the earlier row. Quotas (:mod:`spmopt.quota.rounding`) and the per-rep
means of a payout simulation are rounded this way.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spmopt.errors import InfeasibleError

_SNAP = 1e-6
"""Values within this many units of a whole number count as whole."""


def largest_remainder(
    values: ArrayLike,
    total: int,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> NDArray[np.int64]:
    """Round ``values`` (in units) to integers that sum exactly to ``total``.

    Parameters
    ----------
    values : array_like of float, shape (n,)
        Amounts in rounding units (e.g. cents), summing to about ``total``.
    total : int
        Required sum, in units.
    lower, upper : array_like of int, shape (n,), optional
        Integer bounds every rounded value must respect.

    Returns
    -------
    ndarray of int64, shape (n,)
        Rounded values; ``result.sum() == total``.

    Raises
    ------
    InfeasibleError
        If the bounds make ``total`` unreachable.
    """
    x = np.asarray(values, dtype=float)
    lo = np.full(x.shape, np.iinfo(np.int64).min // 4) if lower is None else lower
    hi = np.full(x.shape, np.iinfo(np.int64).max // 4) if upper is None else upper
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)

    base = np.floor(x + _SNAP).astype(np.int64)
    base = np.clip(base, lo, hi)
    remainder = np.asarray(x - base, dtype=float)
    missing = int(total - base.sum())

    if missing > 0:
        _add_units(base, remainder, hi, missing, sign=1)
    elif missing < 0:
        _add_units(base, -remainder, lo, -missing, sign=-1)
    return base


def _add_units(
    base: NDArray[np.int64],
    priority: NDArray[np.float64],
    limit: NDArray[np.int64],
    count: int,
    sign: int,
) -> None:
    """Move ``count`` units one at a time by ``sign``, best priority first."""
    order = np.argsort(-priority, kind="stable")
    while count > 0:
        room = (limit - base)[order] * sign > 0
        movable = order[room]
        if movable.size == 0:
            raise InfeasibleError(
                f"cannot round to the total: {count} unit(s) left over with "
                "every value at its bound"
            )
        step = movable[:count]
        base[step] += sign
        count -= step.size


def round_to_total(
    values: ArrayLike, total: float, decimals: int
) -> NDArray[np.float64]:
    """``values`` rounded to ``decimals`` places, adding up to ``total`` rounded.

    Parameters
    ----------
    values : array_like of float, shape (n,)
        Amounts (e.g. each rep's mean payout) summing to about ``total``.
    total : float
        Their exact total, in the same currency.
    decimals : int
        Places kept (2 for cents).

    Returns
    -------
    ndarray of float, shape (n,)
        Rounded by :func:`largest_remainder`; their sum, written to
        ``decimals`` places, is ``total`` written to ``decimals`` places.
    """
    unit = 10.0**decimals
    units = largest_remainder(
        np.asarray(values, dtype=float) * unit, round(total * unit)
    )
    return units / unit
