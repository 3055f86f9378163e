"""Rounding quotas to a currency unit so they still sum to the target.

Rule (largest remainder, also called Hamilton's method): each quota is
rounded down to a whole number of units; the units still missing to reach
the target go one each to the quotas with the largest remainders, ties to
the earlier row. A quota never crosses its floor or cap, because the
bounds themselves are whole numbers of units (floors rounded up, caps
rounded down) before the model is solved.
"""

from __future__ import annotations

from spmopt.rounding import largest_remainder

__all__ = ["ROUNDING_RULE", "largest_remainder"]

ROUNDING_RULE = (
    "largest remainder: round each quota down to the unit, then add one unit "
    "to the quotas with the largest remainders (ties to the earlier row) "
    "until the quotas sum to the target"
)
