"""Ramp: the share of full productivity a rep delivers by month in seat."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


def ramp_share(curve: Sequence[float], month: ArrayLike) -> NDArray[np.float64]:
    """Productivity share in month ``month`` in seat (1 = first month).

    Parameters
    ----------
    curve : sequence of float
        Share of full productivity for months 1, 2, ... in seat, each in
        (0, 1]. Months past the end of the curve are fully ramped (1.0).
    month : array_like of int
        Month in seat, counting from 1.

    Returns
    -------
    ndarray of float
        Shares in (0, 1], same shape as ``month``.
    """
    months = np.asarray(month, dtype=np.int64)
    table = np.append(np.asarray(curve, dtype=float), 1.0)
    index = np.clip(months - 1, 0, len(table) - 1)
    return table[index]


def ramp_factor(
    curve: Sequence[float], months_in_seat: ArrayLike, period_months: int = 12
) -> NDArray[np.float64]:
    """Average productivity share over a quota period.

    Parameters
    ----------
    curve : sequence of float
        Ramp curve, see :func:`ramp_share`.
    months_in_seat : array_like of float, shape (n_reps,)
        Completed months in seat at the start of the period (0 for a new
        hire). Fractions are rounded down.
    period_months : int, default 12
        Length of the period in months.

    Returns
    -------
    ndarray of shape (n_reps,)
        Mean share of full productivity over the period, in (0, 1].

    Examples
    --------
    A new hire on a 3-month ramp of 25 %, 50 %, 75 % over a year delivers
    (0.25 + 0.5 + 0.75 + 9) / 12 = 0.875 of a ramped rep.

    >>> float(ramp_factor([0.25, 0.5, 0.75], [0])[0])
    0.875
    """
    start = np.floor(np.asarray(months_in_seat, dtype=float)).astype(np.int64)
    offsets = np.arange(1, period_months + 1)
    months = start[:, None] + offsets[None, :]
    return ramp_share(curve, months).mean(axis=1)
