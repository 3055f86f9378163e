"""Chance that each rep reaches quota, by Monte Carlo over bookings.

Bookings of rep ``i`` in the period are drawn from a distribution centred
on the rep's ramped potential: lognormal or normal with a stated
coefficient of variation, or a two-piece distribution through given
P10/P50/P90 values. Attainment is bookings / quota; a rep "attains" when
bookings >= quota. Reps marked ``never_attain`` (in ``quota set``: reps
with potential 0, who get quota 0) count as not attaining, so they cannot
inflate the share of reps expected to attain.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

Z90 = float(stats.norm.ppf(0.9))
"""Standard-normal 90th percentile (about 1.2816)."""

_CHUNK_CELLS = 2_000_000
"""Scenario x rep (or deal row) cells drawn at once, to bound memory (about
16 MB); scenarios are drawn in blocks of this many cells."""


@dataclass(frozen=True)
class OpenDeals:
    """Open deals to add to simulated bookings.

    A deal split between reps has one row per rep (that rep's share of the
    amount) and one deal number: it is won or lost once per scenario, for
    every rep holding a share of it.

    Attributes
    ----------
    rep : ndarray of int, shape (n_rows,)
        Row of the owning rep in the quota arrays.
    amount : ndarray of float, shape (n_rows,)
        The rep's share of the deal value if won, currency >= 0.
    p_win : ndarray of float, shape (n_rows,)
        Win probability within the period, in [0, 1]; the same on every
        row of a deal.
    deal : ndarray of int, shape (n_rows,), optional
        Deal number of each row, ``0 .. n_deals - 1``; rows sharing a number
        are one deal. By default every row is a deal of its own.
    """

    rep: NDArray[np.int64]
    amount: NDArray[np.float64]
    p_win: NDArray[np.float64]
    deal: NDArray[np.int64] | None = None

    @property
    def expected_value(self) -> float:
        """Sum of amount x p_win, currency."""
        return float(np.dot(self.amount, self.p_win))

    @property
    def n_deals(self) -> int:
        """Number of deals (a split deal counts once)."""
        if self.deal is None:
            return int(self.rep.size)
        return int(self.deal.max(initial=-1)) + 1

    def add_wins(self, draws: NDArray[np.float64], rng: np.random.Generator) -> None:
        """Add won amounts to ``draws`` (n_scenarios, n_reps), currency.

        Each deal is drawn once per scenario (row of ``draws``); a split
        deal adds every rep's share when it is won and none when it is lost.
        """
        if self.rep.size == 0:
            return
        deal = np.arange(self.rep.size) if self.deal is None else self.deal
        p_deal = np.zeros(self.n_deals)
        p_deal[deal] = self.p_win
        won = rng.random((draws.shape[0], self.n_deals)) < p_deal
        order = np.argsort(self.rep, kind="stable")
        reps, starts = np.unique(self.rep[order], return_index=True)
        gained = won[:, deal[order]] * self.amount[order]
        draws[:, reps] += np.add.reduceat(gained, starts, axis=1)


@dataclass(frozen=True)
class AttainmentResult:
    """Monte-Carlo estimate of attainment.

    Attributes
    ----------
    p_attain : ndarray of shape (n_reps,)
        Probability each rep's bookings reach quota, in [0, 1]; 0 for reps
        marked ``never_attain``.
    mean_attainment : ndarray of shape (n_reps,)
        Expected bookings / quota (NaN where quota is 0).
    mean_bookings : ndarray of shape (n_reps,)
        Simulated mean bookings, currency.
    n_scenarios : int
        Scenarios drawn per rep.
    share_by_scenario : ndarray of shape (n_scenarios,)
        Share of reps reaching quota in each scenario.
    """

    p_attain: NDArray[np.float64]
    mean_attainment: NDArray[np.float64]
    mean_bookings: NDArray[np.float64]
    n_scenarios: int
    share_by_scenario: NDArray[np.float64]

    def share_quantiles(self) -> tuple[float, float, float]:
        """P10, P50, P90 over scenarios of the share of reps attaining."""
        if self.share_by_scenario.size == 0:
            return (0.0, 0.0, 0.0)
        p10, p50, p90 = np.percentile(self.share_by_scenario, [10, 50, 90])
        return (float(p10), float(p50), float(p90))

    @property
    def share_expected_to_attain(self) -> float:
        """Expected share of reps reaching quota, in [0, 1]."""
        return float(self.p_attain.mean()) if self.p_attain.size else 0.0

    @property
    def standard_error(self) -> float:
        """Largest Monte-Carlo standard error of a rep's ``p_attain``."""
        p = self.p_attain
        return float(np.sqrt(p * (1 - p) / self.n_scenarios).max(initial=0.0))


