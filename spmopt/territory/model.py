"""The alignment model on OR-Tools CP-SAT: built from data, then solved."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from spmopt._logging import logger
from spmopt._stoppable import solve_cp_sat, watching
from spmopt.errors import TimeLimitWarning
from spmopt.territory.geometry import nearest_mask
from spmopt.territory.problem import NO_REP, TerritoryProblem
from spmopt.territory.scaling import (
    ROW_LIMIT,
    band_to_int,
    cost_scale,
    row_scale,
    to_int,
)

EARLY_SECONDS = 0.05
"""How far before its time limit a CP-SAT stop must come to count as Ctrl-C, s."""

_STATUS: dict[Any, str] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
    cp_model.MODEL_INVALID: "model_invalid",
}


@dataclass(frozen=True)
class SolveResult:
    """Outcome of one solve.

    Attributes
    ----------
    status : {"optimal", "feasible", "infeasible", "unknown"}
        ``optimal`` when proven optimal within the requested relative gap
        (``gap`` gives the exact figure); ``feasible`` when a limit stopped
        the search with a solution; ``unknown`` when it stopped before any.
    objective : float
        Objective of the returned alignment, user units (e.g. km); NaN when
        there is none.
    bound : float
        Best proven lower bound on the objective, same units.
    gap : float
        ``(objective - bound) / max(|objective|, 1e-9)``.
    seconds : float
        Wall time of the solve, s (varies run to run).
    assignment : ndarray of int, shape (n_units,)
        Rep index per unit; empty when there is no solution.
    hit_limit : bool
        True when the time or work limit stopped the search.
    deterministic_seconds : float
        Work done, in deterministic seconds (reproducible per seed): CP-SAT's
        own measure, or HiGHS simplex iterations for ``lp_round``.
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    assignment: NDArray[np.int64] = field(repr=False)
    hit_limit: bool = False
    deterministic_seconds: float = 0.0

    @property
    def has_solution(self) -> bool:
        """True when an alignment was found."""
        return self.status in ("optimal", "feasible")


@dataclass(frozen=True)
class SolverSettings:
    """Limits and parallelism of a solve (see :class:`SolverSpec`)."""

    time_limit_seconds: float = 60.0
    deterministic_time: float | None = None
    workers: int = 2
    deterministic: bool = True
    relative_gap: float = 1e-4
    seed: int = 0


