"""Fairness of a split across reps: how unequal potential or quota is."""

from __future__ import annotations

import numpy as np
import pandas as pd


def gini(values: np.ndarray | pd.Series) -> float:
    """Gini coefficient of non-negative values (0 = all equal).

    Computed as ``sum_i sum_j |x_i - x_j| / (2 n^2 mean)``; 0 when every
    rep has the same amount, ``(n - 1) / n`` when one rep has it all.
    Missing when there are no values or they sum to zero.

    Parameters
    ----------
    values : array of shape (n_reps,)
        Amounts per rep (potential, quota, ...), any unit.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0 or x.sum() <= 0:
        return float("nan")
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * x) / (n * x.sum()))


def spread_summary(values: pd.Series, target: pd.Series, band: float) -> dict:
    """How far amounts are from their targets.

    Parameters
    ----------
    values, target : Series of shape (n_reps,)
        Amount and target per rep, same unit.
    band : float
        Half-width of the accepted band as a share of target (0.1 = ±10 %).

    Returns
    -------
    dict
        ``gini``, ``max_over_min`` (largest / smallest amount),
        ``max_deviation`` (largest |amount / target - 1|) and
        ``share_within_band`` (share of reps inside the band).
    """
    ratio = values / target.where(target > 0)
    deviation = (ratio - 1).abs()
    smallest = values.min()
    return {
        "gini": gini(values),
        "max_over_min": float(values.max() / smallest) if smallest > 0 else np.nan,
        "max_deviation": float(deviation.max()),
        "share_within_band": float((deviation <= band + 1e-12).mean()),
    }