def lognormal_params(mean: ArrayLike, cv: float) -> tuple[NDArray[np.float64], float]:
    """Log-scale ``mu`` and ``sigma`` of a lognormal with given mean and CV.

    Parameters
    ----------
    mean : array_like of float
        Mean bookings, currency > 0.
    cv : float
        Coefficient of variation (std / mean), > 0.
    """
    sigma = float(np.sqrt(np.log1p(cv**2)))
    with np.errstate(divide="ignore"):
        mu = np.log(np.asarray(mean, dtype=float)) - sigma**2 / 2
    return mu, sigma


def closed_form_p_attain(
    quota: ArrayLike, mean: ArrayLike, cv: float, distribution: str = "normal"
) -> NDArray[np.float64]:
    """Exact P(bookings >= quota) for normal or lognormal bookings.

    Parameters
    ----------
    quota, mean : array_like of float, shape (n_reps,)
        Quota and mean bookings, currency.
    cv : float
        Coefficient of variation of bookings.
    distribution : {"normal", "lognormal"}
    """
    q = np.asarray(quota, dtype=float)
    m = np.asarray(mean, dtype=float)
    if distribution == "normal":
        return np.asarray(stats.norm.sf(q, loc=m, scale=cv * m), dtype=float)
    mu, sigma = lognormal_params(m, cv)
    with np.errstate(divide="ignore"):
        return np.asarray(stats.norm.sf((np.log(q) - mu) / sigma), dtype=float)


def bookings_from_z(
    z: NDArray[np.float64],
    mean: NDArray[np.float64],
    cv: float,
    distribution: str,
) -> NDArray[np.float64]:
    """Turn standard-normal draws ``z`` (n_scen, n_reps) into bookings."""
    if distribution == "normal":
        return mean * (1.0 + cv * z)
    mu, sigma = lognormal_params(mean, cv)
    return np.exp(mu + sigma * z)


