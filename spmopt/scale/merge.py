"""Summaries of scenario batches that merge exactly.

Each batch of a Monte-Carlo run is reduced to a small summary; merging
summaries gives the statistics of all scenarios together:

- :class:`Moments`: count, mean and sum of squared deviations, merged with
  the pairwise update of Chan, Golub and LeVeque (1979), exact in exact
  arithmetic (agrees with a one-pass computation to rounding);
- :class:`Histogram`: counts over fixed, equal-width bins plus an
  underflow and an overflow bin and the exact minimum and maximum;
  counts add exactly. A quantile read from it comes with an interval
  that contains the exact sample quantile, one bin wide while the
  quantile lies inside the fixed range;
- :class:`Summary`: both, plus every sample when the whole run fits a
  memory budget, in which case quantiles are exact.

Every summary is column-wise: samples have shape ``(n, k)`` for ``k``
outputs per scenario (e.g. one payout per rep).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike

from spmopt.errors import ConfigError

DEFAULT_BINS = 1024
"""Equal-width bins per column of a histogram."""


def as_columns(samples: ArrayLike) -> np.ndarray:
    """View ``samples`` as a float array of shape ``(n, k)``."""
    array = np.asarray(samples, dtype=float)
    if array.ndim == 1:
        return array[:, None]
    if array.ndim != 2:
        raise ConfigError(
            f"scenario output must have shape (n,) or (n, k), got {array.shape}"
        )
    return array


@dataclass(frozen=True)
class Moments:
    """Count, mean and sum of squared deviations of each column.

    Attributes
    ----------
    count : int
        Number of scenarios.
    mean : ndarray of shape (k,)
        Column means.
    m2 : ndarray of shape (k,)
        Column sums of squared deviations from the mean.
    """

    count: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def from_samples(cls, samples: ArrayLike) -> Moments:
        """Moments of ``samples`` of shape ``(n,)`` or ``(n, k)``."""
        x = as_columns(samples)
        if x.shape[0] == 0:
            zeros = np.zeros(x.shape[1])
            return cls(0, zeros, zeros.copy())
        mean = x.mean(axis=0)
        return cls(x.shape[0], mean, ((x - mean) ** 2).sum(axis=0))

    def merge(self, other: Moments) -> Moments:
        """Moments of both sets of scenarios together (Chan et al.)."""
        if other.count == 0:
            return self
        if self.count == 0:
            return other
        n = self.count + other.count
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.count * other.count / n)
        return Moments(n, mean, m2)

    def variance(self, ddof: int = 1) -> np.ndarray:
        """Column variances with ``ddof`` degrees of freedom removed."""
        if self.count <= ddof:
            return np.full_like(self.m2, np.nan)
        return self.m2 / (self.count - ddof)

    def standard_error(self) -> np.ndarray:
        """Monte-Carlo standard error of each column mean (sample std/√n)."""
        return np.sqrt(self.variance(ddof=1) / self.count)


@dataclass(frozen=True)
class Histogram:
    """Counts of each column over fixed equal-width bins.

    Column ``c`` has ``n_bins`` bins of width ``(high[c] - low[c]) /
    n_bins`` between ``low[c]`` and ``high[c]``, plus an underflow bin
    ``[minimum, low)`` and an overflow bin ``(high, maximum]``.

    Attributes
    ----------
    low, high : ndarray of shape (k,)
        Range of the regular bins, ``high > low``.
    counts : ndarray of shape (k, n_bins + 2), int64
        Underflow count, regular bin counts, overflow count.
    minimum, maximum : ndarray of shape (k,)
        Smallest and largest value seen (+inf/-inf when empty).
    """

    low: np.ndarray
    high: np.ndarray
    counts: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray

    @property
    def n_bins(self) -> int:
        """Number of regular bins per column."""
        return int(self.counts.shape[1] - 2)

    @property
    def width(self) -> np.ndarray:
        """Width of a regular bin of each column, shape (k,)."""
        return (self.high - self.low) / self.n_bins

    @classmethod
    def from_samples(
        cls, samples: ArrayLike, low: ArrayLike, high: ArrayLike, n_bins: int
    ) -> Histogram:
        """Histogram of ``samples`` (shape (n,) or (n, k)) on fixed bins."""
        x = as_columns(samples)
        low, high = _check_range(low, high, x.shape[1], n_bins)
        width = (high - low) / n_bins
        regular = np.clip(np.floor((x - low) / width), 0, n_bins - 1) + 1
        index = np.where(x < low, 0, np.where(x > high, n_bins + 1, regular))
        flat = index.astype(np.int64) + np.arange(x.shape[1]) * (n_bins + 2)
        counts = np.bincount(flat.ravel(), minlength=x.shape[1] * (n_bins + 2))
        counts = counts.reshape(x.shape[1], n_bins + 2).astype(np.int64)
        if x.shape[0] == 0:
            inf = np.full(x.shape[1], np.inf)
            return cls(low, high, counts, inf, -inf)
        return cls(low, high, counts, x.min(axis=0), x.max(axis=0))

    def merge(self, other: Histogram) -> Histogram:
        """Histogram of both sets of scenarios; bins must be the same."""
        same = (
            np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
            and self.counts.shape == other.counts.shape
        )
        if not same:
            raise ValueError("histograms with different bins cannot be merged")
        return Histogram(
            self.low,
            self.high,
            self.counts + other.counts,
            np.minimum(self.minimum, other.minimum),
            np.maximum(self.maximum, other.maximum),
        )

    def quantile(self, q: float) -> np.ndarray:
        """Estimate of each column's ``q`` quantile, shape (k,).

        Follows the ``linear`` rule of :func:`numpy.quantile`: it
        interpolates between order statistics ``floor(r)`` and
        ``ceil(r)``, ``r = q (n - 1)``, each placed inside its bin as if
        the bin's values were evenly spread.
        """
        rank, frac = _rank(q, self.total)
        lower = self._order_statistic(np.floor(rank))
        upper = self._order_statistic(np.ceil(rank))
        return lower + frac * (upper - lower)

    def quantile_bounds(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """Interval certain to hold each column's exact ``q`` quantile.

        The quantile is ``(1 - f) x_a + f x_b`` for order statistics
        ``a = floor(r)``, ``b = ceil(r)`` and ``f = r - a``; each lies in
        its bin, so the quantile lies between the same mix of the bins'
        left edges and of their right edges.

        Returns
        -------
        low, high : ndarray of shape (k,)
            ``high - low`` is the error bound: one bin width when both
            order statistics fall in regular bins (under- and overflow
            bins are as wide as the data beyond the range).
        """
        rank, frac = _rank(q, self.total)
        left_a, right_a = self._bin_edges(self._bin_of(np.floor(rank)))
        left_b, right_b = self._bin_edges(self._bin_of(np.ceil(rank)))
        low = (1 - frac) * left_a + frac * left_b
        high = (1 - frac) * right_a + frac * right_b
        return low, np.maximum(high, low)

    def tail_mean(self, q: float) -> np.ndarray:
        """Estimate of each column's mean above its ``q`` quantile, (k,).

        Each bin's values are taken as evenly spread over the bin, and the
        part of the bin above the quantile estimate is counted pro rata.
        Its error is at most the width of the widest bin above the
        quantile (plus the quantile's own error).
        """
        threshold = self.quantile(q)
        bins = np.arange(self.n_bins + 2)[None, :]
        left, right = self._bin_edges(np.broadcast_to(bins, self.counts.shape))
        width = np.where(right > left, right - left, 1.0)
        start = np.clip(np.maximum(left, threshold[:, None]), left, right)
        share = np.where(
            right > left, (right - start) / width, left >= threshold[:, None]
        )
        mass = self.counts * share
        centre = (start + right) / 2
        return (mass * centre).sum(axis=1) / np.maximum(mass.sum(axis=1), 1e-300)

    @property
    def total(self) -> int:
        """Number of scenarios counted (same in every column)."""
        return int(self.counts[0].sum())

    def _bin_of(self, order: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(self.counts, axis=1)
        return (cumulative <= order).sum(axis=1)

    def _bin_edges(self, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        left = self.low + (bins - 1) * self.width
        right = left + self.width
        left = np.where(bins == 0, self.minimum, left)
        right = np.where(bins == 0, self.low, right)
        last = bins == self.n_bins + 1
        left = np.where(last, self.high, left)
        right = np.where(last, self.maximum, right)
        return np.maximum(left, self.minimum), np.minimum(right, self.maximum)

    def _order_statistic(self, order: float) -> np.ndarray:
        bins = self._bin_of(np.asarray(order))
        left, right = self._bin_edges(bins)
        rows = np.arange(self.counts.shape[0])
        in_bin = self.counts[rows, bins]
        before = np.cumsum(self.counts, axis=1)[rows, bins] - in_bin
        position = (order - before + 0.5) / in_bin
        return left + position * (right - left)


def _rank(q: float, total: int) -> tuple[float, float]:
    if not 0.0 <= q <= 1.0:
        raise ConfigError(f"quantile level must be in [0, 1], got {q}")
    if total == 0:
        raise ValueError("no scenarios counted")
    rank = q * (total - 1)
    return rank, rank - np.floor(rank)


def _check_range(
    low: ArrayLike, high: ArrayLike, k: int, n_bins: int
) -> tuple[np.ndarray, np.ndarray]:
    lo = np.broadcast_to(np.asarray(low, dtype=float), (k,)).copy()
    hi = np.broadcast_to(np.asarray(high, dtype=float), (k,)).copy()
    if n_bins < 1:
        raise ConfigError(f"n_bins must be a positive integer, got {n_bins}")
    if not np.all(hi > lo):
        raise ConfigError("histogram range needs high > low in every column")
    return lo, hi


def padded_range(
    samples: ArrayLike, margin: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Bin range of each column: its min and max widened by ``margin`` x span.

    Parameters
    ----------
    samples : ndarray of shape (n,) or (n, k)
        A pilot batch of scenarios.
    margin : float
        Share of the observed span added on each side.

    Returns
    -------
    low, high : ndarray of shape (k,)
        With ``high > low`` even for a constant column.
    """
    x = as_columns(samples)
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.maximum(hi - lo, np.maximum(np.abs(hi), 1.0) * 1e-9)
    return lo - margin * span, hi + margin * span


@dataclass(frozen=True)
class Summary:
    """Moments, histogram and (within budget) all samples of a batch set.

    Attributes
    ----------
    moments : Moments
    histogram : Histogram or None
        None for an output summarised by its moments only (``n_bins=0``).
    parts : tuple of ndarray of shape (n_i, k), or None
        Every sample, batch by batch, when the run fits the exact-quantile
        budget, else None; :attr:`samples` joins them.
    """

    moments: Moments
    histogram: Histogram | None
    parts: tuple[np.ndarray, ...] | None

    @cached_property
    def samples(self) -> np.ndarray | None:
        """Every kept sample, shape (n, k), in batch order; None if not kept.

        Batches are joined once, on first use, so merging many batches
        copies each sample once rather than once per merge.
        """
        if self.parts is None:
            return None
        return np.concatenate(self.parts) if len(self.parts) > 1 else self.parts[0]

    @classmethod
    def from_samples(
        cls,
        samples: ArrayLike,
        low: ArrayLike,
        high: ArrayLike,
        n_bins: int = DEFAULT_BINS,
        keep_samples: bool = False,
    ) -> Summary:
        """Summary of one batch, shape (n,) or (n, k); no histogram if n_bins=0."""
        x = as_columns(samples)
        kept = (x.copy(),) if keep_samples else None
        hist = Histogram.from_samples(x, low, high, n_bins) if n_bins else None
        return cls(Moments.from_samples(x), hist, kept)

    def merge(self, other: Summary) -> Summary:
        """Summary of both; samples kept only if both kept theirs."""
        parts = None
        if self.parts is not None and other.parts is not None:
            parts = self.parts + other.parts
        hist = None
        if self.histogram is not None and other.histogram is not None:
            hist = self.histogram.merge(other.histogram)
        return Summary(self.moments.merge(other.moments), hist, parts)

    def binned(self) -> Histogram:
        """The histogram; ValueError for an output kept by its moments only."""
        if self.histogram is None:
            raise ValueError("output summarised by moments only has no quantiles")
        return self.histogram

    @property
    def exact(self) -> bool:
        """True when quantiles come from every sample, not the histogram."""
        return self.parts is not None

    @property
    def count(self) -> int:
        """Number of scenarios summarised."""
        return self.moments.count

    def quantile(self, q: float) -> np.ndarray:
        """Each column's ``q`` quantile (exact if :attr:`exact`), shape (k,)."""
        if self.samples is not None:
            return np.quantile(self.samples, q, axis=0)
        return self.binned().quantile(q)

    def tail_mean(self, q: float) -> np.ndarray:
        """Mean of each column's values at or above its ``q`` quantile.

        Exact when :attr:`exact` (the expected shortfall, or CVaR, at level
        ``q`` of a cost); else the histogram estimate.
        """
        if self.samples is None:
            return self.binned().tail_mean(q)
        threshold = np.quantile(self.samples, q, axis=0)
        above = self.samples >= threshold
        return (self.samples * above).sum(axis=0) / above.sum(axis=0)

    def quantile_bounds(self, q: float) -> tuple[np.ndarray, np.ndarray]:
        """Interval holding each column's exact ``q`` quantile."""
        if self.samples is not None:
            value = np.quantile(self.samples, q, axis=0)
            return value, value
        return self.binned().quantile_bounds(q)

    def quantile_error(self, q: float) -> np.ndarray:
        """Error bound of :meth:`quantile`: width of its interval, shape (k,)."""
        low, high = self.quantile_bounds(q)
        return high - low
