"""Allocation of the company target to reps as a linear program (PuLP).

All amounts inside the model are whole *rounding units* (cents by
default), so bounds are exact and the rounded quotas can be checked to
sum to the target to the unit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pulp
from numpy.typing import ArrayLike, NDArray

from spmopt._logging import logger
from spmopt.errors import InfeasibleError
from spmopt.quota._solvers import pulp_backend
from spmopt.quota.rounding import largest_remainder


@dataclass(frozen=True)
class AllocationResult:
    """Outcome of :meth:`QuotaAllocator.solve`.

    Attributes
    ----------
    status : str
        Solver status, ``"Optimal"`` when solved to optimality.
    objective : float
        Total absolute deviation of the LP quotas from the reference
        quotas, currency (before rounding).
    bound : float
        Best proven lower bound on ``objective``, currency (equal to it
        for an LP solved to optimality).
    gap : float
        Relative gap between objective and bound (0 when optimal).
    seconds : float
        Wall time of the solve, seconds (varies from run to run).
    quota_units : ndarray of int64, shape (n_reps,)
        Rounded quotas in rounding units; they sum exactly to the target.
    floor_units, cap_units : ndarray of int64, shape (n_reps,)
        Bounds in rounding units.
    binding : ndarray of str, shape (n_reps,)
        ``"floor"``, ``"cap"``, ``"fixed"`` (floor equals cap) or ``"none"``.
    n_variables, n_constraints : int
        Size of the linear program.
    extra : dict
        ``deviation_after_rounding``: total absolute deviation of the
        rounded quotas from the reference, currency (at most one unit
        per rep more than ``objective``).
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    quota_units: NDArray[np.int64]
    floor_units: NDArray[np.int64]
    cap_units: NDArray[np.int64]
    binding: NDArray[np.str_]
    n_variables: int
    n_constraints: int
    extra: dict[str, float] = field(default_factory=dict)


def format_amount(units: int, unit: float) -> str:
    """Amount in currency with thousands separators, e.g. ``1,200,000``."""
    value = units * unit
    decimals = max(0, -int(np.floor(np.log10(unit)))) if unit < 1 else 0
    text = f"{value:,.{decimals}f}"
    return text[: -decimals - 1] if decimals and text.endswith(".00") else text


