"""Ranges of the numbers a payout accepts, stated once.

Every money figure (a plan's target incentive, quota, cap, floor, draw,
tier edge or point; a credit's amount; a quotas cell) is at most
1,000,000,000,000,000 (1e15) in absolute value, checked exactly on the
digits as written. Every rate or multiplier (a tier rate, a cap share, a
gate's attainment, a measure weight, a seasonality weight) is at most
1,000,000 (1e6). Within these ranges the exact arithmetic keeps every cent
and the float engine never overflows; a payout computed from numbers in
range that still grows beyond what can be rounded exactly is refused with
a :class:`~spmopt.errors.DataError` rather than a traceback.
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
