"""Cancelled deals in the simulator: what the plan's clawback recovers.

The reference calculator claws back the commission of a credit whose
``cancel_date`` falls within the plan's window. The simulator has no
cancel dates, so :class:`Cancellations` states how often won deals are
cancelled within that window, and the clawback is priced two ways:

* deal by deal (attainment ``kind: deals``): every won deal is cancelled
  with probability ``rate`` (or the pipeline's ``cancel_probability``),
  after ``k`` whole months from its anchor, ``k`` uniform on
  ``0..window_months``; it gives back its commission times the plan's
  recovery share for ``k`` (all of it, a fixed share, or the months not
  served over ``contract_months``), posted in the period of the month it
  is cancelled in (nothing in this plan year when that month is after it).
  A deal's commission is its amount times the average rate its rep's
  revenue measure paid in the deal's period (payment over credited
  amount);
* from attainment alone (``kind: lognormal`` or ``history``): each
  period's revenue-measure payment is reduced by its expected clawback,
  ``rate`` times the expected recovery share, in the same period.

Either way the expected clawback is ``rate x commission x recovery share``.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from spmopt.config import Config
from spmopt.payout.deals import expand, first_rows
from spmopt.payout.plan import Clawback


class Cancellations(Config):
    """How often won deals are cancelled, for pricing the plan's clawback.

    Parameters
    ----------
    rate : float
        Probability that a won deal is cancelled within the plan's
        clawback window, in [0, 1]; a pipeline column
        ``cancel_probability`` overrides it deal by deal.
    contract_months : int
        Contract length in months for prorated clawbacks, where the
        pipeline has no ``contract_months`` column (or leaves it empty).
    """

    rate: float = Field(ge=0, le=1)
    contract_months: int = Field(default=12, gt=0, le=600)


def recovery_share(
    rule: Clawback, months: np.ndarray, contract_months: np.ndarray | float
) -> np.ndarray:
    """Share of a deal's commission recovered when cancelled after ``months``.

    ``months`` (whole months from the anchor, within the window) and
    ``contract_months`` broadcast together; the result is in [0, 1].
    """
    months = np.asarray(months, dtype=float)
    if rule.mode == "full":
        return np.ones_like(months)
    if rule.mode == "fixed_share":
        return np.full_like(months, float(rule.share))
    served = np.asarray(contract_months, dtype=float)
    return np.maximum(served - months, 0.0) / served


def expected_share(rule: Clawback, contract_months: float) -> float:
    """Mean recovery share when the cancellation month is uniform in the window."""
    months = np.arange(rule.window_months + 1)
    return float(recovery_share(rule, months, contract_months).mean())


def expected_clawback(
    commission: np.ndarray, rule: Clawback, cancellations: Cancellations
) -> np.ndarray:
    """Clawback per period from the commission alone (a new, <= 0 array)."""
    factor = cancellations.rate * expected_share(rule, cancellations.contract_months)
    return np.multiply(commission, -factor)


class DealClawbacks:
    """Cancels won deals at random and posts their clawbacks.

    Parameters
    ----------
    rule : Clawback
        The plan's clawback.
    deals : dict of arrays, one value per pipeline deal
        ``rep`` (rep position), ``period`` (0-based pay period),
        ``amount``, ``anchor_month`` (month of the anchor date counted
        from the plan year's first month), ``contract_months``,
        ``cancel_probability`` and optionally ``deal`` (rows of one split
        deal share a number and are cancelled together).
    n_periods : int
        Pay periods in the plan year.
    """

    def __init__(self, rule: Clawback, deals: dict[str, np.ndarray], n_periods: int):
        self.rule = rule
        self.deals = deals
        self.n_periods = n_periods
        self.months_per_period = 12 // n_periods

    def posted(
        self,
        rng: np.random.Generator,
        won: np.ndarray,
        rate: np.ndarray,
        n_reps: int,
    ) -> np.ndarray:
        """Clawbacks per period of posting, period-major (P, S, R), <= 0.

        ``won`` (S, D) says which deals each scenario won; ``rate`` is the
        revenue measure's payment per unit credited, period-major (P, S, R).
        """
        deals, n_scenarios = self.deals, won.shape[0]
        deal = deals.get("deal", np.arange(won.shape[1]))
        first = first_rows(deal)  # the rows of a split deal are cancelled together
        chance = deals["cancel_probability"][first]
        cancelled = won[:, first] & (rng.random((n_scenarios, len(first))) < chance)
        s, dd = np.nonzero(cancelled)
        months = rng.integers(0, self.rule.window_months + 1, size=len(s))
        pair, s, d = expand(deal, s, dd)
        months = months[pair]
        share = recovery_share(self.rule, months, deals["contract_months"][d])
        rep, period = deals["rep"][d], deals["period"][d]
        commission = deals["amount"][d] * rate[period, s, rep]
        month = np.maximum(deals["anchor_month"][d].astype(np.int64) + months, 0)
        posted_in = np.maximum(month // self.months_per_period, period)
        inside = month < 12
        index = (posted_in * n_scenarios + s) * n_reps + rep
        size = self.n_periods * n_scenarios * n_reps
        out = np.bincount(
            index[inside], weights=-(share * commission)[inside], minlength=size
        )
        return out.reshape(self.n_periods, n_scenarios, n_reps)
