"""Exact amounts rounded so that, as printed, they add up to a total.

Rule (largest remainder, as :func:`spmopt.rounding.largest_remainder` but in
exact decimal arithmetic, so that amounts up to the accepted 1e15 keep every
cent): each amount is rounded down to the printed places; the units still
missing to reach the total go one each to the amounts with the largest
remainders, ties to the earlier amount. Amounts already exact at the
printed places keep their value whenever the exact amounts add up to the
total. Statement lines (to three places beyond the currency's) and the
components of ``payouts.csv`` (to the currency's places) are rounded this
way to what is paid.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal, localcontext

__all__ = ["round_to_total"]

_PRECISION = 60
"""Significant digits for the rounding (amounts <= 1e15, <= 12 places)."""


def round_to_total(
    values: Sequence[Decimal], total: Decimal, places: int
) -> list[Decimal]:
    """``values`` rounded to ``places`` decimals, summing exactly to ``total``.

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
    >>> [str(x) for x in round_to_total(parts, Decimal("1.00"), 2)]
    ['0.34', '0.33', '0.33']
    """
    if not values:
        return []
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        unit = Decimal(1).scaleb(-places)
        floors = [v.quantize(unit, rounding=ROUND_FLOOR) for v in values]
        missing = int((total - sum(floors, Decimal(0))) / unit)
        remainders = [v - f for v, f in zip(values, floors, strict=True)]
        order = sorted(range(len(values)), key=lambda i: (-remainders[i], i))
        if missing < 0:
            order = order[::-1]
        step = unit if missing > 0 else -unit
        for k in range(abs(missing)):
            floors[order[k % len(order)]] += step
        return [f + 0 for f in floors]