def bookings_from_quantiles(
    z: NDArray[np.float64],
    p10: NDArray[np.float64],
    p50: NDArray[np.float64],
    p90: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Two-piece distribution through P10, P50, P90 (``0 <= P10 <= P50 <= P90``).

    Each side of the median is lognormal when both of its quantiles are
    positive (log-scale spread ``log(p50 / p10) / z90`` below,
    ``log(p90 / p50) / z90`` above) and linear in ``z`` otherwise, floored
    at 0. Either way the draws have exactly the given 10th, 50th and 90th
    percentiles.
    """
    low = _side(z, p50, p10, -Z90)
    high = _side(z, p50, p90, Z90)
    return np.where(z < 0, low, high)


def _side(
    z: NDArray[np.float64],
    median: NDArray[np.float64],
    edge: NDArray[np.float64],
    z_edge: float,
) -> NDArray[np.float64]:
    positive = (median > 0) & (edge > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(positive, np.log(edge / median) / z_edge, 0.0)
        logn = median * np.exp(spread * z)
    linear = np.maximum(median + (edge - median) * z / z_edge, 0.0)
    return np.where(positive, logn, linear)


def simulate_attainment(
    quota: ArrayLike,
    mean: ArrayLike | None = None,
    cv: float = 0.3,
    distribution: str = "lognormal",
    quantiles: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
    n_scenarios: int = 10_000,
    seed: int | np.random.Generator = 0,
    deals: OpenDeals | None = None,
    market_correlation: float = 0.0,
    never_attain: ArrayLike | None = None,
) -> AttainmentResult:
    """Estimate each rep's probability of reaching quota.

    Parameters
    ----------
    quota : array_like of float, shape (n_reps,)
        Quotas, currency.
    mean : array_like of float, shape (n_reps,), optional
        Expected bookings (ramped potential), currency; used with ``cv``.
    cv : float
        Coefficient of variation of bookings.
    distribution : {"lognormal", "normal"}
        Shape of bookings when ``quantiles`` is not given.
    quantiles : tuple of three array_like, optional
        P10, P50, P90 of bookings per rep, currency >= 0 and ordered; overrides
        ``mean`` and ``cv``.
    n_scenarios : int
        Draws per rep.
    seed : int or numpy.random.Generator
        Source of randomness; the same seed gives the same result.
    deals : OpenDeals, optional
        Open pipeline: each deal adds its amount to its rep's bookings with
        its win probability, independently of the other deals; a deal split
        between reps is drawn once and won or lost for all of them. The
        potential then describes the bookings not yet in the pipeline.
    market_correlation : float, default 0
        Correlation in [0, 1) of the reps' normal scores through one
        market factor per scenario. Each rep's chance of attaining is
        unchanged; good and bad years for everyone widen the spread of
        the share attaining.
    never_attain : array_like of bool, shape (n_reps,), optional
        Reps that count as not attaining whatever their bookings, e.g.
        reps with potential 0 and so quota 0, who would otherwise "attain"
        with no bookings at all.

    Returns
    -------
    AttainmentResult
    """
    q = np.asarray(quota, dtype=float)
    never = None if never_attain is None else np.asarray(never_attain, dtype=bool)
    rng = np.random.default_rng(seed)
    hits, booked = np.zeros(q.size), np.zeros(q.size)
    per_scenario = np.zeros(n_scenarios)
    width = max(1, q.size, 0 if deals is None else deals.rep.size)
    step = max(1, _CHUNK_CELLS // width)
    for start in range(0, n_scenarios, step):
        block = slice(start, min(n_scenarios, start + step))
        z = _normal_scores(rng, block.stop - block.start, q.size, market_correlation)
        draws = _draw(z, mean, cv, distribution, quantiles)
        if deals is not None:
            deals.add_wins(draws, rng)
        attained = draws >= q
        if never is not None:
            attained &= ~never
        hits += attained.sum(axis=0)
        per_scenario[block] = attained.sum(axis=1)
        booked += draws.sum(axis=0)
    booked /= max(1, n_scenarios)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_att = np.where(q > 0, booked / q, np.nan)
    share = per_scenario / max(1, q.size)
    return AttainmentResult(hits / n_scenarios, mean_att, booked, n_scenarios, share)


def _normal_scores(
    rng: np.random.Generator, n_scenarios: int, n_reps: int, rho: float
) -> NDArray[np.float64]:
    """Standard-normal scores (n_scenarios, n_reps), correlated ``rho``.

    With ``rho > 0`` the reps share one market factor per scenario.
    """
    z = rng.standard_normal((n_scenarios, n_reps))
    if rho > 0:
        market = rng.standard_normal(n_scenarios)
        z = np.sqrt(rho) * market[:, None] + np.sqrt(1 - rho) * z
    return z


def _draw(
    z: NDArray[np.float64],
    mean: ArrayLike | None,
    cv: float,
    distribution: str,
    quantiles: tuple[ArrayLike, ArrayLike, ArrayLike] | None,
) -> NDArray[np.float64]:
    if quantiles is not None:
        p10, p50, p90 = (np.asarray(a, dtype=float) for a in quantiles)
        return bookings_from_quantiles(z, p10, p50, p90)
    if mean is None:
        raise ValueError("simulate_attainment needs mean or quantiles")
    m = np.asarray(mean, dtype=float)
    return bookings_from_z(z, m, cv, distribution)
