"""Attainment models for the Monte-Carlo simulator.

Each model draws attainment (credited quantity over quota) for a batch of
scenarios, every rep and every pay period, as an array of shape
``(n_scenarios, n_reps, n_periods)``. Randomness comes only from the
:class:`numpy.random.Generator` passed in.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field

from spmopt.config import Config


class LognormalAttainment(Config):
    """Lognormal attainment with a shared market factor.

    The log-attainment of rep ``r`` in scenario ``s`` and period ``p`` is::

        log a = mu + sigma * (sqrt(c) * M[s, p]
                              + sqrt(1 - c) * (sqrt(k) * U[s, r]
                                               + sqrt(1 - k) * E[s, r, p]))

    with independent standard normals ``M`` (market, shared by all reps),
    ``U`` (the rep's persistent form over the year) and ``E`` (noise), and
    ``mu = log(mean) - sigma**2 / 2`` so that the expected attainment is
    ``mean``. Any two reps' log-attainments have correlation ``c``.

    Parameters
    ----------
    mean : float
        Expected attainment per period (1.0 = quota), > 0.
    sigma : float
        Standard deviation of log-attainment, > 0 (0.3 gives roughly a
        30 % coefficient of variation).
    market_correlation : float
        Share ``c`` of log-variance common to all reps, in [0, 1].
    period_correlation : float
        Share ``k`` of a rep's own log-variance that persists across the
        periods of the year, in [0, 1].
    antithetic : bool
        Draw scenarios in antithetic pairs: the second half of each batch
        uses the negated normals of the first half. Every scenario keeps
        the same distribution, the pairs are negatively correlated (which
        lowers the Monte-Carlo error of a monotone payout) and only half
        the normals are drawn.
    """

    kind: Literal["lognormal"] = "lognormal"
    mean: float = Field(default=1.0, gt=0)
    sigma: float = Field(default=0.3, gt=0, le=3)
    market_correlation: float = Field(default=0.2, ge=0, le=1)
    period_correlation: float = Field(default=0.5, ge=0, le=1)
    antithetic: bool = True

    @property
    def mu(self) -> float:
        """Mean of log-attainment."""
        return math.log(self.mean) - self.sigma**2 / 2

    def draw(
        self, rng: np.random.Generator, n_scenarios: int, n_reps: int, n_periods: int
    ) -> np.ndarray:
        """Attainment array of shape (n_scenarios, n_reps, n_periods)."""
        half = n_scenarios // 2 if self.antithetic else 0
        n = n_scenarios - half
        z = np.empty((n_scenarios, n_reps, n_periods))
        c, k = self.market_correlation, self.period_correlation
        own = self.sigma * math.sqrt(1 - c)
        rng.standard_normal(out=z[:n])
        if n_periods == 1 or k == 0:
            z[:n] *= own  # form and noise are one normal with one period
        else:
            z[:n] *= own * math.sqrt(1 - k)
            z[:n] += rng.standard_normal((n, n_reps, 1)) * (own * math.sqrt(k))
        shift = np.full((n_scenarios, 1, n_periods), self.mu)
        if c > 0:
            market = rng.standard_normal((n, 1, n_periods)) * (
                self.sigma * math.sqrt(c)
            )
            shift[:n] += market
            shift[n:] -= market[:half]
        np.negative(z[:half], out=z[n:])
        z += shift
        return np.exp(z, out=z)
