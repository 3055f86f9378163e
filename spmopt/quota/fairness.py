"""Fairness figures a plan designer reviews before publishing quotas."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def gini(values: ArrayLike) -> float:
    """Gini coefficient of non-negative values (0 = all equal, -> 1 = one has all).

    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 4])
    0.75
    """
    x = np.sort(np.asarray(values, dtype=float))
    n, total = x.size, x.sum()
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(2 * np.sum(ranks * x) / (n * total) - (n + 1) / n)


def fairness_summary(
    quota: ArrayLike, ramped_potential: ArrayLike, p_attain: ArrayLike
) -> dict[str, Any]:
    """Spread of quota-to-potential and of the chance of attaining.

    Parameters
    ----------
    quota, ramped_potential : array_like of float, shape (n_reps,)
        Currency. Reps with zero potential are left out of the ratios.
    p_attain : array_like of float, shape (n_reps,)
        Probability of reaching quota.

    Returns
    -------
    dict
        ``quota_to_potential_p10/p50/p90``, ``quota_to_potential_max_over_min``,
        ``share_within_10pct_of_median_ratio``, ``p_attain_p10/p90``,
        ``p_attain_spread_pp`` (P90 - P10 in percentage points) and
        ``gini_ramped_potential``.
    """
    q = np.asarray(quota, dtype=float)
    w = np.asarray(ramped_potential, dtype=float)
    p = np.asarray(p_attain, dtype=float)
    ratio = q[w > 0] / w[w > 0]
    info: dict[str, Any] = {"gini_ramped_potential": round(gini(w), 6)}
    if ratio.size:
        p10, p50, p90 = np.percentile(ratio, [10, 50, 90])
        near = np.abs(ratio / p50 - 1) <= 0.10 if p50 > 0 else np.zeros(ratio.size)
        info |= {
            "quota_to_potential_p10": round(float(p10), 6),
            "quota_to_potential_p50": round(float(p50), 6),
            "quota_to_potential_p90": round(float(p90), 6),
            "quota_to_potential_max_over_min": _max_over_min(ratio),
            "share_within_10pct_of_median_ratio": round(float(near.mean()), 6),
        }
    low, high = np.percentile(p, [10, 90]) if p.size else (np.nan, np.nan)
    info |= {
        "p_attain_p10": round(float(low), 6),
        "p_attain_p90": round(float(high), 6),
        "p_attain_spread_pp": round(100 * float(high - low), 4),
    }
    return info


def _max_over_min(ratio: np.ndarray) -> float | None:
    smallest = float(ratio.min())
    return round(float(ratio.max()) / smallest, 6) if smallest > 0 else None