class AlignmentModel:
    """Assign every unit to one rep, as a CP-SAT model.

    Formulation (i: units, k: reps, A: allowed pairs, x_ik binary):

    1. ``sum_k x_ik = 1`` for every unit i (each unit to one rep).
    2. ``x_ik = 0`` for (i, k) not in A: each unit may only go to its
       ``k_nearest`` reps, plus its current and locked owner (sparsity).
    3. ``sum_i w_i x_ik <= c_k`` for every rep k (workload capacity).
    4. ``L_k <= sum_i m_i x_ik <= U_k`` for every rep k and every balanced
       measure m (potential, workload or unit count), with
       ``L_k, U_k = s_k * M * (1 -/+ tol)`` and optional absolute bounds.
    5. ``x_ik = 1`` when unit i is locked to rep k.
    6. ``sum_i v_i (1 - x_{i,o_i}) <= B * sum_i v_i`` over units with a
       current owner o_i (disruption budget on measure v).
    7. Minimise ``sum_ik d_ik a_i x_ik + lambda * sum_i v_i (1 - x_{i,o_i})``
       with d the distance to the rep's base and a_i the distance weight.
    8. Optional contiguity: a flow from each rep's root unit reaches every
       unit of the rep through units of the same rep (see
       :meth:`add_contiguity`).

    Real coefficients are scaled to integers (:mod:`scaling`); reported
    figures are in user units. For thousands of units use
    :class:`~spmopt.territory.lpround.LPRoundModel` (``solver.method``).

    Parameters
    ----------
    problem : TerritoryProblem
        The validated instance.
    k_nearest : int, optional
        Sparsification of constraint 2; None keeps every pair.
    explain : bool, default False
        Guard every constraint family (3-6) by a literal so that
        :meth:`conflicting_families` can name the families that conflict.
    """

    def __init__(
        self,
        problem: TerritoryProblem,
        k_nearest: int | None = 5,
        explain: bool = False,
    ) -> None:
        self.problem = problem
        self.k_nearest = k_nearest
        self.explain = explain
        self.guards: dict[str, cp_model.IntVar] = {}
        self.allowed = allowed_pairs(problem, k_nearest)
        self.model = cp_model.CpModel()
        self.x: dict[tuple[int, int], cp_model.IntVar] = {}
        self.families: list[str] = []
        self._objective_terms: list[tuple[cp_model.IntVar, int]] = []
        self._cost = np.zeros((problem.n_units, problem.n_reps))
        self._cost_factor = 1.0
        self._hint: NDArray[np.int64] | None = None
        self._penalty: tuple[str, float] = ("potential", 0.0)
        self._add_assignment()

    @classmethod
    def from_problem(
        cls, problem: TerritoryProblem, k_nearest: int | None = 5, explain: bool = False
    ) -> AlignmentModel:
        """Model with the assignment rows (1-2) only; add families next."""
        return cls(problem, k_nearest, explain)

    def _guard(self, constraint: cp_model.Constraint, family: str) -> None:
        if not self.explain:
            return
        if family not in self.guards:
            self.guards[family] = self.model.new_bool_var(f"guard_{family}")
        constraint.only_enforce_if(self.guards[family])

    def _add_assignment(self) -> None:
        for i, k in zip(*np.nonzero(self.allowed), strict=True):
            self.x[int(i), int(k)] = self.model.new_bool_var(f"x_{i}_{k}")
        for i in range(self.problem.n_units):
            row = [self.x[i, int(k)] for k in np.flatnonzero(self.allowed[i])]
            self.model.add_exactly_one(row)
        self.families.append("assignment")

    def _rep_sum(self, k: int, coef: NDArray[np.int64]) -> cp_model.LinearExprT:
        units = np.flatnonzero(self.allowed[:, k])
        return cp_model.LinearExpr.weighted_sum(
            [self.x[int(i), k] for i in units], [int(coef[i]) for i in units]
        )

    def add_capacity(self) -> AlignmentModel:
        """Constraint 3: workload of each rep at most its capacity."""
        p = self.problem
        factor = row_scale(p.workload)
        coef = to_int(p.workload, factor)
        for k in range(p.n_reps):
            if np.isfinite(p.capacity[k]):
                _, hi = band_to_int(0.0, p.capacity[k], factor)
                self._guard(self.model.add(self._rep_sum(k, coef) <= hi), "capacity")
        self.families.append("capacity")
        return self

    def add_balance(
        self,
        measure: str = "potential",
        tolerance: float | None = 0.05,
        low: float | None = None,
        high: float | None = None,
    ) -> AlignmentModel:
        """Constraint 4: ``measure`` of each rep within its band.

        Parameters
        ----------
        measure : {"potential", "workload", "units"}
        tolerance : float, optional
            Relative half-width of the band around each rep's target.
        low, high : float, optional
            Absolute bounds in the unit of the measure, applied to every rep.
        """
        p = self.problem
        values = p.measure(measure)
        factor = row_scale(values)
        coef = to_int(values, factor)
        lows, highs = balance_band(p, measure, tolerance, low, high)
        for k in range(p.n_reps):
            lo, hi = band_to_int(lows[k], highs[k], factor)
            if self.allowed[:, k].any():
                row = self.model.add_linear_constraint(self._rep_sum(k, coef), lo, hi)
            elif lo <= 0 <= hi:
                continue  # no unit may join rep k, and an empty band holds
            else:  # CP-SAT would drop a band over no variables: state it false
                row = self.model.add_bool_or([])
            self._guard(row, f"balance:{measure}")
        self.families.append(f"balance:{measure}")
        return self

    def add_contiguity(self, edges: NDArray[np.int64]) -> AlignmentModel:
        """Constraint 8: each rep's units form one connected piece.

        Single-commodity flow per rep k rooted at the allowed unit nearest
        its base (which joins k): ``f_uv <= M x_uk``, ``f_uv <= M x_vk`` and
        inflow minus outflow equals ``x_uk`` at every other unit.

        Parameters
        ----------
        edges : ndarray of int, shape (n_edges, 2)
            Undirected adjacency between unit indices.
        """
        for k in range(self.problem.n_reps):
            self._flow(k, edges)
        self.families.append("contiguity")
        return self

    def _flow(self, k: int, edges: NDArray[np.int64]) -> None:
        units = np.flatnonzero(self.allowed[:, k])
        if units.size == 0:
            return
        root = int(units[np.argmin(self.problem.distance[units, k])])
        self._guard(self.model.add(self.x[root, k] == 1), "contiguity")
        both = self.allowed[edges[:, 0], k] & self.allowed[edges[:, 1], k]
        big = len(units)
        balance: dict[int, list[tuple[cp_model.IntVar, int]]] = {
            int(u): [] for u in units
        }
        for u, v in edges[both]:
            for a, b in ((int(u), int(v)), (int(v), int(u))):
                f = self.model.new_int_var(0, big, f"f_{k}_{a}_{b}")
                self._guard(self.model.add(f <= big * self.x[a, k]), "contiguity")
                self._guard(self.model.add(f <= big * self.x[b, k]), "contiguity")
                balance[b].append((f, 1))
                balance[a].append((f, -1))
        for u in units:
            if int(u) == root:
                continue
            terms = balance[int(u)]
            flow = cp_model.LinearExpr.weighted_sum(
                [t[0] for t in terms], [t[1] for t in terms]
            )
            self._guard(self.model.add(flow == self.x[int(u), k]), "contiguity")

    def add_locked(self) -> AlignmentModel:
        """Constraint 5: locked units stay with their locked owner."""
        p = self.problem
        for i in np.flatnonzero(p.locked != NO_REP):
            self._guard(self.model.add(self.x[int(i), int(p.locked[i])] == 1), "locked")
        self.families.append("locked")
        return self

    def _kept(self, measure: str) -> tuple[list[cp_model.IntVar], NDArray[np.int64]]:
        p = self.problem
        rows = np.flatnonzero(p.current != NO_REP)
        rows = rows[self.allowed[rows, p.current[rows]]]
        stay = [self.x[int(i), int(p.current[i])] for i in rows]
        values = p.measure(measure)[rows]
        return stay, to_int(values, row_scale(p.measure(measure)))

    def add_disruption_budget(self, measure: str, budget: float) -> AlignmentModel:
        """Constraint 6: moved share of ``measure`` at most ``budget``."""
        stay, coef = self._kept(measure)
        p = self.problem
        scale = row_scale(p.measure(measure))
        total = int(to_int(p.measure(measure)[p.current != NO_REP], scale).sum())
        allowed_moved = int(np.floor(budget * total + 1e-9 * max(total, 1)))
        kept = cp_model.LinearExpr.weighted_sum(stay, [int(c) for c in coef])
        row = self.model.add(kept >= total - allowed_moved)
        self._guard(row, f"disruption:{measure}")
        self.families.append(f"disruption:{measure}")
        return self

    def set_objective(
        self,
        distance_weight: str = "none",
        disruption_measure: str = "potential",
        disruption_penalty: float = 0.0,
        balance_measure: str = "potential",
        balance_penalty: float = 0.0,
    ) -> AlignmentModel:
        """Objective 7: weighted distance plus optional penalties.

        Parameters
        ----------
        distance_weight : {"none", "potential", "workload"}
        disruption_measure : str
            Measure whose moved amount ``disruption_penalty`` charges.
        disruption_penalty : float
            Objective units per unit of moved measure.
        balance_measure : str
            Measure whose deviation from target ``balance_penalty`` charges.
        balance_penalty : float
            Objective units per unit of ``sum_k |M_k - T_k|`` (balance as
            an objective rather than, or besides, a band).
        """
        p = self.problem
        units, reps = np.indices((p.n_units, p.n_reps))
        cost = p.pair_costs(
            units, reps, distance_weight, disruption_measure, disruption_penalty
        )
        self._cost = cost
        self._cost_factor = cost_scale(np.where(self.allowed, cost, 0.0))
        coef = to_int(np.where(self.allowed, cost, 0.0), self._cost_factor)
        keys = list(self.x)
        objective = cp_model.LinearExpr.weighted_sum(
            [self.x[key] for key in keys], [int(coef[key]) for key in keys]
        )
        self._penalty = (balance_measure, balance_penalty)
        if balance_penalty > 0:
            objective = objective + self._deviation_terms(
                balance_measure, balance_penalty
            )
        self.model.minimize(objective)
        return self

    def _deviation_terms(self, measure: str, penalty: float) -> cp_model.LinearExpr:
        """``sum_k dev_k`` with ``dev_k >= |M_k - T_k|``, in objective integers."""
        p = self.problem
        values = p.measure(measure)
        per_unit = penalty * self._cost_factor
        weight = max(math.ceil(per_unit / row_scale(values, ROW_LIMIT) - 1e-9), 1)
        scale = per_unit / weight
        coef = to_int(values, scale)
        targets = np.rint(p.targets(measure) * scale).astype(np.int64)
        devs = []
        for k in range(p.n_reps):
            dev = self.model.new_int_var(0, int(coef.sum()) + 1, f"dev_{k}")
            held = self._rep_sum(k, coef)
            self.model.add(dev >= held - int(targets[k]))
            self.model.add(dev >= int(targets[k]) - held)
            devs.append(dev)
        return cp_model.LinearExpr.weighted_sum(devs, [weight] * len(devs))

    def objective_of(self, assignment: NDArray[np.int64]) -> float:
        """Objective 7 of ``assignment`` in user units (distance + penalties)."""
        rows = np.arange(len(assignment))
        value = float(self._cost[rows, assignment].sum())
        measure, penalty = self._penalty
        if penalty > 0:
            held = np.bincount(
                assignment, self.problem.measure(measure), self.problem.n_reps
            )
            target = self.problem.targets(measure)
            value += penalty * float(np.abs(held - target).sum())
        return value

    def add_hint(self, assignment: NDArray[np.int64]) -> AlignmentModel:
        """Start the search from ``assignment`` (e.g. the current alignment).

        Units with ``NO_REP`` get no hint. The hint is used by every solve
        except deterministic parallel ones (see :meth:`solve`).
        """
        self._hint = np.asarray(assignment, dtype=np.int64)
        return self

    def solve(self, settings: SolverSettings | None = None) -> SolveResult:
        """Solve within the limits of ``settings``; warn if a limit stopped it.

        With ``deterministic`` and more than one worker, CP-SAT runs its
        interleaved (reproducible) parallel search; that search is started
        without the hint, because CP-SAT 9.15 aborts the process when a
        hinted interleaved search meets an infeasible model.
        """
        settings = settings or SolverSettings()
        interleaved = settings.deterministic and settings.workers > 1
        self._apply_hint(use=not interleaved)
        solver = cp_model.CpSolver()
        _apply(solver.parameters, settings)
        start = time.perf_counter()
        code = solve_cp_sat(solver, self.model)
        seconds = time.perf_counter() - start
        if _interrupted(solver, code, seconds, settings):
            logger.warning("territory solve interrupted (SIGINT) after %.1f s", seconds)
            raise KeyboardInterrupt
        result = self._result(solver, code, seconds)
        self._report(result, settings)
        return result

    def conflicting_families(self, seconds: float = 10.0) -> list[str] | None:
        """Families that together admit no alignment (model built with explain).

        Returns
        -------
        list of str or None
            A subset of :attr:`guards` keys that is infeasible on its own
            (empty when the assignment rows alone conflict); None when the
            check did not finish within ``seconds``.
        """
        names = list(self.guards)
        self.model.clear_assumptions()
        self.model.add_assumptions([self.guards[n] for n in names])
        self.model.clear_hints()
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = 1
        code = solve_cp_sat(solver, self.model)
        self.model.clear_assumptions()
        if code != cp_model.INFEASIBLE:
            return None
        core = set(solver.sufficient_assumptions_for_infeasibility())
        return [n for n in names if self.guards[n].index in core]

    def _apply_hint(self, use: bool) -> None:
        self.model.clear_hints()
        if not use or self._hint is None:
            return
        for (i, k), var in self.x.items():
            if self._hint[i] != NO_REP:
                self.model.add_hint(var, int(self._hint[i] == k))

    def _result(
        self, solver: cp_model.CpSolver, code: Any, seconds: float
    ) -> SolveResult:
        status = _STATUS[code]
        if status == "model_invalid":
            raise RuntimeError(f"internal error: {self.model.validate()}")
        det = float(solver.deterministic_time)
        hit = code in (cp_model.FEASIBLE, cp_model.UNKNOWN)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            empty = np.empty(0, dtype=np.int64)
            return SolveResult(status, np.nan, np.nan, np.nan, seconds, empty, hit, det)
        assignment = self._assignment(solver)
        int_obj = solver.objective_value
        int_bound = min(solver.best_objective_bound, int_obj)
        gap = (int_obj - int_bound) / max(abs(int_obj), 1e-9)
        status = "optimal" if code == cp_model.OPTIMAL else "feasible"
        objective = self.objective_of(assignment)
        bound = objective - (int_obj - int_bound) / self._cost_factor
        return SolveResult(status, objective, bound, gap, seconds, assignment, hit, det)

    def _assignment(self, solver: cp_model.CpSolver) -> NDArray[np.int64]:
        out = np.full(self.problem.n_units, NO_REP, dtype=np.int64)
        for (i, k), var in self.x.items():
            if solver.boolean_value(var):
                out[i] = k
        return out

    def _report(self, result: SolveResult, settings: SolverSettings) -> None:
        logger.info(
            "territory solve: %d units, %d reps, %d pairs, status %s, "
            "objective %.6g, bound %.6g, gap %.3g%%, %.2f s",
            self.problem.n_units,
            self.problem.n_reps,
            len(self.x),
            result.status,
            result.objective,
            result.bound,
            100 * result.gap,
            result.seconds,
        )
        if result.hit_limit:
            _warn_limit(settings, result.status, result.gap)


