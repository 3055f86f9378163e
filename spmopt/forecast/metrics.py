"""Scores of win probabilities: ranking, calibration and their noise.

All functions take ``y`` (1 won, 0 lost) and ``p`` (predicted win
probability in [0, 1]) as arrays of the same length.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

EPS = 1e-6
CHUNK = 2000
N_BINS = 10


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities (lower is better)."""
    return float(np.mean((np.asarray(p) - np.asarray(y)) ** 2))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood, probabilities clipped to [1e-6, 1-1e-6]."""
    q = np.clip(np.asarray(p, dtype=float), EPS, 1 - EPS)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC; 0.5 when the predictions are constant."""
    if np.ptp(p) == 0:
        return 0.5
    return float(roc_auc_score(y, p))


def pr_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve)."""
    return float(average_precision_score(y, p))


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    return np.minimum((np.asarray(p) * n_bins).astype(int), n_bins - 1)


def reliability_table(
    y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS
) -> pd.DataFrame:
    """Observed win rate per equal-width probability bin.

    Returns
    -------
    DataFrame
        ``bin`` (0 .. n_bins-1, bin b covers [b/n, (b+1)/n)),
        ``mean_predicted``, ``observed_rate``, ``count``; empty bins are
        left out.
    """
    index = _bin_index(p, n_bins)
    count = np.bincount(index, minlength=n_bins)
    pred = np.bincount(index, weights=p, minlength=n_bins)
    won = np.bincount(index, weights=y, minlength=n_bins)
    keep = count > 0
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(keep),
            "mean_predicted": pred[keep] / count[keep],
            "observed_rate": won[keep] / count[keep],
            "count": count[keep],
        }
    )


def ece(y: np.ndarray, p: np.ndarray, n_bins: int = N_BINS) -> float:
    """Expected calibration error over equal-width bins.

    The count-weighted mean of ``|mean predicted - observed rate|``.
    """
    table = reliability_table(y, p, n_bins)
    gap = (table["mean_predicted"] - table["observed_rate"]).abs()
    return float((gap * table["count"]).sum() / table["count"].sum())


def score_all(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, PR AUC, Brier, log loss and ECE of one model."""
    return {
        "auc": auc(y, p),
        "pr_auc": pr_auc(y, p),
        "brier": brier(y, p),
        "log_loss": log_loss(y, p),
        "ece": ece(y, p),
    }


def paired_bootstrap(
    y: np.ndarray,
    p_new: np.ndarray,
    p_old: np.ndarray,
    seed: int | np.random.Generator,
    rounds: int = 400,
    metric: Callable[[np.ndarray, np.ndarray], float] = brier,
) -> dict[str, float]:
    """Improvement ``metric(old) - metric(new)`` with a 95 % interval.

    Both models are scored on the same resampled rows in every round,
    so the interval reflects the noise of the comparison, not of each
    score. Positive values mean the new model has the lower (better)
    loss.

    Returns
    -------
    dict
        ``improvement`` (on all rows), ``low`` and ``high`` (2.5 % and
        97.5 % quantiles over rounds), ``p_worse`` (share of rounds where
        the new model is not better).
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    diffs = np.empty(rounds)
    for r in range(rounds):
        rows = rng.integers(0, n, size=n)
        diffs[r] = metric(y[rows], p_old[rows]) - metric(y[rows], p_new[rows])
    return {
        "improvement": metric(y, p_old) - metric(y, p_new),
        "low": float(np.quantile(diffs, 0.025)),
        "high": float(np.quantile(diffs, 0.975)),
        "p_worse": float(np.mean(diffs <= 0)),
    }


def sample_won_value(
    p: np.ndarray,
    amount: np.ndarray,
    n_samples: int,
    seed: int | np.random.Generator,
) -> np.ndarray:
    """Total won value in each of ``n_samples`` simulated outcomes.

    Parameters
    ----------
    p : ndarray of shape (n_deals,)
        Win probabilities.
    amount : ndarray of shape (n_deals,)
        Deal values (currency of the input), missing treated as 0.
    n_samples : int
        Simulated pipelines.
    seed : int or Generator

    Returns
    -------
    ndarray of shape (n_samples,)
        Sum of the amounts of the deals won in each simulation.
    """
    rng = np.random.default_rng(seed)
    value = np.nan_to_num(amount, nan=0.0)
    totals = np.empty(n_samples)
    for start in range(0, n_samples, CHUNK):
        stop = min(start + CHUNK, n_samples)
        won = rng.random((stop - start, len(p))) < p
        totals[start:stop] = won @ value
    return totals


def forecast_by_period(
    period: np.ndarray,
    y: np.ndarray,
    p: np.ndarray,
    amount: np.ndarray,
    seed: int,
    n_samples: int = 4000,
) -> pd.DataFrame:
    """Predicted versus actual won count and value per period.

    Parameters
    ----------
    period : ndarray of str, shape (n_deals,)
        Period label of each deal (e.g. ``"2017-09"``).
    y, p : ndarray of shape (n_deals,)
        Outcome (1 won) and win probability.
    amount : ndarray of shape (n_deals,)
        Deal value (NaN counts as 0). When no deal has a value (no amount
        column), the value columns are left empty rather than 0.
    seed : int
        Seed of the simulated outcomes behind the 80 % intervals.

    Returns
    -------
    DataFrame
        ``period``, ``deals``, ``actual_won``, ``predicted_won``,
        ``won_p10``, ``won_p90``, ``actual_value``, ``predicted_value``,
        ``value_p10``, ``value_p90``.
    """
    rows = []
    value = np.nan_to_num(amount, nan=0.0)
    for k, label in enumerate(np.unique(period)):
        at = period == label
        count = sample_won_value(p[at], np.ones(at.sum()), n_samples, seed + 2 * k)
        total = sample_won_value(p[at], value[at], n_samples, seed + 2 * k + 1)
        rows.append(
            {
                "period": label,
                "deals": int(at.sum()),
                "actual_won": int(y[at].sum()),
                "predicted_won": float(p[at].sum()),
                "won_p10": float(np.quantile(count, 0.1)),
                "won_p90": float(np.quantile(count, 0.9)),
                "actual_value": float(value[at] @ y[at]),
                "predicted_value": float(value[at] @ p[at]),
                "value_p10": float(np.quantile(total, 0.1)),
                "value_p90": float(np.quantile(total, 0.9)),
            }
        )
    table = pd.DataFrame(rows)
    if np.isnan(amount).all():
        values = ["actual_value", "predicted_value", "value_p10", "value_p90"]
        table[values] = np.nan
    return table