class QuotaAllocator:
    """Split a company target into rep quotas close to a reference split.

    Formulation (amounts in whole rounding units, e.g. cents; ``r_i`` is
    the reference quota, ``T`` split in proportion to the reference
    weights and rounded so that ``sum_i r_i = T``; ``l_i``, ``u_i`` are
    the floor and cap):

    1. Clipped reference ``c_i = min(max(r_i, l_i), u_i)``; the bounds
       force a deviation ``m_i = |c_i - r_i|`` on rep ``i``.
    2. Variables ``0 <= up_i <= u_i - c_i`` and ``0 <= down_i <= c_i - l_i``;
       the quota is ``q_i = c_i + up_i - down_i``, so ``l_i <= q_i <= u_i``
       holds by the variable bounds alone. Only one direction is needed:
       if ``sum_i c_i < T`` every ``down_i`` is fixed at 0 (a cut would
       need an extra raise elsewhere and add twice its size to ``D``), and
       if ``sum_i c_i > T`` every ``up_i`` is.
    3. Target: ``sum_i (c_i + up_i - down_i) = T``.
    4. Objective: minimise ``D = sum_i m_i + sum_i (up_i + down_i)``, the
       total absolute deviation ``sum_i |q_i - r_i|`` (an optimal solution
       never raises and lowers the same quota, nor moves a forced quota
       back past its reference). Call the optimum ``D*``.
    5. Spread (second stage, ``spread=True``): many solutions reach
       ``D*``; among them minimise ``t`` subject to ``D <= D* + 1`` and
       ``up_i + down_i <= t * w_i`` with ``w_i = (r_i + e) / max_k r_k``
       and a tiny ``e`` (so reps with a zero reference move only when no
       one else can), for every rep with room to move. This spreads the
       shortfall or excess over all free reps by the same percentage
       instead of loading it on one.

    With whole-unit data the vertices of this LP are whole units; any
    remaining solver noise is removed by the largest-remainder rule
    (:mod:`spmopt.quota.rounding`), which keeps (3) and the bounds exact.

    Parameters
    ----------
    reference : array_like of float, shape (n_reps,)
        Reference quotas in units.
    floor, cap : array_like of int, shape (n_reps,)
        Bounds in units, ``floor <= cap``.
    target : int
        Company target in units.
    unit : float, default 0.01
        Size of one unit in currency (for messages and the objective).
    spread : bool, default True
        Solve stage (5) after (4).
    """

    def __init__(
        self,
        reference: ArrayLike,
        floor: ArrayLike,
        cap: ArrayLike,
        target: int,
        unit: float = 0.01,
        spread: bool = True,
    ) -> None:
        self.reference = np.asarray(reference, dtype=float)
        self.floor = np.asarray(floor, dtype=np.int64)
        self.cap = np.asarray(cap, dtype=np.int64)
        self.target = int(target)
        self.unit = unit
        self.spread = spread
        self.model: pulp.LpProblem | None = None
        self._up: list[pulp.LpVariable] = []
        self._down: list[pulp.LpVariable] = []

    @classmethod
    def from_potential(
        cls,
        potential: ArrayLike,
        target: float,
        floor_share: float = 0.0,
        cap_share: float | None = None,
        decimals: int = 2,
        reference: ArrayLike | None = None,
        spread: bool = True,
    ) -> QuotaAllocator:
        """Build from ramped potential and bounds as shares of it.

        Parameters
        ----------
        potential : array_like of float, shape (n_reps,)
            Ramped potential per rep, currency >= 0.
        target : float
            Company target, currency > 0.
        floor_share, cap_share : float
            Quota bounds as a share of potential; ``None`` means no cap.
        decimals : int, default 2
            Quotas are whole multiples of ``10 ** -decimals``.
        reference : array_like of float, shape (n_reps,), optional
            Weights of the reference split (e.g. last period's bookings or
            a blend); default ``potential``. Quotas stay as close as the
            bounds allow to ``target * reference / sum(reference)``.
        spread : bool, default True
            Spread the adjustment evenly (formulation step 5).
        """
        weight = np.asarray(potential, dtype=float)
        target_units = round(target * 10.0**decimals)
        share = shares_of(weight if reference is None else reference)
        floor, cap = bounds_in_units(
            weight, floor_share, cap_share, decimals, no_cap=target_units
        )
        ref_units = largest_remainder(share * target_units, target_units)
        return cls(ref_units, floor, cap, target_units, 10.0**-decimals, spread)

    def check_feasible(self) -> None:
        """Raise :class:`InfeasibleError` naming the bound that conflicts."""
        floors, caps = int(self.floor.sum()), int(self.cap.sum())
        show = self._show
        if floors > self.target:
            raise InfeasibleError(
                f"sum of floors {show(floors)} exceeds target {show(self.target)} "
                f"by {show(floors - self.target)}; lower bounds.floor or the "
                "minimum quotas"
            )
        if caps < self.target:
            raise InfeasibleError(
                f"sum of caps {show(caps)} falls short of target "
                f"{show(self.target)} by {show(self.target - caps)}; raise "
                "bounds.cap or the potentials"
            )
        crossed = np.flatnonzero(self.floor > self.cap)
        if crossed.size:
            i = int(crossed[0])
            raise InfeasibleError(
                f"rep in row {i + 1}: floor {show(int(self.floor[i]))} exceeds "
                f"cap {show(int(self.cap[i]))}"
            )

    def build(self) -> QuotaAllocator:
        """Create the LP: variables (1)-(2), target (3), objective (4)."""
        self.check_feasible()
        self.model = pulp.LpProblem("quota_allocation", pulp.LpMinimize)
        self._add_variables()
        self._add_target()
        self._add_objective()
        return self

    @property
    def clipped(self) -> NDArray[np.float64]:
        """Reference quotas moved inside their bounds (formulation 1), units."""
        return np.clip(self.reference, self.floor, self.cap)

    def _add_variables(self) -> None:
        model = self.model
        assert model is not None
        c = self.clipped
        short = self.target - c.sum()
        room_up = (self.cap - c) * (short > 0)
        room_down = (c - self.floor) * (short < 0)
        self._up = [
            model.add_variable(f"up_{i}", 0, float(room))
            for i, room in enumerate(room_up)
        ]
        self._down = [
            model.add_variable(f"down_{i}", 0, float(room))
            for i, room in enumerate(room_down)
        ]

    def _add_target(self) -> None:
        assert self.model is not None
        moved = pulp.lpSum(self._up) - pulp.lpSum(self._down)
        rhs = float(self.target - self.clipped.sum())
        self.model.addConstraint(moved == rhs, name="target")

    def _add_objective(self) -> None:
        assert self.model is not None
        self.model.setObjective(pulp.lpSum(self._up) + pulp.lpSum(self._down))

    @property
    def forced_deviation(self) -> float:
        """Deviation the bounds force, ``sum_i m_i``, units."""
        return float(np.abs(self.clipped - self.reference).sum())

    def solve(
        self, solver: str = "highs", time_limit: float = 60.0, threads: int = 1
    ) -> AllocationResult:
        """Solve the LP (4), then (5) if ``spread``; round to whole units.

        The model is built afresh on every call.

        Parameters
        ----------
        solver : {"highs", "cbc"}
            HiGHS (through ``highspy``) or the CBC bundled with PuLP. CBC
            returns values with fewer digits; the rounding step absorbs
            the difference.
        time_limit : float
            Seconds allowed to each solver call.
        threads : int, default 1
            Solver threads (at most 2 recommended on shared machines).
        """
        self.build()
        assert self.model is not None
        start = time.perf_counter()
        self._solve_stage(solver, time_limit, threads, "total deviation")
        moved = float(pulp.value(self.model.objective) or 0.0)
        if self.spread:
            self._add_spread(moved)
            self._solve_stage(solver, time_limit, threads, "spread")
        seconds = time.perf_counter() - start
        objective = (self.forced_deviation + moved) * self.unit
        return self._result("Optimal", objective, seconds)

    def _solve_stage(
        self, solver: str, time_limit: float, threads: int, stage: str
    ) -> None:
        status = self._run_solver(solver, time_limit, threads)
        if status != "Optimal":
            raise InfeasibleError(
                f"quota LP ({stage} stage) not solved: solver status {status}"
            )

    def _add_spread(self, moved: float) -> None:
        """Formulation step (5): keep D near D*, minimise the spread t."""
        assert self.model is not None
        t = self.model.add_variable("spread", 0)
        total = pulp.lpSum(self._up) + pulp.lpSum(self._down)
        self.model.addConstraint(total <= moved + 1.0, name="keep_total")
        weight = spread_weights(self.reference)
        for i, (up, down) in enumerate(zip(self._up, self._down, strict=True)):
            if (up.upBound or 0) > 0 or (down.upBound or 0) > 0:
                self.model.addConstraint(
                    up + down <= float(weight[i]) * t, name=f"spread_{i}"
                )
        self.model.setObjective(t)

    def _run_solver(self, solver: str, time_limit: float, threads: int) -> str:
        assert self.model is not None
        backend = pulp_backend(solver, time_limit, threads, interior=True)
        self.model.solve(backend)
        return str(pulp.LpStatus[self.model.status])

    def _result(
        self, status: str, objective: float, seconds: float
    ) -> AllocationResult:
        assert self.model is not None
        up = np.array([v.varValue or 0.0 for v in self._up], dtype=float)
        down = np.array([v.varValue or 0.0 for v in self._down], dtype=float)
        values = self.clipped + up - down
        values = np.clip(values, self.floor, self.cap)
        units = largest_remainder(values, self.target, self.floor, self.cap)
        deviation = float(np.abs(units - self.reference).sum()) * self.unit
        logger.debug("quota LP objective %.6g, rounded %.6g", objective, deviation)
        return AllocationResult(
            status=status,
            objective=objective,
            bound=objective,
            gap=0.0,
            seconds=seconds,
            quota_units=units,
            floor_units=self.floor,
            cap_units=self.cap,
            binding=self._binding(units),
            n_variables=self.model.numVariables(),
            n_constraints=self.model.numConstraints(),
            extra={"deviation_after_rounding": deviation},
        )

    def _binding(self, units: NDArray[np.int64]) -> NDArray[np.str_]:
        labels = np.full(units.shape, "none", dtype=object)
        labels[units == self.cap] = "cap"
        labels[units == self.floor] = "floor"
        labels[self.floor == self.cap] = "fixed"
        return labels.astype(str)

    def _show(self, units: int) -> str:
        return format_amount(units, self.unit)