def _interrupted(
    solver: cp_model.CpSolver, code: Any, seconds: float, settings: SolverSettings
) -> bool:
    """True when CP-SAT stopped well before any limit without a proof.

    Outside the ``spmopt`` command (:func:`spmopt._stoppable.watching` is
    off) CP-SAT catches SIGINT itself and returns its best state; only an
    interrupt ends a search early with status FEASIBLE or UNKNOWN. CP-SAT
    may return a few hundred microseconds before a tiny time limit, so an
    interrupt must come at least :data:`EARLY_SECONDS` before it. Under the
    command the interrupt is raised exactly by :mod:`spmopt._stoppable`.
    """
    if watching() or code not in (cp_model.FEASIBLE, cp_model.UNKNOWN):
        return False
    work = settings.deterministic_time
    if work is not None and solver.deterministic_time >= 0.99 * work:
        return False
    return seconds < 0.99 * settings.time_limit_seconds - EARLY_SECONDS


def _warn_limit(settings: SolverSettings, status: str, gap: float) -> None:
    warnings.warn(
        f"territory solve stopped at its limit "
        f"(time_limit_seconds={settings.time_limit_seconds}, "
        f"deterministic_time={settings.deterministic_time}) with status "
        f"{status} and "
        + (f"gap {gap:.3%}" if math.isfinite(gap) else "no solution yet")
        + "; raise the limit for a proven optimum",
        TimeLimitWarning,
        stacklevel=4,
    )


