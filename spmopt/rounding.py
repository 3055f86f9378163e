"""Rounding amounts to a currency unit so that they still add up to a total.

Rule (largest remainder, also called Hamilton's method): each value is
rounded down to a whole number of units; the units still missing to reach
the total go one each to the values with the largest remainders, ties to
the earlier row (units in excess are taken back from the smallest
remainders, ties to the earlier row too). Quotas
(:mod:`spmopt.quota.rounding`) are rounded this way in whole units within
their floors and caps (:func:`largest_remainder`). Money is rounded by one
exact decimal implementation, :func:`round_exact_to_total`: statement lines
(to three places beyond the currency's) and the components of
``payouts.csv`` (to the currency's places) directly, and the per-rep means
of a payout simulation through its float form, :func:`round_to_total`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, localcontext

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

    The float form of :func:`round_exact_to_total` (one rule for both):
    each value is taken as the decimal it prints as (``0.1``, not the
    binary fraction just below it) and ``total`` is rounded to a whole
    number of units as ``round(total * 10**decimals)``.

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
        Each within one unit of the last place of its value; their sum,
        written to ``decimals`` places, is ``total`` written to ``decimals``
        places.
    """
    exact = [Decimal(repr(float(v))) for v in np.asarray(values, dtype=float)]
    whole = Decimal(round(total * 10.0**decimals)).scaleb(-decimals)
    rounded = round_exact_to_total(exact, whole, decimals)
    return np.array([float(x) for x in rounded], dtype=float)


_PRECISION = 60
"""Significant digits for the rounding (amounts <= 1e15, <= 12 places)."""


def round_exact_to_total(
    values: Sequence[Decimal], total: Decimal, places: int
) -> list[Decimal]:
    """``values`` rounded to ``places`` decimals, summing exactly to ``total``.

    The rule of :func:`largest_remainder` in exact decimal arithmetic, so
    that amounts up to 1e15 keep every cent: each value is rounded down to
    the unit (``10**-places``); units still missing go one each to the
    largest remainders, units in excess are taken one each from the
    smallest, ties to the earlier amount either way. Amounts already exact
    at ``places`` keep their value whenever the exact amounts add up to
    ``total``.

    Parameters
    ----------
    values : sequence of Decimal
        Exact amounts (currency) that add up to about ``total``.
    total : Decimal
        The printed total (currency), with at most ``places`` decimals.
    places : int
        Decimals kept (2 for cents).

    Returns
    -------
    list of Decimal
        One per value, each with ``places`` decimals, within one unit of
        the last place of its exact value (more only if ``values`` are far
        from ``total``); their sum is ``total``.

    Examples
    --------
    >>> parts = [Decimal("0.335"), Decimal("0.335"), Decimal("0.33")]
    >>> [str(x) for x in round_exact_to_total(parts, Decimal("1.00"), 2)]
    ['0.34', '0.33', '0.33']
    """
    if not values:
        return []
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        unit = Decimal(1).scaleb(-places)
        floors = [v.quantize(unit, rounding=ROUND_FLOOR) for v in values]
        missing = int((total - sum(floors, Decimal(0))) / unit)
        sign = 1 if missing >= 0 else -1
        remainders = [sign * (v - f) for v, f in zip(values, floors, strict=True)]
        order = sorted(range(len(values)), key=lambda i: (-remainders[i], i))
        rounds, extra = divmod(abs(missing), len(order))  # in bulk, not one by one
        for rank, i in enumerate(order):
            floors[i] += sign * unit * (rounds + (rank < extra))
        return [f + 0 for f in floors]
