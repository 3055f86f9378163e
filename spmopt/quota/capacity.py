"""Capacity plan: how many reps it takes to reach a target, and the reverse.

Expected-value model by month ``m = 1..H`` of the plan:

- a fully ramped rep books ``quota_per_rep / 12 * expected_attainment``
  per month, times a seasonality weight ``s_m`` (mean 1) and times the
  ramp share of its month in seat;
- each rep stays another month with probability ``1 - a``, where ``a``
  is the monthly attrition rate (``1 - (1 - annual) ** (1 / 12)``);
- a hire requested in month ``m`` starts in month ``m + lag``.

:class:`CapacityPlanner` chooses the hires (a small integer program in
PuLP); :func:`bookings_supported` prices a given hiring plan.
:func:`simulate_bookings` adds the uncertainty: who leaves, and how well
each rep sells.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pulp
from numpy.typing import ArrayLike, NDArray

from spmopt._logging import logger
from spmopt.errors import InfeasibleError
from spmopt.quota._solvers import pulp_backend
from spmopt.quota.ramp import ramp_share


def monthly_attrition(annual: float) -> float:
    """Monthly leaving probability equivalent to an annual rate.

    >>> round(monthly_attrition(0.2), 5)
    0.01842
    """
    return 1.0 - (1.0 - annual) ** (1.0 / 12.0)


@dataclass(frozen=True)
class Workforce:
    """Productivity assumptions shared by the planner and the simulator.

    Attributes
    ----------
    horizon : int
        Plan length, months.
    monthly_bookings : float
        Bookings of a fully ramped rep in an average month, currency.
    ramp : sequence of float
        Productivity share by month in seat (month 1 first).
    attrition : float
        Monthly probability that a rep leaves, in [0, 1).
    seasonality : ndarray of shape (horizon,)
        Multiplier of each plan month, mean 1 over a year.
    """

    horizon: int
    monthly_bookings: float
    ramp: Sequence[float]
    attrition: float
    seasonality: NDArray[np.float64]

    def cohort_curve(self, start: int, months_in_seat: int = 0) -> NDArray[np.float64]:
        """Expected bookings by plan month of one rep (currency).

        Parameters
        ----------
        start : int
            Plan month the rep starts (1-based); 1 for reps already in seat.
        months_in_seat : int
            Completed months in seat at ``start`` (0 for a new hire).
        """
        months = np.arange(1, self.horizon + 1)
        active = months >= start
        tenure = months - start
        share = ramp_share(self.ramp, months_in_seat + tenure + 1)
        stay = (1.0 - self.attrition) ** np.maximum(tenure, 0)
        return np.where(active, self.monthly_bookings * share * stay, 0.0) * (
            self.seasonality
        )

    def headcount_curve(self, start: int) -> NDArray[np.float64]:
        """Expected number present by plan month of one rep starting at ``start``."""
        months = np.arange(1, self.horizon + 1)
        tenure = months - start
        return np.where(
            tenure >= 0, (1.0 - self.attrition) ** np.maximum(tenure, 0), 0.0
        )


@dataclass(frozen=True)
class CapacityResult:
    """Outcome of a capacity plan.

    Attributes
    ----------
    hires : ndarray of int, shape (horizon,)
        Hires starting in each plan month.
    status : str
        Solver status (``"Optimal"``, or ``"Given"`` for a priced plan).
    objective : float
        Expected rep-months employed by the new hires (cost proxy).
    seconds : float
        Wall time, seconds (varies from run to run).
    """

    hires: NDArray[np.int64]
    status: str
    objective: float
    seconds: float


class CapacityPlanner:
    """Fewest rep-months of new hires that reach a bookings target.

    Formulation (``B_s``: expected bookings over the plan of one hire
    starting in month ``s``; ``E_s``: its expected months employed;
    ``B_0``: expected bookings of the reps already in seat):

    1. Variables: integer hires ``h_s >= 0`` for start months
       ``s = lag + 1 .. H`` (earlier starts would need requisitions opened
       before the plan).
    2. Target: ``B_0 + sum_s B_s h_s >= target``.
    3. Recruiting capacity: ``h_s <= max_hires_per_month`` when given.
    4. Objective: minimise ``sum_s E_s h_s``, the expected rep-months the
       new hires are paid for.

    Parameters
    ----------
    workforce : Workforce
        Productivity assumptions.
    existing : array_like of int, shape (n_reps,)
        Months in seat of the reps at the start of the plan.
    lag : int
        Months from opening a requisition to the hire's first month.
    max_hires_per_month : int, optional
        Recruiting capacity per month.
    """

    def __init__(
        self,
        workforce: Workforce,
        existing: ArrayLike,
        lag: int,
        max_hires_per_month: int | None = None,
    ) -> None:
        self.workforce = workforce
        self.existing = np.asarray(existing, dtype=np.int64)
        self.lag = lag
        self.max_hires_per_month = max_hires_per_month

    def base_bookings(self) -> float:
        """Expected bookings of the reps in seat over the plan, currency."""
        curves = [self.workforce.cohort_curve(1, int(s)) for s in self.existing]
        return float(np.sum(curves)) if curves else 0.0

    def solve(
        self, target: float, solver: str = "highs", time_limit: float = 60.0
    ) -> CapacityResult:
        """Choose the hires that reach ``target`` (currency) at least cost."""
        start = time.perf_counter()
        starts = list(range(self.lag + 1, self.workforce.horizon + 1))
        value = {s: float(self.workforce.cohort_curve(s).sum()) for s in starts}
        cost = {s: float(self.workforce.headcount_curve(s).sum()) for s in starts}
        need = target - self.base_bookings()
        if need > 0:
            self._check_reachable(need, value)
        model = pulp.LpProblem("capacity_plan", pulp.LpMinimize)
        upper = self.max_hires_per_month
        hires = {
            s: model.add_variable(f"h_{s}", 0, upper, cat="Integer") for s in starts
        }
        model.addConstraint(
            pulp.lpSum(value[s] * hires[s] for s in starts) >= need, name="target"
        )
        model.setObjective(pulp.lpSum(cost[s] * hires[s] for s in starts))
        status = _run(model, solver, time_limit)
        plan = np.zeros(self.workforce.horizon, dtype=np.int64)
        for s in starts:
            plan[s - 1] = round(hires[s].varValue or 0.0)
        objective = float(pulp.value(model.objective) or 0.0)
        return CapacityResult(plan, status, objective, time.perf_counter() - start)

    def _check_reachable(self, need: float, value: dict[int, float]) -> None:
        if not value:
            raise InfeasibleError(
                f"hiring_lag_months {self.lag} leaves no month in a "
                f"{self.workforce.horizon}-month plan for new hires to start, and "
                f"the reps in seat fall short of the target by {need:,.0f}"
            )
        if self.max_hires_per_month is None:
            return
        most = self.max_hires_per_month * sum(value.values())
        if most < need:
            raise InfeasibleError(
                f"max_hires_per_month {self.max_hires_per_month} is too low: "
                f"hiring at that pace from month {self.lag + 1} adds "
                f"{most:,.0f} of bookings, {need - most:,.0f} short of the target"
            )


def _run(model: pulp.LpProblem, solver: str, time_limit: float) -> str:
    model.solve(pulp_backend(solver, time_limit))
    status = str(pulp.LpStatus[model.status])
    if status != "Optimal":
        raise InfeasibleError(f"capacity plan not solved: solver status {status}")
    return status


def plan_table(
    workforce: Workforce, existing: ArrayLike, hires: ArrayLike, lag: int
) -> dict[str, NDArray[np.float64]]:
    """Expected headcount and bookings by plan month for a hiring plan.

    Returns
    -------
    dict of str to ndarray of shape (horizon,)
        ``month``, ``requisitions_opened`` (hires starting ``lag`` months
        later; requisitions for starts in the first ``lag`` months were
        opened before the plan and are not shown), ``hires_starting``,
        ``expected_headcount`` (reps present during the month),
        ``expected_leavers``, ``ramped_fte`` (sum of ramp shares),
        ``expected_bookings`` and ``cumulative_bookings`` (currency).
    """
    h = np.asarray(hires, dtype=np.int64)
    horizon = workforce.horizon
    months = np.arange(1, horizon + 1)
    present = np.zeros(horizon)
    bookings = np.zeros(horizon)
    fte = np.zeros(horizon)
    cohorts = [(1, int(s), 1) for s in np.asarray(existing, dtype=np.int64)]
    cohorts += [(int(m), 0, int(n)) for m, n in zip(months, h, strict=True) if n]
    for start, seat, count in cohorts:
        stay = workforce.headcount_curve(start)
        present += count * stay
        bookings += count * workforce.cohort_curve(start, seat)
        share = ramp_share(workforce.ramp, seat + np.maximum(months - start, 0) + 1)
        fte += count * stay * share
    requisitions = np.append(h[lag:], np.zeros(min(lag, horizon), dtype=np.int64))
    return {
        "month": months.astype(float),
        "requisitions_opened": requisitions.astype(float),
        "hires_starting": h.astype(float),
        "expected_headcount": present,
        "expected_leavers": present * workforce.attrition,
        "ramped_fte": fte,
        "expected_bookings": bookings,
        "cumulative_bookings": np.cumsum(bookings),
    }


def bookings_supported(
    workforce: Workforce, existing: ArrayLike, hires: ArrayLike
) -> float:
    """Expected bookings over the plan from reps in seat plus ``hires``.

    Parameters
    ----------
    workforce : Workforce
    existing : array_like of int
        Months in seat of the reps at the start of the plan.
    hires : array_like of int, shape (horizon,)
        Hires starting in each plan month.
    """
    table = plan_table(workforce, existing, hires, lag=0)
    return float(table["expected_bookings"].sum())


def simulate_bookings(
    workforce: Workforce,
    existing: ArrayLike,
    hires: ArrayLike,
    cv: float = 0.3,
    n_scenarios: int = 2000,
    seed: int | np.random.Generator = 0,
) -> NDArray[np.float64]:
    """Total plan bookings in each scenario (currency).

    Each rep leaves in a random month (geometric with the monthly
    attrition rate) and sells at a lognormal multiple (mean 1, coefficient
    of variation ``cv``) of the expected productivity.

    Returns
    -------
    ndarray of shape (n_scenarios,)
    """
    rng = np.random.default_rng(seed)
    starts = [(1, int(s)) for s in np.asarray(existing, dtype=np.int64)]
    for month, count in enumerate(np.asarray(hires, dtype=np.int64), start=1):
        starts += [(month, 0)] * int(count)
    sigma = float(np.sqrt(np.log1p(cv**2)))
    total = np.zeros(n_scenarios)
    months = np.arange(1, workforce.horizon + 1)
    for start, seat in starts:
        tenure = months - start
        share = ramp_share(workforce.ramp, seat + np.maximum(tenure, 0) + 1)
        monthly = np.where(tenure >= 0, workforce.monthly_bookings * share, 0.0)
        monthly = monthly * workforce.seasonality
        stays = _months_stayed(rng, workforce.attrition, n_scenarios)
        kept = (tenure[None, :] >= 0) & (tenure[None, :] < stays[:, None])
        skill = rng.lognormal(-(sigma**2) / 2, sigma, n_scenarios)
        total += skill * (kept * monthly[None, :]).sum(axis=1)
    logger.debug("capacity simulation: %d reps, %d scenarios", len(starts), n_scenarios)
    return total


def _months_stayed(
    rng: np.random.Generator, attrition: float, n: int
) -> NDArray[np.int64]:
    if attrition <= 0:
        return np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
    return rng.geometric(attrition, n).astype(np.int64)