def allowed_pairs(
    problem: TerritoryProblem, k_nearest: int | None
) -> NDArray[np.bool_]:
    """Pairs (unit, rep) the model may use: k nearest plus current and locked.

    A dedicated rep takes only the units locked to it.

    Returns
    -------
    ndarray of bool, shape (n_units, n_reps)
    """
    mask = nearest_mask(problem.distance, k_nearest) & np.isfinite(problem.distance)
    mask[:, problem.is_dedicated] = False
    current = np.where(
        problem.is_dedicated[np.maximum(problem.current, 0)], NO_REP, problem.current
    )
    for owners in (current, problem.locked):
        rows = np.flatnonzero(owners != NO_REP)
        mask[rows, owners[rows]] = True
    return mask


def balance_band(
    problem: TerritoryProblem,
    measure: str,
    tolerance: float | None,
    low: float | None = None,
    high: float | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-rep lower and upper bounds of ``measure`` (user units).

    Returns
    -------
    lows, highs : ndarray of shape (n_reps,)
        ``target * (1 -/+ tolerance)`` intersected with ``[low, high]``.
    """
    target = problem.targets(measure)
    lows = np.zeros(problem.n_reps)
    highs = np.full(problem.n_reps, np.inf)
    if tolerance is not None:
        tol = np.full(problem.n_reps, tolerance)
        if problem.rep_tolerance is not None:
            tol = np.where(np.isnan(problem.rep_tolerance), tol, problem.rep_tolerance)
        lows, highs = target * (1 - tol), target * (1 + tol)
    if low is not None:
        lows = np.maximum(lows, low)
    if high is not None:
        highs = np.minimum(highs, high)
    free = problem.is_dedicated
    return np.where(free, 0.0, lows), np.where(free, np.inf, highs)


def _apply(params: Any, settings: SolverSettings) -> None:
    params.max_time_in_seconds = settings.time_limit_seconds
    if settings.deterministic_time is not None:
        params.max_deterministic_time = settings.deterministic_time
    params.num_workers = settings.workers
    params.random_seed = settings.seed
    params.relative_gap_limit = settings.relative_gap
    if settings.deterministic and settings.workers > 1:
        params.interleave_search = True