def bounds_in_units(
    potential: ArrayLike,
    floor_share: float,
    cap_share: float | None,
    decimals: int,
    no_cap: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Floor and cap of each quota in whole units.

    Parameters
    ----------
    potential : array_like of float, shape (n_reps,)
        Ramped potential, currency.
    floor_share, cap_share : float
        Bounds as shares of potential; ``cap_share=None`` means no cap.
    decimals : int
        One unit is ``10 ** -decimals`` currency.
    no_cap : int
        Cap used for every rep when ``cap_share`` is None, units.

    Returns
    -------
    floor, cap : ndarray of int64, shape (n_reps,)
        Floors rounded up and caps rounded down to whole units.
    """
    scaled = np.asarray(potential, dtype=float) * 10.0**decimals
    floor = np.ceil(floor_share * scaled - 1e-6).astype(np.int64)
    if cap_share is None:
        return floor, np.full(scaled.shape, no_cap, dtype=np.int64)
    return floor, np.floor(cap_share * scaled + 1e-6).astype(np.int64)


def spread_weights(reference: ArrayLike) -> NDArray[np.float64]:
    """Weights ``w_i`` of formulation step (5), in (0, 1]."""
    r = np.asarray(reference, dtype=float)
    top = max(1.0, float(r.max(initial=0.0)))
    return (r + 1e-6 * top) / top


def shares_of(weights: ArrayLike) -> NDArray[np.float64]:
    """``weights / sum(weights)``, or equal shares if they sum to 0."""
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    return w / total if total > 0 else np.full(w.shape, 1.0 / w.size)
