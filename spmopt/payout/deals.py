"""Which pipeline rows are one deal, for the deal-by-deal simulator.

A ``kind: deals`` pipeline has one row per open deal and rep. With a deal
id column, an id may repeat only to split a deal between reps: each row is
one rep's share of the amount, and the rows are won or lost (and
cancelled) together, so they must agree on ``win_probability``, the pay
period and ``cancel_probability``. The same id twice for the same rep
would count the deal twice and is refused, as are split rows that
disagree. A row with a blank id is a deal of its own; without the column,
every row is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmopt.data import require_once_per_rep
from spmopt.errors import DataError, show


def deal_index(
    frame: pd.DataFrame,
    column: str,
    rep_column: str,
    agree: dict[str, np.ndarray],
    table: str = "pipeline",
) -> np.ndarray:
    """Deal number of each pipeline row, shape (n_rows,), 0 .. n_deals - 1.

    Parameters
    ----------
    frame : DataFrame
        The validated pipeline.
    column : str
        Deal id column; when absent every row is a deal of its own.
    rep_column : str
        Rep id column.
    agree : dict of str to ndarray of shape (n_rows,)
        Values the rows of one split deal must share (e.g. the win
        probability and the 0-based pay period), by name for messages.
    table : str
        Table name for messages.

    Returns
    -------
    ndarray of int64
        Deals numbered in order of first appearance; with no repeated id,
        ``arange(n_rows)``.

    Raises
    ------
    DataError
        A deal id given twice for one rep, or split rows that disagree,
        naming the table, the column, the first ids and their data rows.
    """
    n = len(frame)
    if column not in frame.columns:
        return np.arange(n)
    ids = frame[column].astype("string").str.strip()
    own = ids.isna() | (ids == "")
    keys = ids.where(~own, pd.Series([f"\0row {i}" for i in range(n)], index=ids.index))
    require_once_per_rep(keys, frame[rep_column], column, rep_column, table)
    codes, _ = pd.factorize(keys)
    for name, values in agree.items():
        _refuse_disagreeing(codes, keys, values, name, column, table)
    return codes.astype(np.int64)


def _rows(positions: np.ndarray) -> str:
    return ", ".join(str(int(i) + 1) for i in positions)


def _refuse_disagreeing(
    codes: np.ndarray,
    keys: pd.Series,
    values: np.ndarray,
    name: str,
    column: str,
    table: str,
) -> None:
    values = np.asarray(values, dtype=float)
    reference = values[first_rows(codes)[codes]]
    same = (values == reference) | (np.isnan(values) & np.isnan(reference))
    if same.all():
        return
    deal = codes[int(np.flatnonzero(~same)[0])]
    rows = np.flatnonzero(codes == deal)
    shown = sorted({show(v) for v in values[rows]})
    raise DataError(
        f"{table}: rows of deal id {show(keys.iloc[rows[0]])} in column "
        f"'{column}' (data rows {_rows(rows)}) split the deal between reps but "
        f"give different {name} ({', '.join(shown)}); a deal is won or lost as "
        f"a whole, so its rows must give the same {name}"
    )


def expand(
    deal_of_row: np.ndarray, scenario: np.ndarray, deal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of each (scenario, deal) pair.

    Parameters
    ----------
    deal_of_row : ndarray of int, shape (n_rows,)
        From :func:`deal_index`.
    scenario, deal : ndarray of int, shape (n_pairs,)
        Pairs, e.g. the deals cancelled in each scenario.

    Returns
    -------
    pair, scenario, row : ndarray of int, shape (n_pair_rows,)
        For every row of every pair: the pair's position, its scenario and
        the row; with one row per deal, ``arange(n_pairs)``, ``scenario``
        and ``deal`` themselves.
    """
    order = np.argsort(deal_of_row, kind="stable")
    counts = np.bincount(deal_of_row)
    starts = np.cumsum(counts) - counts
    per_pair = counts[deal]
    pair = np.repeat(np.arange(len(deal)), per_pair)
    offset = np.arange(len(pair)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    row = order[starts[deal][pair] + offset]
    return pair, scenario[pair], row


def first_rows(deal_of_row: np.ndarray) -> np.ndarray:
    """The first row of each deal, shape (n_deals,)."""
    n_deals = int(deal_of_row.max(initial=-1)) + 1
    first = np.empty(n_deals, dtype=np.int64)
    first[deal_of_row[::-1]] = np.arange(len(deal_of_row))[::-1]
    return first
