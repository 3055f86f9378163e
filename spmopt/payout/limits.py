"""Ranges of the numbers a payout accepts, stated once.

Every money figure (a plan's target incentive, quota, cap, floor, draw,
tier edge or point; a credit's amount; a quotas cell) is at most
1,000,000,000,000,000 (1e15) in absolute value, checked exactly on the
digits as written. Every rate or multiplier (a tier rate, a cap share, a
gate's attainment, a measure weight, a seasonality weight) is at most
1,000,000 (1e6). Within these ranges the exact arithmetic keeps every cent
and the float engine never overflows. Computed amounts obey the money
limit too: a payout line, payment or total computed from numbers in range
that still grows beyond 1e15 is refused with one
:class:`~spmopt.errors.DataError` (:func:`too_large`) rather than paid,
spun on or shown as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from spmopt.data.tables import data_rows
from spmopt.errors import DataError

MAX_AMOUNT = Decimal(10**15)
"""Largest money figure, in absolute value (currency)."""
MAX_RATE = Decimal(10**6)
"""Largest rate or multiplier, in absolute value."""


def limit_text(limit: Decimal) -> str:
    """A limit in full with thousands separators: ``1,000,000``."""
    return f"{int(limit):,}"


def range_text(limit: Decimal) -> str:
    """The allowed range of a number, for messages."""
    return f"at most {limit_text(limit)} in absolute value"


def show_number(value: Decimal) -> str:
    """A number in full (``1000000000000000.01``), or in exponent form when
    it has more than 30 digits before the point."""
    if value.is_finite() and abs(value) < Decimal(10**30):
        return f"{value:f}"
    return str(value)


def within(value: Decimal | float, limit: Decimal) -> bool:
    """Whether ``value`` is finite and at most ``limit`` in absolute value."""
    number = Decimal(repr(value)) if isinstance(value, float) else value
    return number.is_finite() and abs(number) <= limit


def too_large(value: Decimal | float, why: str = "") -> DataError:
    """The one error for a computed payout amount beyond :data:`MAX_AMOUNT`.

    Parameters
    ----------
    value : Decimal or float
        The amount (currency), shown to 6 significant digits.
    why : str
        What could not be done with it, e.g. ``"it cannot be rounded
        exactly to 2 decimal place(s)"``; blank for the plain limit.
    """
    shown = f"{Decimal(repr(value)) if isinstance(value, float) else value:.6e}"
    reason = f"{why}; " if why else ""
    return DataError(
        f"a computed amount of {shown} is too large to pay: {reason}amounts "
        f"must stay within ±{limit_text(MAX_AMOUNT)}, so check the plan's rates "
        "against its quotas and target incentive (a small quota with a high "
        "rate multiplies the credits)"
    )


def check_computed(values: Iterable[Decimal | float], what: str = "") -> None:
    """Refuse the first computed amount beyond :data:`MAX_AMOUNT` (or not finite).

    Parameters
    ----------
    values : iterable of Decimal or float
        Computed payout amounts (currency): lines, per-period figures,
        totals or simulated costs.
    what : str
        What the amounts are, for the message (e.g. ``"total paid"``).

    Raises
    ------
    DataError
        From :func:`too_large`, naming the amount and the limit.
    """
    for value in values:
        if not within(value, MAX_AMOUNT):
            raise too_large(value, f"the {what} is beyond the limit" if what else "")


def check_computed_array(values: np.ndarray, what: str) -> None:
    """:func:`check_computed` for a float array, vectorised.

    Parameters
    ----------
    values : ndarray of float
        Computed amounts (currency), any shape; NaN and infinities are
        refused too.
    what : str
        What the amounts are, for the message.
    """
    flat = np.asarray(values, dtype=float).ravel()
    bad = ~(np.abs(flat) <= float(MAX_AMOUNT))
    if bad.any():
        raise too_large(float(flat[np.argmax(bad)]), f"the {what} is beyond the limit")


def check_amount_cells(
    values: Sequence[Decimal | None],
    table: str,
    column: str,
    rows: Sequence[int],
) -> None:
    """Refuse a cell beyond :data:`MAX_AMOUNT`, read exactly as written.

    Parameters
    ----------
    values : sequence of Decimal or None
        The column's cells, exact (None for a blank cell).
    table, column : str
        Names for the message.
    rows : sequence of int
        Each cell's data row number (1-based).

    Raises
    ------
    DataError
        Naming the table, column, data row, value and allowed range.
    """
    bad = [
        (i, v)
        for i, v in enumerate(values)
        if v is not None and not within(v, MAX_AMOUNT)
    ]
    if bad:
        i, value = bad[0]
        raise DataError(
            f"{table}: column '{column}' must be {range_text(MAX_AMOUNT)}, got "
            f"{show_number(value)} in data row {rows[i]} ({len(bad)} bad value(s) "
            "in all)"
        )


def check_written_amounts(
    frame: pd.DataFrame, columns: Iterable[str], table: str
) -> None:
    """Refuse a text cell beyond :data:`MAX_AMOUNT`, before any parsing.

    Runs before the schema check so that ``1e16`` and
    ``1000000000000000.01`` get the same message, naming the table,
    column, data row, value and allowed range; cells that are not plain
    numbers are left to the schema check.
    """
    for column in columns:
        if column not in frame.columns:
            continue
        cells = frame[column]
        values = [_written_number(cell) for cell in cells]
        rows = data_rows(cells, np.arange(len(cells)))
        check_amount_cells(values, table, column, rows)


def _written_number(cell: object) -> Decimal | None:
    """A text cell's number (None for blanks, NaN and non-numbers)."""
    if not isinstance(cell, str) or "_" in cell:
        return None
    try:
        value = Decimal(cell.strip())
    except InvalidOperation:
        return None
    return None if value.is_nan() else value
