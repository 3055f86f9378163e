"""Seasonality: phase annual quotas into quarters or months.

Weights come from history (won bookings by calendar month) or are given.
Each rep's period quotas are rounded with the largest-remainder rule so
they add up exactly to the rep's annual quota.
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from spmopt.errors import DataError
from spmopt.quota.rounding import largest_remainder


def monthly_weights(deals: pd.DataFrame) -> tuple[NDArray[np.float64], list[bool]]:
    """Share of a year's won bookings falling in each calendar month.

    Parameters
    ----------
    deals : DataFrame
        ``deal_stage``, ``close_date`` and ``close_value`` (currency).

    Returns
    -------
    weights : ndarray of shape (12,)
        January first, summing to 1. Each month's weight is its average
        bookings per observed year; a month absent from the history gets
        the mean of the observed months.
    observed : list of bool
        Whether each month appears in the history.
    """
    won = deals[(deals["deal_stage"] == "Won") & deals["close_date"].notna()]
    if won.empty:
        raise DataError("phasing history: no won deal with a close date")
    months = won["close_date"].dt.to_period("M")
    totals = won.groupby(months)["close_value"].sum()
    by_month = totals.groupby(totals.index.month).mean()
    per_month = by_month.reindex(range(1, 13))
    observed = per_month.notna().tolist()
    filled = per_month.fillna(by_month.mean()).to_numpy(dtype=float)
    return filled / filled.sum(), observed


def period_weights(
    monthly: ArrayLike, periods: str, start_month: int = 1
) -> tuple[NDArray[np.float64], list[str]]:
    """Fiscal-period weights and labels from calendar-month weights.

    Parameters
    ----------
    monthly : array_like of shape (12,)
        Calendar-month weights, January first.
    periods : {"quarter", "month"}
    start_month : int
        Calendar month (1-12) that opens the fiscal year.

    Returns
    -------
    weights : ndarray of shape (4,) or (12,)
        Summing to 1, fiscal order.
    labels : list of str
        ``"Q1"``.. or month abbreviations (``"Jan"``..).
    """
    w = np.asarray(monthly, dtype=float)
    order = (np.arange(12) + start_month - 1) % 12
    fiscal = w[order] / w.sum()
    if periods == "month":
        return fiscal, [calendar.month_abbr[int(m) + 1] for m in order]
    return fiscal.reshape(4, 3).sum(axis=1), [f"Q{q}" for q in range(1, 5)]


def phase_quotas(quota_units: ArrayLike, weights: ArrayLike) -> NDArray[np.int64]:
    """Split each annual quota over periods, exact to the unit.

    Parameters
    ----------
    quota_units : array_like of int, shape (n_reps,)
        Annual quotas in rounding units.
    weights : array_like of float, shape (n_periods,)
        Period weights summing to 1.

    Returns
    -------
    ndarray of int64, shape (n_reps, n_periods)
        Each row sums exactly to that rep's annual quota.
    """
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    rows = [largest_remainder(int(q) * w, int(q)) for q in np.asarray(quota_units)]
    return np.vstack(rows) if rows else np.zeros((0, w.size), dtype=np.int64)
